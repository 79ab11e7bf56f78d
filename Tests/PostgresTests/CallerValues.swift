import Postgres

// The layer has no Swift type for `numeric` or `date`: its callers bind and read their own (cpd's
// Points and Day, in CPDStore). These stand for such a caller's types in the layer's tests: each
// binds with its type's OID and PostgreSQL's text form, and reads the text back from libpq's bytes.

/// A `numeric` as its text: `-12345.67`.
struct NumericText: PostgresEncodable, PostgresDecodable, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
    static var postgresType: PostgresType { .numeric }
    var postgresValue: PostgresValue { .text(text, as: .numeric) }
    init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard type == .numeric else { throw PostgresDecodingFailure() }
        self.text = String(text)
    }
}

/// A `date` as its text: `2024-02-29`.
struct DateText: PostgresEncodable, PostgresDecodable, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
    static var postgresType: PostgresType { .date }
    var postgresValue: PostgresValue { .text(text, as: .date) }
    init(postgresText text: Substring, type: PostgresType) throws(PostgresDecodingFailure) {
        guard type == .date else { throw PostgresDecodingFailure() }
        self.text = String(text)
    }
}
