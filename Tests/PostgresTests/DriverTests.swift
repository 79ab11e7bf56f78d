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
