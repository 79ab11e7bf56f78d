import ArgumentParser
import Foundation
import LocalPostgres

/// Each workload twice, with the same number of connections: through cpdd (`drive`) and straight
/// against PostgreSQL with pgbench running the statements cpdd runs for it, so that every cpdd
/// figure is printed beside the database's own limit, as a ratio. `ping` touches no database; its
/// anchor is a redis-server of our own answering PING, driven by the same load client.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every workload through cpdd and as pgbench scripts of the same SQL; print the ratios.")

    @Option(help: "cpdd's admin socket.") var socket: String
    @Option(help: ArgumentHelp("libpq conninfo pgbench connects with (the registry's database).", valueName: "conninfo")) var database: String
    @Option(help: "cpdd's process id (for its peak resident memory).") var cpddPid: Int32?
    @Option(help: "Concurrent connections, for both.") var connections = 32
    @Option(help: "Seconds per workload, for both.") var seconds = 10
    @Option(help: "Members in the registry (ids M-1 ... M-n).") var practitioners = 100_000
    @Option(help: "pgbench (default: the newest under /usr/lib/postgresql).") var pgbench: String?
    @Option(help: "redis-server, the anchor of ping (default: /usr/bin/redis-server if there is one).") var redisServer: String?
    @Option(parsing: .upToNextOption, help: "Which workloads (default: ping points search record).")
    var workloads: [Drive.Workload] = [.ping, .points, .search, .record]

    func run() throws {
        let pgbench = try self.pgbench ?? Self.findPgbench()
        let scripts = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: "/tmp"), create: true)
        defer { try? FileManager.default.removeItem(at: scripts) }
        print("connections=\(connections) seconds=\(seconds) practitioners=\(practitioners)")
        for workload in workloads {
            var drive = Drive()
            drive.socket = socket
            drive.protocol = .cpdd
            drive.workload = workload
            drive.connections = connections
            drive.seconds = seconds
            drive.practitioners = practitioners
            drive.cpddPid = cpddPid
            drive.pipeline = 1
            drive.seed = 7
            let cpdd = try drive.measure()
            print("cpdd    " + cpdd.line)
            if workload == .ping { try compareWithRedis(drive, cpdd: cpdd) }
            guard let sql = Self.script(workload, practitioners: practitioners) else { continue }
            let file = scripts.appendingPathComponent("\(workload.rawValue).sql").path
            try sql.write(toFile: file, atomically: true, encoding: .utf8)
            let tps = try runPgbench(pgbench, script: file)
            let ours = cpdd.throughput
            print("pgbench workload=\(workload.rawValue) tps=\(Int(tps))  ratio cpdd/pgbench=\(String(format: "%.2f", tps > 0 ? ours / tps : 0))")
        }
    }

    /// The same load (connections, pipeline, time, client) against a redis-server started for it.
    func compareWithRedis(_ drive: Drive, cpdd: Drive.Measurement) throws {
        guard let executable = redisServer ?? RedisServer.find() else {
            print("redis   workload=ping skipped: no redis-server (apt-get install redis-server, or give --redis-server)")
            return
        }
        let server = try RedisServer(executable: executable)
        defer { server.stop() }
        var redis = drive
        redis.protocol = .redis
        redis.socket = server.socketPath
        redis.cpddPid = server.process.pid
        let measured = try redis.measure()
        let ratio = measured.throughput > 0 ? cpdd.throughput / measured.throughput : 0
        // The ratio on the figure's own line, before any lines about failed connections.
        let lines = measured.line.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        print("redis   \(lines[0])  ratio cpdd/redis=\(String(format: "%.2f", ratio))" + lines.dropFirst().map { "\n" + $0 }.joined())
    }

    /// What cpdd runs for one request of the workload, statement for statement (see CPDStore).
    static func script(_ workload: Drive.Workload, practitioners: Int) -> String? {
        let member = "\\set m random(1, \(practitioners))\n"
        switch workload {
        case .ping, .mix:
            return nil
        case .points:
            // What cpdd ran for one `points` before issue 12 (LedgerStore.standing: the member with
            // their scheme, certificates and today; then their sums), kept as issue 12's anchor: the
            // columns and rule kinds added since are cpdd's own cost.
            return member + """
                SELECT s.code, s.title, s.period, s.length_months, s.anchor, s.required, s.carry_over_max, s.opening_balance, s.pro_rata, coalesce((SELECT string_agg(r.target_kind || ' ' || r.target || ' ' || r.bound || ' ' || r.amount, ',' ORDER BY r.id) FROM scheme_rule r WHERE r.scheme = s.code), '') AS rules, coalesce((SELECT string_agg(k.kind, ',' ORDER BY k.kind) FROM scheme_certificate k WHERE k.scheme = s.code), '') AS certificate_kinds, p.id AS member, p.name AS member_name, p.joined, p.modalities, (SELECT (now() AT TIME ZONE g.time_zone)::date FROM registry g) AS today, coalesce((SELECT string_agg(x.kind || ' ' || x.issued || ' ' || x.expires, ',' ORDER BY x.expires) FROM certificate x WHERE x.practitioner = p.id), '') AS member_certificates FROM practitioner p JOIN scheme s ON s.code = p.scheme WHERE p.id = 'M-' || :m;
                SELECT effective, kind, category, delivery, sum(points) AS points FROM ledger_entry WHERE practitioner = 'M-' || :m AND effective BETWEEN current_date - 365 AND current_date GROUP BY effective, kind, category, delivery;

                """
        case .search:
            return """
                \\set w random(1, 5)
                SELECT c.code, c.provider, c.status, c.current_version, v.title, v.summary, v.points, v.hours, v.category, v.delivery, v.modalities
                FROM course c JOIN course_version v ON v.course = c.code AND v.version = c.current_version,
                     websearch_to_tsquery('english', (ARRAY['anxiety', 'neck', 'sleep', 'ethics', 'injury'])[:w]) AS q
                WHERE c.status = 'published' AND v.search @@ q ORDER BY ts_rank_cd(v.search, q) DESC, c.code LIMIT 10 OFFSET 0;

                """
        case .record:
            // One completion per transaction, as a client without group commit would commit it: the
            // statements cpdd runs for a batch of one (LedgerStore.recordSetBased), each key looked up
            // through its unique index. (Before, this script looked keys up by account name alone,
            // which no index serves since key scopes came: a scan of the ledger per completion,
            // 7 a second at 2,000,000 entries, read at the time as slow commits.)
            return member + """
                \\set k random(1, 1000000000000)
                BEGIN;
                SELECT e.key_scope, e.recorded_by, e.idempotency_key, e.id, e.points, e.request FROM ledger_entry e WHERE e.key_scope = 'registry' AND e.idempotency_key = 'pgb-' || :k
                UNION ALL SELECT e.key_scope, e.recorded_by, e.idempotency_key, e.id, e.points, e.request FROM ledger_entry e WHERE e.key_scope IS NULL AND e.recorded_by = 'pgbench' AND e.idempotency_key = 'pgb-' || :k;
                SELECT id, joined FROM practitioner WHERE id = 'M-' || :m;
                SELECT c.code, c.provider, c.status, c.current_version, v.title, v.summary, v.points, v.hours, v.category, v.delivery, v.modalities FROM course c JOIN course_version v ON v.course = c.code AND v.version = c.current_version WHERE c.code = 'C-2';
                SELECT (now() AT TIME ZONE time_zone)::date FROM registry;
                INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, recorded_by, key_scope, idempotency_key, request)
                VALUES ('M-' || :m, 'completion', 3, '2026-11-01', 'C-2', 1, 'ethics', 'webinar', 'pgbench', 'registry', 'pgb-' || :k, 'completion.record ' || :k);
                COMMIT;

                """
        }
    }

    func runPgbench(_ pgbench: String, script: String) throws -> Double {
        let (status, output) = try ChildProcess.run(
            [pgbench, "-n", "-M", "prepared", "-c", String(connections), "-j", "2", "-T", String(seconds), "-f", script, database],
            timeout: .seconds(seconds + 120))
        guard status == 0, let tps = output.firstMatch(of: /tps = ([0-9.]+)/).flatMap({ Double($0.1) }) else {
            throw ValidationError("pgbench failed:\n\(output)")
        }
        return tps
    }

    static func findPgbench() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let path = "/usr/lib/postgresql/\(version)/bin/pgbench"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw ValidationError("no pgbench under /usr/lib/postgresql; give --pgbench")
    }
}
