import CLibPQ

/// The columns of a result: names and types, shared by all of its rows.
public final class PostgresColumns: Sendable {
    public let names: [String]
    public let types: [PostgresType]
    private let indexByName: [String: Int]

    init(names: [String], types: [PostgresType]) {
        self.names = names
        self.types = types
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        self.indexByName = index
    }

    public func index(of name: String) -> Int? { indexByName[name] }
}

/// One row, copied out of libpq's result so that it outlives it. Values are kept in PostgreSQL's text
/// format and decoded on access:
///
///     let count: Int = try row[0]
///     let title: String? = try row["title"]
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    let values: [String?]

    public var count: Int { values.count }

    public subscript<T: PostgresDecodable>(_ index: Int) -> T {
        get throws(PostgresDecodingError) {
            guard values.indices.contains(index) else {
                preconditionFailure("column index \(index) out of range 0..<\(values.count)")
            }
            return try decode(T.self, at: index)
        }
    }

    public subscript<T: PostgresDecodable>(_ name: String) -> T {
        get throws(PostgresDecodingError) {
            guard let index = columns.index(of: name) else {
                throw PostgresDecodingError(column: name, expected: "\(T.self)", found: "no such column")
            }
            return try decode(T.self, at: index)
        }
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws(PostgresDecodingError) -> T {
        do {
            if let text = values[index] {
                return try T(postgresText: text[...], type: columns.types[index])
            }
            return try T.decodeNull()
        } catch {
            throw PostgresDecodingError(column: columns.names[index], expected: "\(T.self)", found: values[index])
        }
    }
}

/// What a statement returned: its rows, and the command tag's row count (`INSERT 0 3` is 3).
public struct PostgresQueryResult: Sendable, RandomAccessCollection {
    public let columns: PostgresColumns
    public let rows: [PostgresRow]
    public let commandTag: String
    public var affectedRows: Int {
        Int(commandTag.split(separator: " ").last ?? "") ?? 0
    }

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }

    /// Copies a tuples-ok or command-ok result out of libpq.
    init(copying result: OpaquePointer) {
        let fieldCount = Int(PQnfields(result))
        var names: [String] = []
        var types: [PostgresType] = []
        names.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            names.append(String(cString: PQfname(result, Int32(field))))
            types.append(PostgresType(rawValue: PQftype(result, Int32(field))))
        }
        let columns = PostgresColumns(names: names, types: types)
        let rowCount = Int(PQntuples(result))
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for field in 0..<fieldCount {
                if PQgetisnull(result, Int32(row), Int32(field)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(field)))
                    let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(row), Int32(field)), count: length)
                    values.append(String(decoding: bytes, as: UTF8.self))
                }
            }
            rows.append(PostgresRow(columns: columns, values: values))
        }
        self.columns = columns
        self.rows = rows
        self.commandTag = String(cString: PQcmdStatus(result))
    }
}
