import CLibPQ

extension PostgresConnection {
    /// Runs a statement and hands its rows to `body` one at a time as they arrive (libpq's single-row
    /// mode), so a result of millions of rows never sits in memory at once. Returns the row count.
    /// `body` may throw to stop early; the rest of the result is then read and discarded. `body` must
    /// not use this connection (that is a programmer error and traps): take another for other work.
    @discardableResult
    public func forEachRow(_ sql: String, _ bindings: [any PostgresEncodable] = [], _ body: (PostgresRow) throws -> Void) throws -> Int {
        let values = bindings.map { $0.postgresValue }
        let name = try preparedName(for: StatementKey(sql: sql, types: values.map(\.type)))
        let handle = rawHandle
        let sent = try withParameterPointers(values, statement: sql) { count, _, pointers, lengths, formats in
            PQsendQueryPrepared(handle, name, count, pointers, lengths, formats, 0)
        }
        guard sent == 1 else { throw connectionError(statement: sql) }
        guard PQsetSingleRowMode(handle) == 1 else {
            drainResults()
            throw PostgresError(code: .protocolViolation, message: "could not enter single-row mode", statement: sql)
        }
        var count = 0
        var failure: Error? = nil
        isStreaming = true
        defer { isStreaming = false }
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                guard failure == nil else { continue }
                let rows = PostgresQueryResult(copying: result)
                do {
                    try body(rows[0])
                    count += 1
                } catch {
                    failure = error
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                continue  // the end of the rows
            default:
                failure = failure ?? self.error(from: result, statement: sql)
            }
        }
        lastUsed = .now
        if let failure { throw failure }
        return count
    }
}
