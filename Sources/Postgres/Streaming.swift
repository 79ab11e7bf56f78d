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
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                guard failure == nil else {
                    PQclear(result)  // stopped early: the rest are read and dropped
                    continue
                }
                let rows = PostgresQueryResult(taking: result)  // frees the result when done with
                do {
                    try body(rows[0])
                    count += 1
                } catch {
                    failure = error
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                PQclear(result)  // the end of the rows
            default:
                failure = failure ?? self.error(from: result, statement: sql)
                PQclear(result)
            }
        }
        lastUsed = .now
        if let failure { throw failure }
        return count
    }
}

extension PostgresConnection {
    /// Inside a transaction: runs the statement through a cursor and fetches `batch` rows at a time,
    /// handing them to `body` one by one. Single-row mode (`forEachRow`) makes a result per row, which
    /// costs microseconds a row; for tens of millions of rows, batches are several times cheaper,
    /// and memory still holds only one batch. Returns the row count.
    @discardableResult
    public func forEachRow(
        inBatchesOf batch: Int, _ sql: String, _ bindings: [any PostgresEncodable] = [], _ body: (PostgresRow) throws -> Void
    ) throws -> Int {
        precondition(transactionStatus == .inTransaction, "a cursor lives in a transaction: call forEachRow(inBatchesOf:) in withTransaction")
        precondition(batch > 0)
        // Every row will be read: plan for all of them, not for the first tenth (the default for
        // cursors, which favours plans that start fast and finish slowly).
        try execute(script: "SET LOCAL cursor_tuple_fraction = 1.0")
        // The cursor's name is a constant; the statement's values travel as parameters.
        try queryUnprepared("DECLARE cpd_rows NO SCROLL CURSOR FOR " + sql, bindings)
        var count = 0
        do {
            while true {
                let rows = try queryUnprepared("FETCH FORWARD \(batch) FROM cpd_rows")
                if rows.isEmpty { break }
                for row in rows {
                    try body(row)
                    count += 1
                }
            }
        } catch {
            if transactionStatus == .inTransaction { try? execute(script: "CLOSE cpd_rows") }
            throw error
        }
        try execute(script: "CLOSE cpd_rows")
        return count
    }
}
