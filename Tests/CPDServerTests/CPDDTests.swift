import AdminClient
import Foundation
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// cpdd as a user runs it: the built binary, as a child process.
@Suite(.serialized) struct CPDDTests {
    let cpdd = Checkout.product("cpdd")

    func waitForSocket(_ path: String, _ child: ChildProcess, timeout: Duration = .seconds(90)) throws {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < timeout {
            if FileManager.default.fileExists(atPath: path), (try? AdminClient(socketPath: path)) != nil { return }
            if let status = child.wait(timeout: .zero) {
                throw TestSetupError(description: "cpdd exited with \(status) before its socket appeared:\n\(child.output)")
            }
            usleep(50_000)
        }
        throw TestSetupError(description: "no socket at \(path) after \(timeout):\n\(child.output)")
    }

    @Test func withNoDatabaseConfiguredCpddRunsItsOwnPostgresAndStopsItOnSIGTERM() async throws {
        let state = try TestDatabase.scratchDirectory("cpdd") + "/state"
        defer { _ = try? ChildProcess.run([cpdd, "postgres", "destroy", "--state-dir", state]) }
        try await runBlocking {
            let child = try ChildProcess([cpdd, "serve", "--state-dir", state])
            defer { child.terminate() }
            try waitForSocket(state + "/cpdd.sock", child)
            let client = try AdminClient(socketPath: state + "/cpdd.sock")
            #expect(client.greeting.hasPrefix("OK cpdd \(CPDVersion.current) principal="))
            #expect(try client.request("ping").final == "OK pong")

            child.signal(SIGTERM)
            #expect(child.wait(timeout: .seconds(30)) == 0, "\(child.output)")
            #expect(!FileManager.default.fileExists(atPath: state + "/cpdd.sock"), "the socket is removed")
            let (status, said) = try ChildProcess.run([cpdd, "postgres", "status", "--state-dir", state])
            #expect(status == 3 && said.contains("stopped"), "the private PostgreSQL is stopped too")
            #expect(child.output.contains("seeded demo data"))
            var info = stat()
            #expect(stat(state, &info) == 0 && info.st_mode & 0o777 == 0o750, "the state directory is closed to others")
        }
    }

    @Test func onItsOwnPostgresCpddLogsInAsARoleThatIsNoSuperuserAndOwnsNothing() async throws {
        let state = try TestDatabase.scratchDirectory("login") + "/state"
        defer { _ = try? ChildProcess.run([cpdd, "postgres", "destroy", "--state-dir", state]) }
        try await runBlocking {
            let child = try ChildProcess([cpdd, "serve", "--state-dir", state, "--pool-size", "3"])
            defer { child.terminate() }
            try waitForSocket(state + "/cpdd.sock", child)
            let client = try AdminClient(socketPath: state + "/cpdd.sock")
            #expect(try client.request("ping").final == "OK pong")
            let adjusted = try client.request("entry.adjust practitioner=P-1001 points=1.50 reason=\"login role\" key=login-1")
            #expect(adjusted.isOK, "\(adjusted.final)")
            let points = try client.request("points practitioner=P-1001")
            #expect(points.isOK && points.data.contains { $0.contains("kind=summary") }, "\(points)")

            // Looked at as the cluster's superuser: who are the sessions of cpdd's pool?
            let (_, printed) = try ChildProcess.run([cpdd, "postgres", "conninfo", "--state-dir", state])
            let conninfo = printed.split(separator: "\n").last.map(String.init) ?? ""
            let superuser = try PostgresConnection(conninfo: conninfo)
            let sessions = try superuser.query("""
                SELECT DISTINCT usename::text FROM pg_stat_activity
                WHERE datname = 'cpd' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                """).map { row -> String in try row[0] }
            #expect(sessions == ["cpd_login"], "\(sessions)")
            let attributes = try superuser.query(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = $1", ["cpd_login"])
            #expect(attributes.count == 1)
            for row in attributes {
                let flags: [Bool] = [try row[0], try row[1], try row[2], try row[3]]
                #expect(flags == [false, false, false, false], "not a superuser, and no way to become one")
            }
            let owned = try superuser.query("""
                SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                     + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
                     + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
                     + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)
                     + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)
                     + (SELECT count(*) FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = r.oid AND deptype = 'o')
                FROM pg_roles r WHERE r.rolname = $1
                """, ["cpd_login"]).map { row -> Int in try row[0] }
            #expect(owned == [0], "cpd_login exists and owns nothing")
            let ledgerOwner = try superuser.query("SELECT tableowner::text FROM pg_tables WHERE tablename = 'ledger_entry'")
                .map { row -> String in try row[0] }
            #expect(ledgerOwner.count == 1 && !ledgerOwner.contains("cpd_login") && !ledgerOwner.contains("cpd_app"))

            child.signal(SIGTERM)
            #expect(child.wait(timeout: .seconds(30)) == 0, "\(child.output)")
        }
    }

    @Test func aDatabaseThatIsBehindIsRefusedUntilMigrated() async throws {
        let database = try TestDatabase.fresh("behind")
        let socket = try TestDatabase.scratchDirectory("behind") + "/cpdd.sock"
        try await runBlocking {
            let (refused, why) = try ChildProcess.run([cpdd, "serve", "--database", database, "--socket", socket])
            #expect(refused != 0)
            #expect(why.contains("run `cpdd migrate`"), "\(why)")
            #expect(!FileManager.default.fileExists(atPath: socket))

            let (pending, report) = try ChildProcess.run([cpdd, "migrate", "--check", "--database", database])
            #expect(pending == 1 && report.contains("0001_registry.sql"), "\(report)")
            let (migrated, applied) = try ChildProcess.run([cpdd, "migrate", "--database", database])
            #expect(migrated == 0 && applied.contains("applied: 0001_registry.sql"), "\(applied)")
            let (current, _) = try ChildProcess.run([cpdd, "migrate", "--check", "--database", database])
            #expect(current == 0)

            let child = try ChildProcess([cpdd, "serve", "--database", database, "--socket", socket])
            defer { child.terminate() }
            try waitForSocket(socket, child)
            #expect(try AdminClient(socketPath: socket).request("ping").final == "OK pong")
            child.signal(SIGINT)
            #expect(child.wait(timeout: .seconds(30)) == 0, "\(child.output)")
        }
    }

    @Test func readinessIsSentToSystemdsNotifySocket() async throws {
        let database = try TestDatabase.fresh("notify")
        let directory = try TestDatabase.scratchDirectory("notify")
        try await runBlocking {
            let (migrated, _) = try ChildProcess.run([cpdd, "migrate", "--database", database])
            #expect(migrated == 0)
            // What systemd does: a datagram socket named in NOTIFY_SOCKET.
            let path = directory + "/notify"
            let fd = boundUnixSocket(at: path, type: Int32(SOCK_DGRAM.rawValue))
            defer { close(fd) }
            #expect(fd >= 0)
            var timeout = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let child = try ChildProcess([cpdd, "serve", "--database", database, "--socket", directory + "/cpdd.sock"], environment: ["NOTIFY_SOCKET": path])
            defer { child.terminate() }
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            let message = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
            #expect(message.hasPrefix("READY=1\n"), "\(message) \(child.output)")
            #expect(try AdminClient(socketPath: directory + "/cpdd.sock").request("ping").final == "OK pong", "ready means ready")
            child.signal(SIGTERM)
            #expect(child.wait(timeout: .seconds(30)) == 0)
        }
    }

    @Test func anInstalledCpddUsesTheInstalledMigrationsWhateverTheWorkingDirectoryHolds() async throws {
        let database = try TestDatabase.fresh("installed")
        let root = try TestDatabase.scratchDirectory("installed")
        let fm = FileManager.default
        // <root>/usr/bin/cpdd with <root>/usr/share/cpd/sql, as deploy/install.sh --root lays them out.
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/share/cpd/sql", withIntermediateDirectories: true)
        try fm.copyItem(atPath: cpdd, toPath: root + "/usr/bin/cpdd")
        try fm.copyItem(atPath: Checkout.root + "/sql/migrations", toPath: root + "/usr/share/cpd/sql/migrations")
        // A working directory with a sql/ of its own, whose extra migration must never run.
        let work = root + "/work/deeper"
        try fm.createDirectory(atPath: root + "/work/sql", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Checkout.root + "/sql/migrations", toPath: root + "/work/sql/migrations")
        try "DROP TABLE ledger_entry;\n".write(toFile: root + "/work/sql/migrations/9999_decoy.sql", atomically: true, encoding: .utf8)
        try await runBlocking {
            let inWork = ["/usr/bin/env", "-C", work, root + "/usr/bin/cpdd"]
            let (migrated, applied) = try ChildProcess.run(inWork + ["migrate", "--database", database])
            #expect(migrated == 0 && applied.contains("0001_registry.sql") && !applied.contains("9999"), "\(applied)")
            let (current, said) = try ChildProcess.run(inWork + ["migrate", "--check", "--database", database])
            #expect(current == 0 && said.contains("schema up to date"), "\(said)")
            // Without its installed SQL it stops, rather than look anywhere else.
            try fm.removeItem(atPath: root + "/usr/share/cpd/sql/migrations")
            let (missing, why) = try ChildProcess.run(inWork + ["migrate", "--check", "--database", database])
            #expect(missing != 0 && why.contains(root + "/usr/share/cpd/sql"), "\(why)")
        }
    }

    @Test func versionAndHelpAnswerWithoutADatabase() throws {
        let (status, version) = try ChildProcess.run([cpdd, "--version"])
        #expect(status == 0 && version.trimmingCharacters(in: .whitespacesAndNewlines) == CPDVersion.current)
        for command in [["--help"], ["serve", "--help"], ["migrate", "--help"], ["postgres", "--help"]] {
            let (helpStatus, help) = try ChildProcess.run([cpdd] + command)
            #expect(helpStatus == 0 && help.contains("USAGE"), "\(command)")
        }
    }
}

@Suite struct SettingsTests {
    func resolve(flags: [String: String] = [:], environment: [String: String] = [:], config: String? = nil,
                 executable: String = "/src/cpd/.build/debug/cpdd") throws -> Settings {
        try Settings.resolve(flags: flags, configFlag: config, environment: environment, executablePath: executable, workingDirectory: "/src/cpd")
    }

    @Test func aCheckoutDefaultsToDotCpd() throws {
        let settings = try resolve()
        #expect(settings.database == nil)
        #expect(settings.stateDirectory == "/src/cpd/.cpd")
        #expect(settings.socketPath == "/src/cpd/.cpd/cpdd.sock")
        #expect(settings.logLevel == .info)
    }

    @Test func anInstalledCpddDefaultsToRunAndVarLib() throws {
        let settings = try resolve(executable: "/usr/bin/cpdd")
        #expect(settings.socketPath == "/run/cpd/cpdd.sock")
        #expect(settings.stateDirectory == "/var/lib/cpd")
    }

    @Test func aFlagBeatsTheEnvironmentWhichBeatsTheFile() throws {
        let file = try TestDatabase.scratchDirectory("conf") + "/cpdd.conf"
        try "# comment\ndatabase = \"host=/file\"\nsocket=/file.sock\nlog_level = debug\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try resolve(config: file)
        #expect(fromFile.database == "host=/file" && fromFile.socketPath == "/file.sock" && fromFile.logLevel == .debug)
        let fromEnvironment = try resolve(environment: ["CPD_DATABASE": "host=/env", "CPD_CONFIG": file])
        #expect(fromEnvironment.database == "host=/env" && fromEnvironment.socketPath == "/file.sock")
        let fromFlag = try resolve(flags: ["database": "host=/flag"], environment: ["CPD_DATABASE": "host=/env"], config: file)
        #expect(fromFlag.database == "host=/flag")
    }

    @Test func devNullAsTheConfigurationFileMeansNoSettingsFromAFile() throws {
        let settings = try resolve(config: "/dev/null", executable: "/usr/bin/cpdd")
        #expect(settings.database == nil && settings.socketPath == "/run/cpd/cpdd.sock")
    }

    @Test func theReportDatabaseHasItsOwnSetting() throws {
        #expect(try resolve().reportDatabase == nil)
        #expect(try resolve(environment: ["CPD_REPORT_DATABASE": "host=replica"]).reportDatabase == "host=replica")
        #expect(try resolve(flags: ["report_database": "host=flag"], environment: ["CPD_REPORT_DATABASE": "host=replica"]).reportDatabase == "host=flag")
    }

    @Test func anInstalledCpddReadsOnlyItsPrefixsSQL() {
        #expect(Settings.sqlDirectoryCandidates(executablePath: "/usr/bin/cpdd") == ["/usr/share/cpd/sql"])
        #expect(Settings.sqlDirectoryCandidates(executablePath: "/usr/local/sbin/cpdd") == ["/usr/local/share/cpd/sql"])
        #expect(Settings.sqlDirectoryCandidates(executablePath: "/opt/cpd/bin/cpdd") == ["/opt/cpd/share/cpd/sql"])
        #expect(Settings.sqlDirectoryCandidates(executablePath: "/usr/lib/cpd/cpdd") == ["/usr/share/cpd/sql"])
    }

    @Test func aCheckoutsCpddReadsTheSQLAboveItAndNeverTheWorkingDirectorys() {
        let candidates = Settings.sqlDirectoryCandidates(executablePath: "/src/cpd/.build/x86_64-unknown-linux-gnu/debug/cpdd")
        #expect(candidates.first == "/src/cpd/.build/x86_64-unknown-linux-gnu/debug/sql")
        #expect(candidates.contains("/src/cpd/sql"))
        #expect(candidates.allSatisfy { $0.hasPrefix("/src/") }, "only folders above the executable: \(candidates)")
        #expect(!candidates.contains(Settings.installedSQLDirectory))
    }

    @Test func theSQLSettingWinsOverTheSearch() throws {
        #expect(try resolve(flags: ["sql_dir": "here/sql"], executable: "/usr/bin/cpdd").locateSQLDirectory(executablePath: "/usr/bin/cpdd") == "/src/cpd/here/sql")
    }

    @Test func aMisspeltSettingIsAnError() throws {
        let file = try TestDatabase.scratchDirectory("conf") + "/cpdd.conf"
        try "databse = x\n".write(toFile: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: SettingsError.self) { try resolve(config: file) }
        #expect(error?.description.contains("unknown setting 'databse'") == true)
        #expect(throws: SettingsError.self) { try resolve(flags: ["log_level": "loud"]) }
    }
}
