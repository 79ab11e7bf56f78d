import AdminClient
import CPDStore
import Foundation
import LocalPostgres
import Logging
import Postgres
import ServiceLifecycle
import Testing
import TestSupport

@testable import CPDServer

/// The nightly report read from a streaming replica (`report_database`), with the run recorded on
/// the primary: a hot standby made with pg_basebackup from a primary of the test's own.
@Suite(.serialized) struct ReplicaTests {
    /// Runs a program as the account the PostgreSQL servers run as (itself, unless root).
    func asServer(_ cluster: LocalPostgresCluster, _ arguments: [String]) throws -> (Int32, String) {
        guard let account = cluster.serverAccount else { return try ChildProcess.run(arguments) }
        return try ChildProcess.run(["/usr/sbin/runuser", "-u", account.name, "--"] + arguments)
    }

    @Test func theReportReadsAReplicaAndRecordsItsRunOnThePrimary() async throws {
        let base = try TestDatabase.scratchDirectory("replica")
        let primary = try LocalPostgresCluster(directory: base + "/primary", settings: ["fsync": "off"])
        _ = try primary.initializeIfNeeded()
        try primary.start()
        defer { try? primary.destroy() }
        let admin = try PostgresConnection(conninfo: primary.conninfo())
        try admin.execute(script: "CREATE DATABASE cpd")
        // The standby's WAL receiver logs in as the account the server runs as (peer authentication).
        let replicationRole = primary.serverAccount?.name ?? primary.superuser
        if replicationRole != primary.superuser {
            #expect(replicationRole.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
            try admin.execute(script: "CREATE ROLE \"\(replicationRole)\" LOGIN REPLICATION")
        }
        let database = primary.conninfo(database: "cpd")
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(PostgresConnection(conninfo: database))

        // The standby: a base backup, its own socket directory, hot standby, streaming from the primary.
        let standby = base + "/standby"
        let data = standby + "/data", run = standby + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let (backedUp, backupSaid) = try ChildProcess.run([
            primary.binDirectory + "/pg_basebackup", "-h", primary.socketDirectory, "-U", primary.superuser, "-D", data, "-R", "-X", "stream", "-c", "fast",
        ])
        #expect(backedUp == 0, "\(backupSaid)")
        let settings = """
            unix_socket_directories = '\(run)'
            hot_standby = on
            primary_conninfo = 'host=\(primary.socketDirectory) user=\(replicationRole) application_name=standby'

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.auto.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
        if let account = primary.serverAccount {
            for path in [standby, data, run] { chown(path, account.uid, account.gid) }
            _ = try ChildProcess.run(["/bin/chown", "-R", "\(account.uid):\(account.gid)", standby])
        }
        chmod(data, 0o700)
        let (started, startSaid) = try asServer(primary, [primary.binDirectory + "/pg_ctl", "-D", data, "-l", standby + "/log", "-w", "-t", "60", "start"])
        #expect(started == 0, "\(startSaid)")
        defer { _ = try? asServer(primary, [primary.binDirectory + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]) }
        let replicaConninfo = "host=\(run) dbname=cpd user=\(primary.superuser)"
        #expect(try PostgresConnection(conninfo: replicaConninfo).query("SELECT pg_is_in_recovery()")[0][0] as Bool)

        // cpdd with the primary for everything and the replica for the report.
        let pool = PostgresPool(configuration: .init(conninfo: database, maxConnections: 4, sessionSetup: ApplicationRole.sessionSetup))
        let replica = PostgresPool.Configuration(conninfo: replicaConninfo, sessionSetup: ApplicationRole.sessionSetup)
        let path = base + "/cpdd.sock"
        let ready = Locked(false)
        let server = AdminServer(
            configuration: .init(socketPath: path), resolver: .database(RegistryStore(pool: pool)), runner: CommandRunner(store: RegistryStore(pool: pool, reportDatabase: replica)),
            ready: { ready.withLock { $0 = true } })
        let group = ServiceGroup(configuration: .init(services: [pool, server], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        while !ready.value { try await Task.sleep(for: .milliseconds(10)) }
        defer { running.cancel() }

        try await runBlocking {
            let c = try AdminClient(socketPath: path)
            try NightlyReportTests.seed(c)
            // Wait until the replica has replayed everything the primary has written.
            let primaryConnection = try PostgresConnection(conninfo: database)
            let written: String = try primaryConnection.query("SELECT pg_current_wal_lsn()::text")[0][0]
            let replica = try PostgresConnection(conninfo: replicaConninfo)
            let start = ContinuousClock.now
            while try !(replica.query("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", [written])[0][0] as Bool) {
                #expect(ContinuousClock.now - start < .seconds(30), "the replica catches up")
                if ContinuousClock.now - start > .seconds(30) { return }
                usleep(50_000)
            }
            // Replay paused, the primary moves on: a report that read the primary would see entry 12.
            _ = try replica.query("SELECT pg_wal_replay_pause()")
            #expect(try c.request("completion.record practitioner=P-1 course=B2 completed=2026-10-05 key=after-pause").final == "OK entry=12 points=2.00")
            let response = try c.request("report.nightly date=2027-04-01")
            #expect(response.isOK, "\(response.final)")
            #expect(response.data.contains("section=scheme_status scheme=MYO title=Myotherapy members=4 compliant=1 on_track=0 at_risk=1 non_compliant=2"),
                    "\(response.data.filter { $0.contains("scheme_status") })")
            #expect(response.data.contains { $0.hasPrefix("section=integrity status=verified entries=11 ") })
            // Read on the replica, recorded on the primary.
            #expect(try primaryConnection.query("SELECT count(*) FROM report_run WHERE status = 'ok'")[0][0] as Int64 == 1)
            #expect(try primaryConnection.query("SELECT count(*) FROM ledger_entry")[0][0] as Int64 == 12, "the primary has one more")
            _ = try replica.query("SELECT pg_wal_replay_resume()")
        }
        await group.triggerGracefulShutdown()
        try? await running.value
    }
}
