import CLibPQ

/// The columns of a result: names and types, shared by all of its rows.
public final class PostgresColumns: Sendable {
    public let names: [String]
    public let types: [PostgresType]

    init(names: [String], types: [PostgresType]) {
        self.names = names
        self.types = types
    }

    /// The first column called `name`. A scan, not a dictionary: results have a few dozen columns
    /// at most, names are short (compared by their bits when they fit in a small string), and hashing
    /// the name for every value read was 3% of cpdd's CPU under `points`.
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }
}

/// A libpq result, kept as libpq made it and freed with the last row that reads it. libpq documents
/// a `PGresult` as read-only once made, so rows on several threads may read it at once.
@usableFromInline
final class PostgresResultStorage: @unchecked Sendable {
    @usableFromInline let result: OpaquePointer
    init(taking result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    /// The bytes of one value, in PostgreSQL's text format, or nil for NULL. Valid while `self` lives.
    @inlinable @inline(__always)
    func bytes(row: Int32, field: Int32) -> UnsafeRawBufferPointer? {
        if PQgetisnull(result, row, field) == 1 { return nil }
        return UnsafeRawBufferPointer(start: PQgetvalue(result, row, field), count: Int(PQgetlength(result, row, field)))
    }
}

/// One row of a result. Values stay in libpq's result, in PostgreSQL's text format, and are decoded
/// on access, straight from libpq's bytes (no copy of the row is made). A row keeps its whole result
/// alive: keep the values, not the row, when the result was large.
///
///     let count: Int = try row[0]
///     let title: String? = try row["title"]
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    @usableFromInline let storage: PostgresResultStorage
    @usableFromInline let row: Int32

    public var count: Int { columns.names.count }

    // Inlinable, so that decoding is specialised for each type where rows are read: the report
    // reads hundreds of millions of values.
    @inlinable
    public subscript<T: PostgresDecodable>(_ index: Int) -> T {
        get throws(PostgresDecodingError) {
            guard index >= 0, index < count else {
                preconditionFailure("column index \(index) out of range 0..<\(count)")
            }
            return try decode(T.self, at: index)
        }
    }

    @inlinable
    public subscript<T: PostgresDecodable>(_ name: String) -> T {
        get throws(PostgresDecodingError) {
            guard let index = columns.index(of: name) else {
                throw PostgresDecodingError(column: name, expected: "\(T.self)", found: "no such column")
            }
            return try decode(T.self, at: index)
        }
    }

    /// Calls `body` with the value's bytes as libpq holds them (PostgreSQL's text format), or nil for
    /// NULL. The bytes are valid only during the call. For reading millions of values without making
    /// a string of each.
    @inlinable
    public func withUnsafeBytes<R>(at index: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        precondition(index >= 0 && index < count, "column index \(index) out of range 0..<\(count)")
        return try withExtendedLifetime(storage) { try body(storage.bytes(row: row, field: Int32(index))) }
    }

    /// The value's text, or nil for NULL.
    public func text(at index: Int) -> String? {
        precondition(index >= 0 && index < count, "column index \(index) out of range 0..<\(count)")
        return storage.bytes(row: row, field: Int32(index)).map { String(decoding: $0, as: UTF8.self) }
    }

    @inlinable
    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws(PostgresDecodingError) -> T {
        do {
            // withExtendedLifetime: the bytes belong to the result, which must outlive the decoding.
            return try withExtendedLifetime(storage) { () throws(PostgresDecodingFailure) -> T in
                if let bytes = storage.bytes(row: row, field: Int32(index)) {
                    return try T(postgresBytes: bytes, type: columns.types[index])
                }
                return try T.decodeNull()
            }
        } catch {
            throw PostgresDecodingError(column: columns.names[index], expected: "\(T.self)", found: text(at: index))
        }
    }
}

/// What a statement returned: its rows, and the command tag's row count (`INSERT 0 3` is 3).
public struct PostgresQueryResult: Sendable, RandomAccessCollection {
    public let columns: PostgresColumns
    let storage: PostgresResultStorage
    public let count: Int
    public let commandTag: String
    public var affectedRows: Int {
        Int(commandTag.split(separator: " ").last ?? "") ?? 0
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < count, "row \(position) out of range 0..<\(count)")
        return PostgresRow(columns: columns, storage: storage, row: Int32(position))
    }
    public var rows: [PostgresRow] { Array(self) }

    /// Takes a tuples-ok or command-ok result from libpq: it is freed when nothing reads it any more.
    init(taking result: OpaquePointer) {
        let fieldCount = Int(PQnfields(result))
        var names: [String] = []
        var types: [PostgresType] = []
        names.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            names.append(String(cString: PQfname(result, Int32(field))))
            types.append(PostgresType(rawValue: PQftype(result, Int32(field))))
        }
        self.columns = PostgresColumns(names: names, types: types)
        self.storage = PostgresResultStorage(taking: result)
        self.count = Int(PQntuples(result))
        self.commandTag = String(cString: PQcmdStatus(result))
    }
}
