import Foundation

/// The isolation levels a transaction can ask for.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// When a failed transaction is run again, and how long to wait between tries.
public struct RetryPolicy: Sendable {
    /// Tries in all, the first included.
    public var maxAttempts: Int
    /// The wait before the second try; it doubles for each further try, with up to 50 % jitter.
    public var baseDelay: Duration
    /// Also retry when the connection was lost (pool transactions only, which can take a fresh
    /// connection). Only for bodies that are safe to apply twice, such as writes idempotent by key:
    /// a connection lost during COMMIT leaves it unknown whether the first try committed.
    public var retriesConnectionLoss: Bool

    public init(maxAttempts: Int, baseDelay: Duration = .milliseconds(5), retriesConnectionLoss: Bool = false) {
        precondition(maxAttempts >= 1, "a retry policy needs at least one attempt")
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.retriesConnectionLoss = retriesConnectionLoss
    }

    public static let never = RetryPolicy(maxAttempts: 1)
    /// Serialization failures (40001) and deadlocks (40P01): the server's own advice is to run again.
    public static let serializationFailures = RetryPolicy(maxAttempts: 8)

    func shouldRetry(_ error: Error, attempt: Int) -> Bool {
        guard attempt < maxAttempts, let error = error as? PostgresError else { return false }
        if error.code == .serializationFailure || error.code == .deadlockDetected { return true }
        return retriesConnectionLoss && error.isConnectionLoss
    }

    func delay(beforeAttempt attempt: Int) -> Duration {
        let factor = 1 << min(attempt - 2, 10)
        let base = baseDelay * factor
        return base + base * Double.random(in: 0..<0.5)
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

extension PostgresConnection {
    /// Runs `body` inside BEGIN ... COMMIT, rolling back if it throws. Serialization failures and
    /// deadlocks run `body` again from the start, per `retry`, so `body` must do nothing outside the
    /// database that cannot be repeated. A COMMIT that the server turns into a ROLLBACK (because a
    /// statement failed and `body` swallowed the error) throws rather than report success.
    @discardableResult
    public func withTransaction<R>(
        isolation: IsolationLevel = .readCommitted, readOnly: Bool = false, retry: RetryPolicy = .serializationFailures,
        _ body: (PostgresConnection) throws -> R
    ) throws -> R {
        precondition(transactionStatus == .idle, "withTransaction called inside a transaction")
        var attempt = 1
        while true {
            do {
                try execute(script: "BEGIN ISOLATION LEVEL \(isolation.rawValue)" + (readOnly ? " READ ONLY" : ""))
                let result = try body(self)
                let commit = try query("COMMIT")
                if commit.commandTag == "ROLLBACK" {
                    throw PostgresError(
                        code: .inFailedTransaction, message: "the transaction was rolled back because a statement in it failed",
                        statement: "COMMIT")
                }
                return result
            } catch {
                if transactionStatus == .inTransaction || transactionStatus == .inFailedTransaction {
                    _ = try? execute(script: "ROLLBACK")
                }
                attempt += 1
                guard retry.shouldRetry(error, attempt: attempt) else { throw error }
                logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                Thread.sleep(forTimeInterval: retry.delay(beforeAttempt: attempt).seconds)
            }
        }
    }
}
