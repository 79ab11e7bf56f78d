import CLibPQ
import Foundation
import Logging

/// One libpq connection. Blocking: every call waits for the server, so a connection is used by one
/// thread at a time and never from an event loop or Swift's cooperative pool (the pool gives each
/// connection a thread of its own). Not `Sendable` for that reason.
///
/// Every statement that takes values takes them as parameters; statements are prepared once per
/// connection and kept in a cache keyed by their text and parameter types.
public final class PostgresConnection {
    /// libpq's `PGconn *`, private to this wrapper.
    private let handle: OpaquePointer
    public let logger: Logger
    private var preparedStatements: [StatementKey: String] = [:]
    private var statementCounter = 0
    /// When the connection last finished a piece of work; the pool uses it to decide on a health check.
    public internal(set) var lastUsed = ContinuousClock.now
    /// Run after every (re)connection, such as `SET ROLE cpd_app`; a fixed statement, never values.
    private let sessionSetup: String?
    /// True while `forEachRow` is reading: another statement now would swallow the rest of its rows.
    var isStreaming = false

    /// More distinct statements than this on one connection is a sign of SQL built per call; the cache
    /// is then emptied rather than grown without bound.
    static let statementCacheLimit = 512

    /// Opens a connection. `conninfo` is a libpq keyword/value string or a `postgresql://` URI; empty
    /// means libpq's defaults and its `PG*` environment variables. A `connect_timeout` of
    /// `connectTimeoutSeconds` applies unless the string sets its own.
    public init(
        conninfo: String, applicationName: String = "cpd", connectTimeoutSeconds: Int = 5, sessionSetup: String? = nil,
        logger: Logger = Logger(label: "cpd.postgres")
    ) throws(PostgresError) {
        // Keywords before "dbname" are defaults that the expanded conninfo overrides.
        let keywords = ["connect_timeout", "fallback_application_name", "client_encoding", "dbname"]
        let values = [String(connectTimeoutSeconds), applicationName, "UTF8", conninfo]
        let connection: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(code: .unableToEstablishConnection, severity: "FATAL", message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(code: .unableToEstablishConnection, severity: "FATAL", message: message)
        }
        self.handle = connection
        self.logger = logger
        self.sessionSetup = sessionSetup
        installNoticeProcessor()
        try configureSession()
    }

    deinit {
        PQfinish(handle)
    }

    // MARK: - State

    public enum TransactionStatus: Sendable {
        case idle, active, inTransaction, inFailedTransaction, unknown
    }

    public var transactionStatus: TransactionStatus {
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inFailedTransaction
        default: return .unknown
        }
    }

    /// False once libpq knows the connection is gone.
    public var isOpen: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The backend's process id, for logs and for tests that terminate it.
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// Reads whatever the server has sent while the connection sat idle, without blocking and without
    /// a round trip. A server that restarted or terminated this backend has sent an error and closed
    /// the socket; reading that is how a stale connection is found before it is handed out.
    public func checkAlive() -> Bool {
        for _ in 0..<2 {
            guard PQstatus(handle) == CONNECTION_OK, PQconsumeInput(handle) == 1 else { return false }
            while let notification = PQnotifies(handle) { PQfreemem(notification) }
        }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// A round trip with an empty statement: the cheapest proof that the server answers.
    public func ping() throws(PostgresError) {
        let result = PQexec(handle, "")
        defer { if let result { PQclear(result) } }
        guard let result, PQresultStatus(result) == PGRES_EMPTY_QUERY else {
            throw connectionError(statement: "<ping>")
        }
        lastUsed = .now
    }

    /// Reconnects with the same parameters after the server went away; prepared statements are gone
    /// with the old session, so the cache is emptied.
    public func reconnect() throws(PostgresError) {
        preparedStatements.removeAll()
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(
                code: .unableToEstablishConnection, severity: "FATAL", message: Self.trimmed(PQerrorMessage(handle)))
        }
        try configureSession()
        lastUsed = .now
    }

    // MARK: - Statements

    /// Runs a statement with parameters `$1`, `$2`... bound to `bindings`, preparing it on first use.
    @discardableResult
    public func query(_ sql: String, _ bindings: [any PostgresEncodable] = []) throws(PostgresError)
        -> PostgresQueryResult
    {
        try query(sql, values: bindings.map { $0.postgresValue })
    }

    @discardableResult
    public func query(_ sql: String, values: [PostgresValue]) throws(PostgresError) -> PostgresQueryResult {
        precondition(!isStreaming, "a statement was run on a connection while forEachRow was still reading its rows")
        let key = StatementKey(sql: sql, types: values.map(\.type))
        do {
            let name = try preparedName(for: key)
            return try executePrepared(name: name, sql: sql, values: values)
        } catch let error where error.code == .invalidSQLStatementName || isStalePlan(error) {
            // The server lost or invalidated the statement (DISCARD ALL, a changed table). Outside a
            // transaction it is safe to prepare again and retry once; inside one the transaction has failed.
            forget(key)
            guard transactionStatus == .idle else { throw error }
            let name = try preparedName(for: key)
            return try executePrepared(name: name, sql: sql, values: values)
        }
    }

    /// Runs a statement with parameters without preparing it, for one-off statements that should not
    /// take a place in the cache.
    @discardableResult
    public func queryUnprepared(_ sql: String, _ bindings: [any PostgresEncodable] = []) throws(PostgresError)
        -> PostgresQueryResult
    {
        let values = bindings.map { $0.postgresValue }
        let result = try withParameterPointers(values, statement: sql) { count, types, pointers, lengths, formats in
            PQexecParams(handle, sql, count, types, pointers, lengths, formats, 0)
        }
        return try consume(result, statement: sql)
    }

    /// Runs a script of one or more statements that take no values (a migration file). The statements
    /// run in one implicit transaction unless the script has its own BEGIN/COMMIT.
    public func execute(script: String) throws(PostgresError) {
        _ = try consume(PQexec(handle, script), statement: script)
    }

    // MARK: - Prepared statements

    struct StatementKey: Hashable {
        var sql: String
        var types: [PostgresType]
    }

    func preparedName(for key: StatementKey) throws(PostgresError) -> String {
        if let name = preparedStatements[key] { return name }
        if preparedStatements.count >= Self.statementCacheLimit { try forgetAllPreparedStatements() }
        statementCounter += 1
        let name = "cpd_\(statementCounter)"
        let oids = key.types.map(\.rawValue)
        let result = oids.withUnsafeBufferPointer { types in
            PQprepare(handle, name, key.sql, Int32(oids.count), types.baseAddress)
        }
        _ = try consume(result, statement: key.sql)
        preparedStatements[key] = name
        return name
    }

    func forgetAllPreparedStatements() throws(PostgresError) {
        logger.warning("prepared statement cache full; deallocating all", metadata: ["limit": "\(Self.statementCacheLimit)"])
        _ = try consume(PQexec(handle, "DEALLOCATE ALL"), statement: "DEALLOCATE ALL")
        preparedStatements.removeAll()
    }

    private func forget(_ key: StatementKey) {
        if let name = preparedStatements.removeValue(forKey: key), transactionStatus == .idle {
            _ = PQexec(handle, "DEALLOCATE " + name).map { PQclear($0) }
        }
    }

    private func isStalePlan(_ error: PostgresError) -> Bool {
        error.code == .featureNotSupported && error.message.contains("cached plan must not change result type")
    }

    private func executePrepared(name: String, sql: String, values: [PostgresValue]) throws(PostgresError)
        -> PostgresQueryResult
    {
        let result = try withParameterPointers(values, statement: sql) { count, _, pointers, lengths, formats in
            PQexecPrepared(handle, name, count, pointers, lengths, formats, 0)
        }
        return try consume(result, statement: sql)
    }

    // MARK: - Results and errors

    /// Turns a result into rows (which own it) or an error (and frees it).
    func consume(_ result: OpaquePointer?, statement: String) throws(PostgresError) -> PostgresQueryResult {
        guard let result else { throw connectionError(statement: statement) }
        lastUsed = .now
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresQueryResult(taking: result)
        default:
            defer { PQclear(result) }
            throw error(from: result, statement: statement)
        }
    }

    func error(from result: OpaquePointer, statement: String?) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        if let sqlState = field("C") {
            return PostgresError(
                code: SQLState(sqlState),
                severity: field("V") ?? field("S") ?? "ERROR",
                message: field("M") ?? Self.trimmed(PQresultErrorMessage(result)),
                detail: field("D"), hint: field("H"), constraint: field("n"), table: field("t"), column: field("c"),
                statement: statement)
        }
        // An error libpq made itself: most often the connection went away mid-statement.
        var error = connectionError(statement: statement)
        let message = Self.trimmed(PQresultErrorMessage(result))
        if !message.isEmpty { error.message = message }
        return error
    }

    func connectionError(statement: String?) -> PostgresError {
        let message = Self.trimmed(PQerrorMessage(handle))
        return PostgresError(
            code: isOpen ? SQLState("XX000") : .connectionFailure, severity: isOpen ? "ERROR" : "FATAL",
            message: message.isEmpty ? "no result from the server" : message, statement: statement)
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Session setup

    /// Fixes the output styles that decoding relies on, whatever the server's configuration says.
    private func configureSession() throws(PostgresError) {
        _ = try consume(
            PQexec(handle, "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'"),
            statement: "<session setup>")
        if let sessionSetup { _ = try consume(PQexec(handle, sessionSetup), statement: sessionSetup) }
    }

    /// Server notices (`relation already exists, skipping`) go to the log at debug level instead of
    /// libpq's default of stderr.
    private func installNoticeProcessor() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        PQsetNoticeProcessor(
            handle,
            { context, message in
                guard let context, let message else { return }
                let connection = Unmanaged<PostgresConnection>.fromOpaque(context).takeUnretainedValue()
                connection.logger.debug("server notice", metadata: ["notice": "\(PostgresConnection.trimmed(message))"])
            }, context)
    }

    var rawHandle: OpaquePointer { handle }
}

// MARK: - Passing values to libpq

/// Lays all parameter values end to end in one buffer, NUL-terminating the text ones, and calls `body`
/// with pointers into it that stay valid for the duration of the call. Byte counts come from the
/// UTF-8 bytes, never from `String.count`.
func withParameterPointers<R>(
    _ values: [PostgresValue], statement: String,
    _ body: (
        Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
    ) -> R
) throws(PostgresError) -> R {
    var storage: [UInt8] = [0]  // never empty, so the buffer always has a base address
    var offsets: [Int?] = []
    var lengths: [Int32] = []
    offsets.reserveCapacity(values.count)
    for value in values {
        guard let bytes = value.bytes else {
            offsets.append(nil)
            lengths.append(0)
            continue
        }
        if value.format == .text, bytes.contains(0) {
            throw PostgresError(
                code: .characterNotInRepertoire, message: "a text parameter contains a NUL byte", statement: statement)
        }
        offsets.append(storage.count)
        lengths.append(Int32(bytes.count))
        storage.append(contentsOf: bytes)
        if value.format == .text { storage.append(0) }
    }
    let types = values.map(\.type.rawValue)
    let formats = values.map(\.format.rawValue)
    return storage.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!)
        let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            offset.map { (base + $0).assumingMemoryBound(to: CChar.self) }
        }
        return types.withUnsafeBufferPointer { types in
            pointers.withUnsafeBufferPointer { pointers in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(
                            Int32(values.count), types.baseAddress, pointers.baseAddress, lengths.baseAddress,
                            formats.baseAddress)
                    }
                }
            }
        }
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
