import Foundation
import Testing
import TestSupport

@testable import Postgres

/// `PostgresDriver`: statements in non-blocking pipeline mode from one I/O thread, many callers
/// sharing a few connections.
@Suite struct DriverTests {
    let conninfo: String
    init() throws {
        conninfo = try TestDatabase.fresh("driver")
        try PostgresConnection(conninfo: conninfo).execute(script: "CREATE TABLE kv (k text PRIMARY KEY, v int NOT NULL)")
    }

    func driver(connections: Int = 2) -> PostgresDriver {
        PostgresDriver(configuration: .init(conninfo: conninfo), connections: connections)
    }

    @Test func aQueryBindsItsValuesAndReturnsItsRows() async throws {
        let driver = driver()
        defer { driver.close() }
        let rows = try await driver.query("SELECT $1::int + 1 AS n, $2::text AS t, $3::text IS NULL AS none", [41, "héllo", String?.none])
        #expect(try rows[0]["n"] as Int == 42)
        #expect(try rows[0]["t"] as String == "héllo")
        #expect(try rows[0]["none"] as Bool)
    }

    @Test func manyConcurrentCallersEachGetTheirOwnAnswer() async throws {
        let driver = driver()
        defer { driver.close() }
        let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<2_000 {
                group.addTask { (i, try await driver.query("SELECT $1::int * 2", [i])[0][0]) }
            }
            var answers: [Int: Int] = [:]
            for try await (i, n) in group { answers[i] = n }
            return answers
        }
        #expect(answers.count == 2_000 && answers.allSatisfy { $0.value == 2 * $0.key })
    }

    @Test func inPipelineEachAStatementThatFailsFailsAlone() async throws {
        let driver = driver(connections: 1)
        defer { driver.close() }
        let results = try await driver.pipelineEach([
            PostgresStatement("SELECT 1 / $1::int", [1]), PostgresStatement("SELECT 1 / $1::int", [0]),
            PostgresStatement("SELECT nonsense FROM nowhere"), PostgresStatement("SELECT 1 / $1::int", [1]),
        ])
        #expect(try results[0].get()[0][0] as Int == 1)
        #expect(throws: PostgresError.self) { try results[1].get() }
        #expect(failure(of: results[2]) == .undefinedTable)
        #expect(try results[3].get()[0][0] as Int == 1)
        // The connection and its prepared statements serve on.
        #expect(try await driver.query("SELECT 1 / $1::int", [1])[0][0] as Int == 1)
    }

    /// A deferred constraint fails at the group's implicit COMMIT, after every statement answered:
    /// the caller must get the failure, never the statements' answers, and the connection serves on.
    @Test func aCommitThatFailsFailsItsStatementsAndNothingElse() async throws {
        try PostgresConnection(conninfo: conninfo).execute(script: """
            CREATE TABLE once (k int, CONSTRAINT once_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)
            """)
        let driver = driver(connections: 1)
        defer { driver.close() }
        let insert = "INSERT INTO once (k) VALUES ($1::int) RETURNING k"
        // One transaction: both inserts answer, then the commit refuses the pair (the commit's own
        // error, not a connection dropped over it).
        do {
            _ = try await driver.pipeline([PostgresStatement(insert, [1]), PostgresStatement(insert, [1])])
            Issue.record("a commit that failed was answered")
        } catch {
            #expect(error.code == .uniqueViolation)
        }
        // Each its own transaction: the second commit fails alone, in its place.
        try PostgresConnection(conninfo: conninfo).execute(script: "INSERT INTO once (k) VALUES (2)")
        let each = try await driver.pipelineEach([PostgresStatement(insert, [3]), PostgresStatement(insert, [2]), PostgresStatement(insert, [4])])
        #expect(try each[0].get()[0][0] as Int == 3)
        #expect(failure(of: each[1]) == .uniqueViolation)
        #expect(try each[2].get()[0][0] as Int == 4)
        let kept: [Int] = try await driver.query("SELECT k FROM once ORDER BY k").map { try $0[0] }
        #expect(kept == [2, 3, 4])
    }

    @Test func aPipelineIsOneTransaction() async throws {
        let driver = driver(connections: 1)
        defer { driver.close() }
        #expect(await code {
            try await driver.pipeline([
                PostgresStatement("INSERT INTO kv VALUES ($1, $2)", ["a", 1]), PostgresStatement("INSERT INTO kv VALUES ($1, $2)", ["a", 2]),
            ])
        } == .uniqueViolation)
        #expect(try await driver.query("SELECT count(*) FROM kv")[0][0] as Int == 0)
        let rows = try await driver.pipeline([
            PostgresStatement("SELECT now() AS t"), PostgresStatement("SELECT pg_sleep(0.01), now() AS t"),
        ])
        #expect(try rows[0][0]["t"] as String == rows[1][0]["t"] as String, "one transaction: one now()")
    }

    @Test func aLargePipelineDoesNotDeadlockOnFullBuffers() async throws {
        let driver = driver(connections: 1)
        defer { driver.close() }
        let statements = (0..<20_000).map { PostgresStatement("SELECT $1::text", [String(repeating: "x", count: 100) + "\($0)"]) }
        let results = try await driver.pipelineEach(statements)
        #expect(results.count == 20_000)
        #expect(try results[19_999].get()[0][0] as String == String(repeating: "x", count: 100) + "19999")
    }

    @Test func aTextValueWithANulIsRefusedBeforeAnythingIsSent() async throws {
        let driver = driver()
        defer { driver.close() }
        #expect(await code { try await driver.query("SELECT $1::text", ["a\u{0}b"]) } == .characterNotInRepertoire)
        #expect(try await driver.query("SELECT 1")[0][0] as Int == 1)
    }

    @Test func aLostConnectionFailsWhatItCarriedAndTheNextCallConnectsAgain() async throws {
        let driver = driver(connections: 1)
        defer { driver.close() }
        let pid: Int32 = try await driver.query("SELECT pg_backend_pid()")[0][0]
        let sleeping = Task { await code { try await driver.query("SELECT pg_sleep(30)") } }
        let other = try PostgresConnection(conninfo: conninfo)
        for _ in 0..<200 {
            let waiting = try other.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%'", [pid])
            if try waiting[0][0] as Int == 1 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try other.query("SELECT pg_terminate_backend($1)", [pid])
        let failure = await sleeping.value
        #expect(failure.map { PostgresError(code: $0, message: "").isConnectionLoss } == true, "\(String(describing: failure))")
        let again: Int32 = try await driver.query("SELECT pg_backend_pid()")[0][0]
        #expect(again != pid)
    }

    @Test func aPrepareAbortedByOneCallersErrorDoesNotFailAnothersStatement() async throws {
        let driver = driver(connections: 1)
        defer { driver.close() }
        // The first statement fails after a pause (random() keeps the division from being folded into
        // the plan), so the second caller's statement is sent while the first's Prepare of the same
        // text is in flight; that Prepare is then aborted with the rest of its pipeline.
        let first = Task {
            await code {
                try await driver.pipeline([
                    PostgresStatement("SELECT 1 / (random() * $1::int)::int FROM pg_sleep(0.2)", [0]),
                    PostgresStatement("SELECT $1::int + 100", [1]),
                ])
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await driver.query("SELECT $1::int + 100", [2])[0][0] as Int == 102)
        #expect(await first.value == SQLState("22012"), "division by zero")
        // The statement is prepared again, and serves.
        #expect(try await driver.query("SELECT $1::int + 100", [3])[0][0] as Int == 103)
        #expect(try await driver.query("SELECT $1::int + 100", [4])[0][0] as Int == 104)
    }

    @Test func aConnectThatHangsDoesNotHoldUpTheOpenConnection() async throws {
        // Each connection's session setup waits for advisory lock 7: a connect hangs while the test holds it.
        let driver = PostgresDriver(
            configuration: .init(conninfo: conninfo, sessionSetup: "SELECT pg_advisory_lock_shared(7); SELECT pg_advisory_unlock_shared(7)"),
            connections: 2)
        defer { driver.close() }
        #expect(try await driver.query("SELECT 1")[0][0] as Int == 1)
        let holder = try PostgresConnection(conninfo: conninfo)
        try holder.query("SELECT pg_advisory_lock(7)")
        // The open connection is busy, so the next call starts a second connect, which hangs.
        let busy = Task { try await driver.query("SELECT 1 FROM pg_sleep(0.3)") }
        try await Task.sleep(for: .milliseconds(50))
        let answered = Locked(false)
        let next = Task {
            let rows = try await driver.query("SELECT 2")
            answered.withLock { $0 = true }
            return rows
        }
        for _ in 0..<60 where !answered.value { try await Task.sleep(for: .milliseconds(50)) }
        let answeredWhileConnecting = answered.value
        try holder.query("SELECT pg_advisory_unlock(7)")
        #expect(answeredWhileConnecting, "the open connection served while another was being opened")
        #expect(try await busy.value[0][0] as Int == 1)
        #expect(try await next.value[0][0] as Int == 2)
    }

    @Test func aFailedConnectIsNotTriedAgainForASecondWhileAConnectionServes() async throws {
        let setup = try PostgresConnection(conninfo: conninfo)
        try setup.execute(script: "CREATE SEQUENCE connects")
        // Each connect counts itself, then fails while the test holds advisory lock 8.
        let driver = PostgresDriver(
            configuration: .init(
                conninfo: conninfo, sessionSetup: "SELECT nextval('connects'); SELECT 1 / pg_try_advisory_xact_lock_shared(8)::int"),
            connections: 2)
        defer { driver.close() }
        #expect(try await driver.query("SELECT 1")[0][0] as Int == 1)
        try setup.query("SELECT pg_advisory_lock(8)")
        // Calls that find the one connection busy, for well under a second: each would open another.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(600) {
            let busy = Task { try await driver.query("SELECT 1 FROM pg_sleep(0.05)") }
            try await Task.sleep(for: .milliseconds(10))
            #expect(try await driver.query("SELECT 2")[0][0] as Int == 2)
            _ = try await busy.value
        }
        let connects: Int = try setup.query("SELECT last_value FROM connects")[0][0]
        #expect(connects <= 2, "one connect, one failed attempt")
    }

    @Test func aClosedDriverRefusesCalls() async throws {
        let driver = driver()
        #expect(try await driver.query("SELECT 1")[0][0] as Int == 1)
        driver.close()
        #expect(await code { try await driver.query("SELECT 1") } == .adminShutdown)
    }
}

/// The SQLSTATE `body` fails with, or nil.
private func code(_ body: () async throws -> Any) async -> SQLState? {
    do {
        _ = try await body()
        return nil
    } catch {
        return (error as? PostgresError)?.code
    }
}

private func failure(of result: Result<PostgresQueryResult, PostgresError>) -> SQLState? {
    if case .failure(let error) = result { return error.code }
    return nil
}
