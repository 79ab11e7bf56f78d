import CLibPQ

/// Collects rows for `COPY ... FROM STDIN` in PostgreSQL's text format and hands them to libpq in
/// large chunks.
public struct PostgresCopyWriter {
    fileprivate var buffer: [UInt8] = []
    fileprivate var rows = 0
    fileprivate let flush: ([UInt8]) throws(PostgresError) -> Void
    static let chunkSize = 256 * 1024

    /// Appends one row; its values go to the columns in the order the COPY statement names them.
    public mutating func append(_ values: [any PostgresEncodable]) throws(PostgresError) {
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let text = value.postgresValue.textForm else {
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                continue
            }
            for byte in text {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
        rows += 1
        if buffer.count >= Self.chunkSize {
            try flush(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }
}

extension PostgresConnection {
    /// Bulk-loads rows with `COPY table (columns) FROM STDIN`: `sql` is that statement (no values in
    /// it), `body` appends the rows. Returns the number of rows the server loaded. If `body` throws, the
    /// COPY is aborted and nothing is loaded.
    @discardableResult
    public func copyFrom(_ sql: String, _ body: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        let start = PQexec(rawHandle, sql)
        guard let start else { throw connectionError(statement: sql) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            if PQresultStatus(start) == PGRES_FATAL_ERROR { throw error(from: start, statement: sql) }
            throw PostgresError(code: .protocolViolation, message: "statement is not COPY FROM STDIN", statement: sql)
        }
        PQclear(start)
        let handle = rawHandle
        var writer = PostgresCopyWriter(flush: { (chunk: [UInt8]) throws(PostgresError) in
            let sent = chunk.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
            }
            if sent != 1 { throw self.connectionError(statement: sql) }
        })
        do {
            try body(&writer)
            if !writer.buffer.isEmpty { try writer.flush(writer.buffer) }
            guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError(statement: sql) }
        } catch {
            _ = PQputCopyEnd(handle, "aborted by the client")
            drainResults()
            throw error
        }
        var loaded = 0
        var failure: PostgresError? = nil
        while let result = PQgetResult(handle) {
            do {
                let outcome = try consume(result, statement: sql)
                loaded = outcome.affectedRows
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return loaded
    }

    /// Reads and discards results until libpq has none left, so the connection is ready again.
    func drainResults() {
        while let result = PQgetResult(rawHandle) { PQclear(result) }
    }
}
