import CLibPQ
import CivilCalendar
import Foundation

/// A PostgreSQL type OID. Only the types this layer binds or decodes are named.
public struct PostgresType: RawRepresentable, Hashable, Sendable {
    public let rawValue: Oid
    public init(rawValue: Oid) { self.rawValue = rawValue }

    /// Let the server infer the type from the statement.
    public static let unspecified = PostgresType(rawValue: 0)
    public static let bool = PostgresType(rawValue: 16)
    public static let bytea = PostgresType(rawValue: 17)
    public static let int8 = PostgresType(rawValue: 20)
    public static let int2 = PostgresType(rawValue: 21)
    public static let int4 = PostgresType(rawValue: 23)
    public static let text = PostgresType(rawValue: 25)
    public static let float8 = PostgresType(rawValue: 701)
    public static let varchar = PostgresType(rawValue: 1043)
    public static let date = PostgresType(rawValue: 1082)
    public static let timestamp = PostgresType(rawValue: 1114)
    public static let timestamptz = PostgresType(rawValue: 1184)
    public static let numeric = PostgresType(rawValue: 1700)
}

/// One parameter as it goes over the wire: its type, and its bytes in text or binary format
/// (`nil` bytes is SQL NULL). Text values never contain a NUL byte (libpq would cut them there).
public struct PostgresValue: Sendable, Hashable {
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }
    public var type: PostgresType
    public var format: Format
    public var bytes: [UInt8]?

    public init(type: PostgresType, format: Format = .text, bytes: [UInt8]?) {
        self.type = type
        self.format = format
        self.bytes = bytes
    }
    public static func text(_ string: String, as type: PostgresType) -> PostgresValue {
        PostgresValue(type: type, format: .text, bytes: Array(string.utf8))
    }
    public static func null(_ type: PostgresType) -> PostgresValue {
        PostgresValue(type: type, format: .text, bytes: nil)
    }

    /// The value in PostgreSQL's text input syntax, as COPY's text format wants it (before COPY's own
    /// escaping); nil for NULL.
    var textForm: [UInt8]? {
        guard let bytes else { return nil }
        switch format {
        case .text: return bytes
        case .binary:
            // Only bytea is bound in binary; its text input form is \x followed by hex digits.
            var out: [UInt8] = Array("\\x".utf8)
            out.reserveCapacity(2 + bytes.count * 2)
            for byte in bytes {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
            return out
        }
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// A Swift value that can be bound to a statement parameter.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type, sent with the statement; also used for NULL of this type.
    static var postgresType: PostgresType { get }
    var postgresValue: PostgresValue { get }
}

/// A Swift value that can be read from a column, given the column's text-format value.
public protocol PostgresDecodable {
    init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure)
    /// Decodes straight from libpq's bytes (the same text format). The default makes a string and
    /// calls `init(postgresText:type:)`; types read in bulk parse the bytes and skip the string.
    init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure)
    /// What a NULL column decodes to; only `Optional` accepts it.
    static func decodeNull() throws(PostgresDecodingFailure) -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws(PostgresDecodingFailure) -> Self { throw PostgresDecodingFailure() }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        try self.init(postgresText: String(decoding: bytes, as: UTF8.self)[...], type: type)
    }
}

/// A decimal integer in ASCII, optionally signed, that fits in Int64; nil otherwise.
@inlinable
func parseASCIIInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    var index = 0
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
        negative = first == UInt8(ascii: "-")
        index = 1
    }
    guard index < bytes.count else { return nil }
    var value: Int64 = 0
    while index < bytes.count {
        let digit = bytes[index] &- UInt8(ascii: "0")
        guard digit < 10 else { return nil }
        let (times, o1) = value.multipliedReportingOverflow(by: 10)
        let (next, o2) = negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
        guard !o1, !o2 else { return nil }
        value = next
        index += 1
    }
    return value
}

/// Thrown by a decoder that cannot read its text; the row adds the column name and the value.
public struct PostgresDecodingFailure: Error, Sendable {
    public init() {}
}

// MARK: - Optional

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresType { Wrapped.postgresType }
    public var postgresValue: PostgresValue {
        switch self {
        case .none: return .null(Wrapped.postgresType)
        case .some(let value): return value.postgresValue
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        self = .some(try Wrapped(postgresText: text, type: type))
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        self = .some(try Wrapped(postgresBytes: bytes, type: type))
    }
    public static func decodeNull() throws(PostgresDecodingFailure) -> Self { .none }
}

// MARK: - Bool, integers, strings

extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .bool }
    public var postgresValue: PostgresValue { .text(self ? "t" : "f", as: .bool) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure()
        }
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .int8 }
    public var postgresValue: PostgresValue { .text(String(self), as: .int8) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let value = Int64(text) else { throw PostgresDecodingFailure() }
        self = value
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let wide = parseASCIIInteger(bytes), let value = Int64(exactly: wide) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .int8 }
    public var postgresValue: PostgresValue { .text(String(self), as: .int8) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let value = Int(text) else { throw PostgresDecodingFailure() }
        self = value
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let wide = parseASCIIInteger(bytes), let value = Int(exactly: wide) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .int4 }
    public var postgresValue: PostgresValue { .text(String(self), as: .int4) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let value = Int32(text) else { throw PostgresDecodingFailure() }
        self = value
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let wide = parseASCIIInteger(bytes), let value = Int32(exactly: wide) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .text }
    public var postgresValue: PostgresValue { .text(self, as: .text) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        self = String(text)
    }
}

// MARK: - Byte strings (bytea)

extension Array: PostgresEncodable where Element == UInt8 {
    public static var postgresType: PostgresType { .bytea }
    public var postgresValue: PostgresValue { PostgresValue(type: .bytea, format: .binary, bytes: self) }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// bytea arrives in the hex output format (`\x0aff`), the server's default since 9.0.
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        let utf8 = text.utf8
        guard utf8.count >= 2, utf8.count % 2 == 0, text.hasPrefix("\\x") else { throw PostgresDecodingFailure() }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2 - 1)
        var high: UInt8? = nil
        for char in utf8.dropFirst(2) {
            let nibble: UInt8
            switch char {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = char - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = char - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = char - UInt8(ascii: "A") + 10
            default: throw PostgresDecodingFailure()
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self = out
    }
}

// MARK: - Timestamps

// `numeric` and `date` have no Swift type here: the layer's callers bind and read their own (cpd's
// `Points` and `Day`, in CPDStore), each in PostgreSQL's text form and from libpq's bytes, so that
// there is one fixed-point type and one day type, with one set of rules each. The calendar's
// arithmetic and its one parser of `YYYY-MM-DD` are CivilCalendar's.

/// Timestamps bind as `timestamptz` in UTC with microseconds, the server's own precision.
extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .timestamptz }
    public var postgresValue: PostgresValue {
        let micros = Int64((timeIntervalSince1970 * 1_000_000).rounded(.down))
        var days = Int(micros / 86_400_000_000)
        var rest = micros % 86_400_000_000
        if rest < 0 {
            days -= 1
            rest += 86_400_000_000
        }
        let (year, month, day) = CivilCalendar.civilFromDays(days)
        let seconds = Int(rest / 1_000_000)
        let fraction = Int(rest % 1_000_000)
        let time = CivilCalendar.pad(seconds / 3600, 2) + ":" + CivilCalendar.pad(seconds / 60 % 60, 2) + ":"
            + CivilCalendar.pad(seconds % 60, 2) + "." + CivilCalendar.pad(fraction, 6)
        let text = CivilCalendar.isoDate(year: year, month: month, day: day) + " " + time + "+00"
        return .text(text, as: .timestamptz)
    }

    /// Reads the ISO output style (`2026-11-21 23:18:32.123456+05:30`); a `timestamp` without a zone
    /// is taken as UTC. The connection sets DateStyle to ISO, so this is the only form that arrives.
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let (y, m, d, afterDate) = DateText.parseDate(text), CivilCalendar.isValid(year: y, month: m, day: d)
        else { throw PostgresDecodingFailure() }
        var seconds = Double(CivilCalendar.daysFromCivil(year: y, month: m, day: d)) * 86_400
        var rest = afterDate
        if rest.first == " " || rest.first == "T" {
            rest = rest.dropFirst()
            guard let (h, mi, s, afterTime) = DateText.parseTime(rest) else { throw PostgresDecodingFailure() }
            seconds += Double(h * 3600 + mi * 60) + s
            rest = afterTime
        }
        if let sign = rest.first, sign == "+" || sign == "-" {
            let parts = rest.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
            guard (1...3).contains(parts.count), parts.allSatisfy({ $0.count == 2 && Int($0) != nil }) else {
                throw PostgresDecodingFailure()
            }
            let offset = parts.enumerated().reduce(0) { total, part in
                total + (Int(part.element) ?? 0) * [3600, 60, 1][part.offset]
            }
            seconds -= Double(sign == "+" ? offset : -offset)
            rest = rest[rest.endIndex...]
        }
        guard rest.isEmpty else { throw PostgresDecodingFailure() }
        self = Date(timeIntervalSince1970: seconds)
    }
}

/// Parsing of the date and time text PostgreSQL sends; the arithmetic is CivilCalendar's.
enum DateText {
    /// `YYYY-MM-DD` at the start of `text`, and what follows it.
    static func parseDate(_ text: Substring) -> (Int, Int, Int, Substring)? {
        guard let (y, m, d) = CivilCalendar.parseISODate(text.utf8.prefix(10)) else { return nil }
        return (y, m, d, text.dropFirst(10))
    }

    /// `HH:MM:SS[.ffffff]` at the start of `text`, and what follows it.
    static func parseTime(_ text: Substring) -> (Int, Int, Double, Substring)? {
        let chars = Array(text.utf8.prefix(8))
        guard chars.count == 8, chars[2] == UInt8(ascii: ":"), chars[5] == UInt8(ascii: ":"),
            let h = number(chars[0..<2]), let m = number(chars[3..<5]), let s = number(chars[6..<8]),
            h < 24, m < 60, s < 61
        else { return nil }
        var rest = text.dropFirst(8)
        var seconds = Double(s)
        if rest.first == "." {
            let digits = rest.dropFirst().prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 9, let fraction = Double("0." + digits) else { return nil }
            seconds += fraction
            rest = rest.dropFirst(1 + digits.count)
        }
        return (h, m, seconds, rest)
    }

    private static func number(_ chars: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for char in chars {
            guard char >= UInt8(ascii: "0"), char <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(char - UInt8(ascii: "0"))
        }
        return value
    }
}
