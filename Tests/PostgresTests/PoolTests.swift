import Foundation
import LocalPostgres
import Testing
import TestSupport

@testable import Postgres

@Suite struct PoolTests {
    let conninfo: String
    init() throws { conninfo = try TestDatabase.fresh("pool") }

    @Test func thePoolNeverOpensMoreThanItsLimit() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 3))
        let pids = Locked(Set<Int32>())
        let busy = Locked((now: 0, peak: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    try await pool.withConnection { connection in
                        busy.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                        defer { busy.withLock { $0.now -= 1 } }
                        let pid: Int32 = try connection.query("SELECT pg_backend_pid() FROM pg_sleep(0.02)")[0][0]
                        pids.withLock { _ = $0.insert(pid) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(pids.withLock { $0.count } <= 3)
        #expect(busy.withLock { $0.peak } == 3, "work ran three at a time")
        #expect(pool.openConnections <= 3)
        await pool.close()
    }

    @Test func aCallerWaitsNoLongerThanTheAcquireTimeout() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 1, acquireTimeout: .milliseconds(200)))
        let holding = Locked(false)
        async let holder: Void = pool.withConnection { connection in
            holding.withLock { $0 = true }
            defer { holding.withLock { $0 = false } }
            try connection.query("SELECT pg_sleep(3)")
        }
        // The holder has the only connection (opening it can take a while on a busy machine).
        while !holding.value { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: PostgresPoolError.self) { try await pool.withConnection { _ in } }
        // Timed by the holder rather than the clock, so that a loaded machine does not fail it: the
        // waiter gave up while the connection was still held, not when it came back.
        #expect(holding.value, "the waiter gave up before the holder let go")
        try await holder
        try await pool.withConnection { _ in }  // the connection came back
        await pool.close()
    }

    @Test func aBrokenConnectionIsReplacedBeforeItIsHandedOut() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 1))
        let first = try await pool.withConnection { $0.backendPID }
        let killer = try PostgresConnection(conninfo: conninfo)
        try killer.query("SELECT pg_terminate_backend($1)", [first])
        try await Task.sleep(for: .milliseconds(200))
        // No error reaches the caller: the pool finds the dead connection and reopens it.
        let second = try await pool.withConnection { try $0.query("SELECT pg_backend_pid()")[0][0] as Int32 }
        #expect(second != first)
        await pool.close()
    }

    @Test func aConnectionLeftInATransactionIsNotReused() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 1))
        let first = try await pool.withConnection { c in
            try c.execute(script: "BEGIN")
            return c.backendPID
        }
        let second = try await pool.withConnection { c in
            #expect(c.transactionStatus == .idle)
            return c.backendPID
        }
        #expect(first != second)
        await pool.close()
    }

    @Test func poolTransactionsRetryConnectionLossOnlyWhenAsked() async throws {
        let setup = try PostgresConnection(conninfo: conninfo)
        try setup.execute(script: "CREATE TABLE attempts (n int)")
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 2))
        let tries = Locked(0)
        // The first try kills its own backend mid-transaction; the retry on a new connection succeeds.
        try await pool.withTransaction(retry: RetryPolicy(maxAttempts: 3, retriesConnectionLoss: true)) { c in
            let attempt = tries.withLock { $0 += 1; return $0 }
            try c.query("INSERT INTO attempts VALUES ($1)", [attempt])
            if attempt == 1 { try c.query("SELECT pg_terminate_backend(pg_backend_pid())") }
        }
        #expect(tries.withLock { $0 } == 2)
        #expect(try setup.query("SELECT array_agg(n)::text FROM attempts")[0][0] as String == "{2}")
        await #expect(throws: PostgresError.self) {
            try await pool.withTransaction(retry: .never) { c in
                try c.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        await pool.close()
    }

    @Test func theHealthCheckSaysWhetherTheServerAnswers() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 1))
        #expect(await pool.healthCheck())
        await pool.close()
        let nowhere = PostgresPool(configuration: .init(conninfo: "host=/nonexistent-cpd-dir dbname=x", maxConnections: 1))
        #expect(await nowhere.healthCheck() == false)
        await nowhere.close()
    }

    @Test func aClosedPoolRefusesWork() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 1))
        try await pool.withConnection { _ in }
        await pool.close()
        await #expect(throws: PostgresPoolError.self) { try await pool.withConnection { _ in } }
    }
}

/// A server restart under a busy pool, on a cluster of the test's own so that the other suites'
/// server is not disturbed.
@Suite(.serialized) struct PoolRestartTests {
    @Test func aBusyPoolSurvivesAServerRestart() async throws {
        let cluster = try LocalPostgresCluster(directory: TestDatabase.scratchDirectory("restart") + "/postgres", settings: ["fsync": "off"])
        try cluster.initializeIfNeeded()
        try cluster.start()
        defer { try? cluster.destroy() }

        let pool = PostgresPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 6, acquireTimeout: .seconds(2)))
        let stats = Locked((ok: 0, failedRetryable: 0, failedOther: [String]()))
        let restarted = Locked(false)
        let okAfterRestart = Locked(0)
        let workers = (0..<12).map { worker in
            Task {
                while !Task.isCancelled {
                    do {
                        let value = try await pool.withConnection { c in
                            try c.query("SELECT $1::int + 1 FROM pg_sleep(0.005)", [Int32(worker)])[0][0] as Int32
                        }
                        #expect(value == Int32(worker) + 1)
                        stats.withLock { $0.ok += 1 }
                        if restarted.withLock({ $0 }) { okAfterRestart.withLock { $0 += 1 } }
                    } catch let error as PostgresError where error.isRetryable {
                        stats.withLock { $0.failedRetryable += 1 }
                        try? await Task.sleep(for: .milliseconds(20))
                    } catch let error as PostgresPoolError where error.kind == .acquireTimeout {
                        stats.withLock { $0.failedRetryable += 1 }
                    } catch is CancellationError {
                        break
                    } catch {
                        stats.withLock { $0.failedOther.append("\(error)") }
                    }
                }
            }
        }
        // Load first: wait until the workers are clearly running (other suites share the machine).
        let warmup = ContinuousClock.now
        while stats.withLock({ $0.ok }) < 100, ContinuousClock.now - warmup < .seconds(30) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let beforeRestart = stats.withLock { $0.ok }
        try await runOnOwnThread { try cluster.stop() }
        try await Task.sleep(for: .milliseconds(300))
        try await runOnOwnThread { try cluster.start() }
        restarted.withLock { $0 = true }
        let restartedAt = ContinuousClock.now
        // Every worker must get through again, and soon.
        while okAfterRestart.withLock({ $0 }) < 200, ContinuousClock.now - restartedAt < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let recovery = ContinuousClock.now - restartedAt
        workers.forEach { $0.cancel() }
        for worker in workers { await worker.value }

        let final = stats.withLock { $0 }
        #expect(beforeRestart >= 100, "the pool was busy when the server restarted")
        #expect(okAfterRestart.withLock { $0 } >= 200, "work resumed after the restart")
        #expect(final.failedOther.isEmpty, "every failure during the outage was a retryable one: \(final.failedOther.prefix(3))")
        #expect(recovery < .seconds(5))
        // Nothing stale is left: every connection the pool hands out now works on the first try.
        for _ in 0..<20 {
            #expect(try await pool.withConnection { try $0.query("SELECT 1")[0][0] as Int } == 1)
        }
        print("restart: \(beforeRestart) ok before, \(final.failedRetryable) retryable failures during, recovered in \(recovery)")
        await pool.close()
    }
}
