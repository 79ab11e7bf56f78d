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

    /// Parses `3`, `2.5`, `-1.25`: at most two decimal places, within ±`limit`. Nil otherwise.
    public init?(parsing text: String) {
        var scalars = Substring(text)
        var negative = false
        if scalars.first == "-" || scalars.first == "+" {
            negative = scalars.first == "-"
            scalars = scalars.dropFirst()
        }
        let parts = scalars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeText = parts.first, !wholeText.isEmpty, wholeText.count <= 9,
            wholeText.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            guard let value = Int64(digits) else { return nil }
            fraction = value * (digits.count == 1 ? 10 : 1)
        }
        guard let whole = Int64(wholeText) else { return nil }
        let magnitude = whole * 100 + fraction
        guard magnitude <= Points.limit.hundredths else { return nil }
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
