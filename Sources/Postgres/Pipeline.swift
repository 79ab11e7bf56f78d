import CLibPQ
import Glibc

/// One statement of a pipeline: SQL with `$n` placeholders and the values bound to them.
public struct PostgresStatement: Sendable {
    public var sql: String
    public var values: [PostgresValue]
    public init(_ sql: String, _ bindings: [any PostgresEncodable] = []) {
        self.sql = sql
        self.values = bindings.map { $0.postgresValue }
    }
}

extension PostgresConnection {
    /// Sends all statements before reading any answer (libpq's pipeline mode), so a batch costs one
    /// round trip instead of one per statement. Each statement is its own implicit transaction: one that
    /// fails fails alone, and its error is in its place in the result. Use outside an explicit transaction.
    /// Throws only when the connection fails.
    public func pipelineEach(_ statements: [PostgresStatement]) throws(PostgresError)
        -> [Result<PostgresQueryResult, PostgresError>]
    {
        try runPipeline(statements, syncAfterEach: true)
    }

    /// Sends all statements before reading any answer, as one implicit transaction: either all of them
    /// take effect, or none does and the first error is thrown.
    @discardableResult
    public func pipeline(_ statements: [PostgresStatement]) throws(PostgresError) -> [PostgresQueryResult] {
        let results = try runPipeline(statements, syncAfterEach: false)
        var rows: [PostgresQueryResult] = []
        for result in results {
            switch result {
            case .success(let value): rows.append(value)
            case .failure(let error): throw error
            }
        }
        return rows
    }

    private func runPipeline(_ statements: [PostgresStatement], syncAfterEach: Bool) throws(PostgresError)
        -> [Result<PostgresQueryResult, PostgresError>]
    {
        guard !statements.isEmpty else { return [] }
        // Prepare what is not yet prepared, outside pipeline mode, so the pipeline only executes. If
        // that would overflow the statement cache, empty it first: emptying it midway would drop
        // statements this pipeline is about to use.
        let keys = Set(statements.map { StatementKey(sql: $0.sql, types: $0.values.map(\.type)) })
        if preparedStatementCount + keys.count > Self.statementCacheLimit { try forgetAllPreparedStatements() }
        var names: [String] = []
        for statement in statements {
            names.append(try preparedName(for: StatementKey(sql: statement.sql, types: statement.values.map(\.type))))
        }
        let handle = rawHandle
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError(statement: "<pipeline>") }
        defer { _ = PQexitPipelineMode(handle) }
        // Non-blocking while sending: a large batch must not wait on a full socket while the server
        // waits on us to read its answers. Answers are read into libpq's buffer as they come.
        PQsetnonblocking(handle, 1)
        do throws(PostgresError) {
            for (statement, name) in zip(statements, names) {
                let sent = try withParameterPointers(statement.values, statement: statement.sql) {
                    count, _, pointers, lengths, formats in
                    PQsendQueryPrepared(handle, name, count, pointers, lengths, formats, 0)
                }
                guard sent == 1 else { throw connectionError(statement: statement.sql) }
                if syncAfterEach { guard PQpipelineSync(handle) == 1 else { throw connectionError(statement: "SYNC") } }
                try flushWithoutBlocking()
            }
            if !syncAfterEach { guard PQpipelineSync(handle) == 1 else { throw connectionError(statement: "SYNC") } }
            try flushWithoutBlocking()
        } catch {
            PQsetnonblocking(handle, 0)
            throw error
        }
        PQsetnonblocking(handle, 0)

        var results: [Result<PostgresQueryResult, PostgresError>] = []
        results.reserveCapacity(statements.count)
        for (index, statement) in statements.enumerated() {
            guard let result = PQgetResult(handle) else { throw connectionError(statement: statement.sql) }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_ABORTED:
                PQclear(result)
                results.append(.failure(PostgresError(
                    code: .pipelineAborted, message: "not run: an earlier statement in the pipeline failed",
                    statement: statement.sql)))
            default:
                results.append(Result { () throws(PostgresError) in try consume(result, statement: statement.sql) })
            }
            // Each statement's results end with a NULL; a sync point then reports PIPELINE_SYNC.
            if let extra = PQgetResult(handle) { PQclear(extra) }
            if syncAfterEach || index == statements.count - 1 { try expectSync() }
        }
        return results
    }

    private func expectSync() throws(PostgresError) {
        guard let sync = PQgetResult(rawHandle) else { throw connectionError(statement: "SYNC") }
        defer { PQclear(sync) }
        guard PQresultStatus(sync) == PGRES_PIPELINE_SYNC else {
            throw PostgresError(code: .protocolViolation, message: "expected the end of a pipeline sync group")
        }
    }

    /// Pushes buffered output to the server; when the socket is full, waits until it can write again,
    /// reading the server's answers meanwhile so that neither side blocks the other.
    private func flushWithoutBlocking() throws(PostgresError) {
        let handle = rawHandle
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { return }
            if flushed < 0 { throw connectionError(statement: "<pipeline flush>") }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN | POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 1000)
            if descriptor.revents & Int16(POLLIN) != 0 {
                guard PQconsumeInput(handle) == 1 else { throw connectionError(statement: "<pipeline read>") }
            }
        }
    }
}
