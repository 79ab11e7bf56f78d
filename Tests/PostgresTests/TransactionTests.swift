import Foundation
import Testing
import TestSupport

@testable import Postgres

@Suite struct TransactionTests {
    let conninfo: String
    init() throws {
        conninfo = try TestDatabase.fresh("txn")
        let setup = try PostgresConnection(conninfo: conninfo)
        try setup.execute(script: "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)")
    }

    struct Boom: Error {}

    @Test func aThrowingBodyRollsBack() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        #expect(throws: Boom.self) {
            try connection.withTransaction { c in
                try c.query("UPDATE counter SET n = n + 100 WHERE id = 1")
                throw Boom()
            }
        }
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT n FROM counter WHERE id = 1")[0][0] as Int == 0)
    }

    @Test func aCommitThatTheServerTurnsIntoRollbackIsAnError() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let error = #expect(throws: PostgresError.self) {
            try connection.withTransaction { c in
                try c.query("UPDATE counter SET n = n + 100 WHERE id = 1")
                _ = try? c.query("SELECT 1/0")  // swallowed: the transaction is now aborted
            }
        }
        #expect(error?.code == .inFailedTransaction)
        #expect(try connection.query("SELECT n FROM counter WHERE id = 1")[0][0] as Int == 0)
    }

    @Test func serializationFailuresAreRetriedUntilEveryIncrementLands() async throws {
        // Eight connections increment one row under SERIALIZABLE at once: many attempts fail with
        // 40001, and the retry policy must still land every increment exactly once.
        let conninfo = self.conninfo
        let workers = 8, perWorker = 15
        let attempts = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    try await runOnOwnThread {
                        let connection = try PostgresConnection(conninfo: conninfo)
                        for _ in 0..<perWorker {
                            try connection.withTransaction(
                                isolation: .serializable, retry: RetryPolicy(maxAttempts: 100, baseDelay: .milliseconds(1))
                            ) { c in
                                attempts.withLock { $0 += 1 }
                                let n: Int = try c.query("SELECT n FROM counter WHERE id = 1")[0][0]
                                try c.query("UPDATE counter SET n = $1 WHERE id = 1", [n + 1])
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let check = try PostgresConnection(conninfo: conninfo)
        #expect(try check.query("SELECT n FROM counter WHERE id = 1")[0][0] as Int == workers * perWorker)
        #expect(attempts.value > workers * perWorker, "some attempts conflicted and were retried")
    }

    @Test func withoutRetriesASerializationFailureReachesTheCaller() throws {
        let a = try PostgresConnection(conninfo: conninfo)
        let b = try PostgresConnection(conninfo: conninfo)
        let error = #expect(throws: PostgresError.self) {
            _ = try a.withTransaction(isolation: .serializable, retry: .never) { a in
                _ = try a.query("SELECT n FROM counter WHERE id = 1")
                try b.withTransaction(isolation: .serializable, retry: .never) { b in
                    try b.query("UPDATE counter SET n = n + 1 WHERE id = 1")
                }
                try a.query("UPDATE counter SET n = n + 1 WHERE id = 1")
            }
        }
        #expect(error?.code == .serializationFailure)
        #expect(error?.isRetryable == true)
    }
}

