/// The Postgres module: a thin, safe Swift layer over libpq.
///
/// It owns connections, parameter binding, typed rows, errors with their SQLSTATE, transactions,
/// COPY, pipelining and a connection pool. It knows nothing of CPD: no course, practitioner or point
/// appears in it, so it can be tested, and reasoned about, as a database library on its own.

/// A five-character SQLSTATE, with the codes this project acts on as constants, so that callers can
/// `catch let error as PostgresError where error.code == .uniqueViolation`.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The first two characters: the class (`23` integrity constraint violation, `08` connection exception...).
    public var errorClass: String { String(rawValue.prefix(2)) }
    public var description: String { rawValue }

    // Class 08: connection exceptions. libpq's own connection failures carry no SQLSTATE; this layer
    // gives them `connectionFailure` so that one classification covers both.
    public static let connectionException = SQLState("08000")
    public static let connectionDoesNotExist = SQLState("08003")
    public static let connectionFailure = SQLState("08006")
    public static let unableToEstablishConnection = SQLState("08001")
    public static let protocolViolation = SQLState("08P01")
    // Class 0A / 22 / 23 / 25 / 26 / 40 / 42 / 53 / 55 / 57.
    public static let featureNotSupported = SQLState("0A000")
    public static let characterNotInRepertoire = SQLState("22021")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let checkViolation = SQLState("23514")
    public static let foreignKeyViolation = SQLState("23503")
    public static let notNullViolation = SQLState("23502")
    public static let uniqueViolation = SQLState("23505")
    public static let exclusionViolation = SQLState("23P01")
    public static let inFailedTransaction = SQLState("25P02")
    public static let invalidSQLStatementName = SQLState("26000")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let syntaxError = SQLState("42601")
    public static let insufficientPrivilege = SQLState("42501")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let tooManyConnections = SQLState("53300")
    public static let lockNotAvailable = SQLState("55P03")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let raiseException = SQLState("P0001")
    /// Not a server code: a statement that libpq skipped because an earlier one in the same pipeline
    /// sync group failed. Class 25 as it is, like the server's "in failed transaction".
    public static let pipelineAborted = SQLState("25P99")
}

/// An error from the server or from libpq, with every field the server sent, never only a message.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public var code: SQLState
    /// Non-localized severity: ERROR, FATAL, PANIC.
    public var severity: String
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The constraint a violation names, as the server reports it (`ledger_pkey`).
    public var constraint: String?
    public var table: String?
    public var column: String?
    /// The statement that failed, as sent (with `$n` placeholders, never values).
    public var statement: String?

    public init(
        code: SQLState, severity: String = "ERROR", message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, table: String? = nil, column: String? = nil, statement: String? = nil
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
        self.statement = statement
    }

    /// True when the same work may succeed if simply tried again: a serialization failure, a deadlock,
    /// a server shutting down or starting up, or a lost connection. Whether it is *safe* to try again is
    /// the caller's to know (an idempotent write is; a write whose COMMIT was lost in flight may not be).
    public var isRetryable: Bool {
        switch code {
        case .serializationFailure, .deadlockDetected, .adminShutdown, .crashShutdown, .cannotConnectNow:
            return true
        default:
            return code.errorClass == "08"
        }
    }

    /// True when the connection itself is gone (class 08 or a server shutdown), as opposed to a failed
    /// statement on a connection that is still usable.
    public var isConnectionLoss: Bool {
        code.errorClass == "08" || code == .adminShutdown || code == .crashShutdown || code == .cannotConnectNow
    }

    public var description: String {
        var text = "\(severity) \(code): \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

/// A value in a row could not be turned into the Swift type asked for. A programmer's mismatch between
/// a query and the code reading it, or a NULL where none was expected; thrown, not trapped, so that a
/// daemon reports it instead of dying.
public struct PostgresDecodingError: Error, Sendable, CustomStringConvertible {
    public var column: String
    public var expected: String
    public var found: String?
    public init(column: String, expected: String, found: String?) {
        self.column = column
        self.expected = expected
        self.found = found
    }
    public var description: String {
        "column \(column): cannot decode \(found.map { "'\($0.prefix(40))'" } ?? "NULL") as \(expected)"
    }
}
