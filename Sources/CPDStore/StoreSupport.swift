import CPDCore
import Postgres

/// Why a store operation did not happen. Each case maps to one protocol error code, and nothing was
/// changed when one is thrown.
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    case notFound(String)
    case conflict(String)
    case invalid(ValidationError)
    /// A date computation left the calendar (a cycle around 9999-12-31).
    case outOfRange(DayOutOfRange)
    case permissionDenied(String)
    /// Every database connection is in use: try again.
    case busy(String)
    /// The database cannot be reached, or cpdd is shutting down: try again.
    case unavailable(String)
    /// A fault not foreseen; the details are in cpdd's log, not in the message.
    case unexpected(String)

    public var description: String {
        switch self {
        case .notFound(let m), .conflict(let m), .permissionDenied(let m), .busy(let m), .unavailable(let m), .unexpected(let m): return m
        case .invalid(let e): return e.description
        case .outOfRange(let e): return e.description
        }
    }
}

/// The answer to an idempotent write: the entry it made, or on a replay the entry the first request made.
public struct EntryReceipt: Sendable, Equatable {
    public var entry: Int64
    public var points: Points
    /// True when this was a retry of a request already applied.
    public var replayed: Bool
}

// MARK: - Domain values as SQL values

extension Day: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresType { .date }
    public var postgresValue: PostgresValue { .text(description, as: .date) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let day = Day(parsing: text) else { throw PostgresDecodingFailure() }
        self = day
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let day = Day(parsingUTF8: bytes) else { throw PostgresDecodingFailure() }
        self = day
    }
}

/// `numeric` with two places (every points column is `numeric(_,2)`, and so are their sums), read in
/// Points' one grammar: a value with a third decimal place is refused, not rounded. Not bounded by
/// `Points.limit`, which a sum (a registry's total) may pass.
extension Points: PostgresEncodable, PostgresDecodable {
    static let largestStored = Points(hundredths: .max)

    public static var postgresType: PostgresType { .numeric }
    public var postgresValue: PostgresValue { .text(description, as: .numeric) }
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        var text = String(text)
        guard let value = text.withUTF8({ Points(parsingUTF8: UnsafeRawBufferPointer($0), within: Points.largestStored) }) else {
            throw PostgresDecodingFailure()
        }
        self = value
    }
    public init(postgresBytes bytes: UnsafeRawBufferPointer, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let value = Points(parsingUTF8: bytes, within: Points.largestStored) else { throw PostgresDecodingFailure() }
        self = value
    }
}

extension Delivery: PostgresDecodable {
    public init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard let value = Delivery(rawValue: String(text)) else { throw PostgresDecodingFailure() }
        self = value
    }
}

/// A text[] column, which libpq's text format writes as `{a,b,"c d"}`.
struct TextArray: PostgresDecodable, PostgresEncodable {
    var values: [String]
    init(_ values: [String]) { self.values = values }

    static var postgresType: PostgresType { PostgresType(rawValue: 1009) }  // text[]
    var postgresValue: PostgresValue {
        // Most values have nothing to escape; escaping showed up in profiles of `points`. Escaped by
        // bytes, not Characters: a backslash or quote followed by a combining mark is one Character,
        // which a Character-wise replace leaves unescaped (PostgreSQL then drops the backslash, or
        // reads a malformed array).
        let body = values.map { value in
            guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) else { return "\"" + value + "\"" }
            var bytes: [UInt8] = [UInt8(ascii: "\"")]
            bytes.reserveCapacity(value.utf8.count + 8)
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
            return String(decoding: bytes, as: UTF8.self)
        }
        return .text("{" + body.joined(separator: ",") + "}", as: Self.postgresType)
    }

    init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard text.unicodeScalars.first == "{", text.unicodeScalars.last == "}" else { throw PostgresDecodingFailure() }
        // By scalars, for the same reason as the encoding: a backslash or quote may be followed by a
        // combining mark.
        var values: [String] = []
        var current = String.UnicodeScalarView()
        var quoted = false, escaped = false, any = false
        for scalar in text.unicodeScalars.dropFirst().dropLast() {
            if escaped { current.append(scalar); escaped = false; continue }
            switch scalar {
            case "\\" where quoted: escaped = true
            case "\"": quoted.toggle(); any = true
            case "," where !quoted: values.append(String(current)); current = String.UnicodeScalarView(); any = false
            default: current.append(scalar); any = true
            }
        }
        if any || !current.isEmpty { values.append(String(current)) }
        self.values = values
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

enum Registry {
    /// Today in the registry's time zone.
    static func today(_ connection: PostgresConnection) throws -> Day {
        try connection.query(todaySQL)[0][0]
    }

    static let todaySQL = "SELECT (now() AT TIME ZONE time_zone)::date FROM registry"
}

extension PostgresError {
    /// True when this is a unique violation of `constraint`.
    func violates(_ constraint: String) -> Bool { code == .uniqueViolation && self.constraint == constraint }
}
