/// CPD points: an exact decimal with two places, held as an integer count of hundredths, so that
/// sums never drift as floating point would. `2.5` points is 250.
public struct Points: Hashable, Comparable, Sendable, CustomStringConvertible, AdditiveArithmetic {
    public var hundredths: Int64

    public init(hundredths: Int64) { self.hundredths = hundredths }
    public init(_ whole: Int) { self.hundredths = Int64(whole) * 100 }

    public static let zero = Points(hundredths: 0)
    /// No single figure in the registry is larger: 999,999.99, the most the catalogue's and the
    /// schemes' `numeric(8,2)` columns hold (a million overflowed them and was answered `internal`).
    public static let limit = Points(hundredths: 99_999_999)

    /// Parses `3`, `2.5`, `-1.25`, `+4`: at most two decimal places, within ±`limit`. Nil otherwise.
    public init?(parsing text: String) {
        self.init(utf8: text.utf8, within: .limit)
    }

    /// The same grammar from UTF-8 bytes, within ±`bound`. A request's points are read within
    /// `limit`; the store reads columns and their sums (a registry's total passes `limit`) with a
    /// bound of `Int64.max` hundredths, straight from libpq's bytes and making no string.
    public init?(parsingUTF8 bytes: UnsafeRawBufferPointer, within bound: Points) {
        self.init(utf8: bytes, within: bound)
    }

    /// The one grammar of points as text: an optional sign, ASCII digits, and optionally a point and
    /// one or two digits; within ±`bound`. Nil otherwise: a third decimal place, even a zero, is
    /// refused rather than rounded or dropped. Generic, and so specialised here for each public
    /// entry point (a caller in another module would get the slow unspecialised form).
    init?<Bytes: Collection<UInt8>>(utf8 bytes: Bytes, within bound: Points) {
        var index = bytes.startIndex
        var negative = false
        if index != bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            bytes.formIndex(after: &index)
        }
        var whole: Int64 = 0
        var wholeDigits = 0
        while index != bytes.endIndex {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            let (times10, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            whole = sum
            wholeDigits += 1
            bytes.formIndex(after: &index)
        }
        guard wholeDigits > 0 else { return nil }
        var fraction: Int64 = 0
        if index != bytes.endIndex {
            guard bytes[index] == UInt8(ascii: ".") else { return nil }
            bytes.formIndex(after: &index)
            var fractionDigits = 0
            while index != bytes.endIndex {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10, fractionDigits < 2 else { return nil }
                fraction = fraction * 10 + Int64(digit)
                fractionDigits += 1
                bytes.formIndex(after: &index)
            }
            guard fractionDigits > 0 else { return nil }
            if fractionDigits == 1 { fraction *= 10 }
        }
        let (scaled, overflow1) = whole.multipliedReportingOverflow(by: 100)
        let (magnitude, overflow2) = scaled.addingReportingOverflow(fraction)
        guard !overflow1, !overflow2, magnitude.magnitude <= bound.hundredths.magnitude else { return nil }
        self.hundredths = negative ? -magnitude : magnitude
    }

    /// Always two places: `3.00`, `-0.50`.
    public var description: String {
        let magnitude = hundredths.magnitude
        let fraction = magnitude % 100
        return (hundredths < 0 ? "-" : "") + "\(magnitude / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    public static func < (a: Points, b: Points) -> Bool { a.hundredths < b.hundredths }
    public static func + (a: Points, b: Points) -> Points { Points(hundredths: a.hundredths + b.hundredths) }
    public static func - (a: Points, b: Points) -> Points { Points(hundredths: a.hundredths - b.hundredths) }
    public static prefix func - (a: Points) -> Points { Points(hundredths: -a.hundredths) }

    /// `percent` per cent of these points, rounded up to the hundredth for a minimum (a share rule
    /// must not be met by rounding down) and down for a cap.
    public func share(percent: Points, roundingUp: Bool) -> Points {
        // percent is itself in hundredths: 33.33 % is 3333.
        let (product, overflow) = hundredths.multipliedReportingOverflow(by: percent.hundredths)
        guard !overflow else { return Points(hundredths: (hundredths < 0) != (percent.hundredths < 0) ? .min : .max) }
        let (quotient, remainder) = product.quotientAndRemainder(dividingBy: 10_000)
        return Points(hundredths: quotient + (roundingUp && remainder > 0 ? 1 : 0))
    }

    /// These points scaled by `numerator / denominator`, rounded up (for a pro-rata requirement).
    /// Total: a denominator that is not positive (a member with no days in the cycle) leaves the
    /// points as they are, and a product past Int64 saturates, rather than trap on a value that came
    /// from a request or the database.
    public func scaled(by numerator: Int, over denominator: Int) -> Points {
        guard denominator > 0 else { return self }
        let (product, overflow) = hundredths.multipliedReportingOverflow(by: Int64(clamping: numerator))
        guard !overflow else { return Points(hundredths: (hundredths < 0) != (numerator < 0) ? .min : .max) }
        let (quotient, remainder) = product.quotientAndRemainder(dividingBy: Int64(denominator))
        return Points(hundredths: quotient + (remainder > 0 ? 1 : 0))
    }

    public var isPositive: Bool { hundredths > 0 }
}
