/// The LocalPostgres module: a private PostgreSQL cluster kept in a directory, for cpdd's built-in
/// default database and for tests that need a server of their own (to restart it, say).
///
/// It runs PostgreSQL's own programs (initdb, pg_ctl); it knows nothing of what is stored in the cluster.
/// PostgreSQL refuses to run as root, so when this process is root the server runs as an unprivileged
/// account (`postgres`, which Debian's package creates) and the files belong to it.
import Foundation
import Logging

public struct LocalPostgresError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

public struct LocalPostgresCluster: Sendable {
    /// The cluster's directory: `data/` (the cluster), `run/` (its socket), `postgres.log`.
    public let directory: String
    public let binDirectory: String
    /// Who the server runs as: nil for this process's own user, else an unprivileged account.
    public let serverAccount: UnixAccount?
    /// The database superuser: the name of the Unix user of this process, so that peer authentication
    /// lets this process (and only it, and the server's own account) in without a password.
    public let superuser: String
    /// Extra postgresql.conf settings written at initdb time.
    public let settings: [String: String]
    /// Database roles, besides its own, that this process's Unix user may log in as (peer authentication
    /// through the map in pg_ident.conf): a program that should not work as the superuser logs in as one.
    public let loginRoles: [String]
    private let logger: Logger

    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/run" }
    public var logFile: String { directory + "/postgres.log" }

    /// - Parameters:
    ///   - directory: where the cluster lives; created if missing. Every directory above it must be
    ///     searchable (`x`) by the server's account.
    ///   - serverAccountName: the account to run the server as when this process is root
    ///     (default `$CPD_PG_ACCOUNT`, else `postgres`).
    ///   - loginRoles: see `loginRoles`; the roles themselves are for the caller to create.
    public init(
        directory: String, settings: [String: String] = [:], serverAccountName: String? = nil, loginRoles: [String] = [],
        logger: Logger = Logger(label: "cpd.local-postgres")
    ) throws {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.settings = settings
        self.loginRoles = loginRoles
        self.logger = logger
        self.binDirectory = try Self.findBinDirectory()
        guard let me = UnixAccount(uid: geteuid()) else {
            throw LocalPostgresError("this process's user (uid \(geteuid())) has no name in the password database")
        }
        self.superuser = me.name
        // pg_ident.conf has no quoting that a role name could not break out of; these names come from
        // the program, not from outside, and the superuser's from the password database.
        for name in (loginRoles.isEmpty ? [] : [me.name] + loginRoles) where name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) {
            throw LocalPostgresError("'\(name)' cannot be a role of the private cluster: use ASCII letters, digits, '_', '-' and '.'")
        }
        if loginRoles.contains(me.name) {
            throw LocalPostgresError("the Unix user '\(me.name)' is the private cluster's superuser, so it cannot also be its login role")
        }
        if me.uid == 0 {
            let name = serverAccountName ?? ProcessInfo.processInfo.environment["CPD_PG_ACCOUNT"] ?? "postgres"
            guard let account = UnixAccount(name: name), account.uid != 0 else {
                throw LocalPostgresError(
                    "PostgreSQL refuses to run as root, and there is no unprivileged account '\(name)' to run it as; "
                        + "install the postgresql package (it creates 'postgres') or set CPD_PG_ACCOUNT")
            }
            self.serverAccount = account
        } else {
            self.serverAccount = nil
        }
        let socketPath = socketDirectory + "/.s.PGSQL.5432"
        guard socketPath.utf8.count < 108 else {
            throw LocalPostgresError("the cluster directory \(self.directory) is too deep for a Unix socket path; choose a shorter one")
        }
    }

    /// A libpq conninfo string that reaches this cluster over its Unix socket as `user` (the superuser
    /// unless one of `loginRoles` is named).
    public func conninfo(database: String = "postgres", user: String? = nil) -> String {
        "host=\(Self.quoteConninfo(socketDirectory)) dbname=\(Self.quoteConninfo(database)) user=\(Self.quoteConninfo(user ?? superuser))"
    }

    public var isInitialized: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    // MARK: - Lifecycle

    /// Creates the cluster if it does not exist yet; returns true when it did.
    @discardableResult
    public func initializeIfNeeded() throws -> Bool {
        if isInitialized { return false }
        for path in [directory, socketDirectory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try own(path, mode: 0o700)
        }
        logger.info("creating a private PostgreSQL cluster", metadata: ["directory": "\(directory)"])
        try run(
            "initdb",
            ["-D", dataDirectory, "-U", superuser, "--auth-local=peer", "--auth-host=reject", "--encoding=UTF8",
             "--locale=C.UTF-8", "--no-instructions"])
        var conf = "\n# Written by cpd's LocalPostgres: Unix socket only, in this cluster's own directory.\n"
        var all = ["listen_addresses": "''", "unix_socket_directories": Self.quoteConf(socketDirectory),
                   "unix_socket_permissions": "0700"]
        for (key, value) in settings { all[key] = value }
        for key in all.keys.sorted() { conf += "\(key) = \(all[key]!)\n" }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(conf.utf8))
        return true
    }

    /// True when a server is running on this cluster's data directory.
    public func isRunning() -> Bool {
        (try? run("pg_ctl", ["-D", dataDirectory, "status"], acceptingStatus: [0, 3, 4])) == 0
    }

    /// Starts the server and waits until it accepts connections. A server already running is left as
    /// is, except that it reloads its authentication files if they had to change.
    public func start() throws {
        let changed = try writeAuthentication()
        if isRunning() {
            if changed { try run("pg_ctl", ["-D", dataDirectory, "-s", "reload"]) }
            return
        }
        // setsid: the server gets a session of its own, so a Ctrl-C meant for cpdd does not reach it
        // before cpdd has finished its work and stops it in order.
        try run(
            "pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-s", "start"], viaSetsid: true,
            explain: { "\($0)\n--- last lines of \(logFile):\n\(tail(of: logFile))" })
        logger.info("PostgreSQL started", metadata: ["socket": "\(socketDirectory)"])
    }

    /// Stops the server (fast: open transactions are rolled back) and waits until it has.
    public func stop() throws {
        guard isRunning() else { return }
        try run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "-s", "stop"])
        logger.info("PostgreSQL stopped", metadata: ["directory": "\(directory)"])
    }

    /// Stops the server, if it is running, and removes the whole directory.
    public func destroy() throws {
        try? stop()
        if FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: - Authentication

    /// pg_hba.conf: the Unix socket only (nothing listens on TCP), peer authentication through the
    /// map `local`. initdb's own file said the same without the map; a cluster made before the map
    /// existed gets it at its next start.
    var hostBasedAuthentication: String {
        """
        # Written by cpd's LocalPostgres at each start; changes made here are lost. Only the Unix socket,
        # in a folder that only the server's account may enter; each Unix user is the role of its own name,
        # and may be the roles that pg_ident.conf's map "local" adds.
        local   all           all   peer  map=local
        local   replication   all   peer  map=local
        host    all           all   all   reject

        """
    }

    /// pg_ident.conf: every Unix user is the role of its own name (what plain peer authentication
    /// does), and this process's user may also be each of `loginRoles`.
    var identityMap: String {
        var text = """
            # Written by cpd's LocalPostgres at each start; changes made here are lost.
            # MAPNAME  SYSTEM-USERNAME  PG-USERNAME
            local      /^(.*)$          \\1

            """
        for role in loginRoles { text += "local      \(superuser)  \(role)\n" }
        return text
    }

    /// Writes pg_hba.conf and pg_ident.conf where they differ from what they should be; true if it did.
    func writeAuthentication() throws -> Bool {
        guard isInitialized else { return false }
        var changed = false
        for (name, content) in [("pg_hba.conf", hostBasedAuthentication), ("pg_ident.conf", identityMap)] {
            let path = dataDirectory + "/" + name
            if let current = try? String(contentsOfFile: path, encoding: .utf8), current == content { continue }
            // Rewritten in place: the file keeps its owner (the server's account) and mode.
            let fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw LocalPostgresError("cannot write \(path): \(String(cString: strerror(errno)))") }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            try handle.write(contentsOf: Data(content.utf8))
            try handle.synchronize()
            try handle.close()
            changed = true
        }
        return changed
    }

    // MARK: - Running PostgreSQL's programs

    @discardableResult
    private func run(
        _ program: String, _ arguments: [String], acceptingStatus: Set<Int32> = [0], viaSetsid: Bool = false,
        explain: (String) -> String = { $0 }
    ) throws -> Int32 {
        var command = [binDirectory + "/" + program] + arguments
        if viaSetsid { command = ["/usr/bin/setsid"] + command }
        if let account = serverAccount {
            command = [Self.runuserPath, "-u", account.name, "--"] + command
        }
        // Output goes to a file, not a pipe: a server started by pg_ctl would inherit a pipe and keep
        // it open, and reading it to the end would never finish.
        let outputPath = NSTemporaryDirectory() + "cpd-pg-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        let child = try ChildProcess(command, outputPath: outputPath, environment: ["LC_ALL": "C.UTF-8"])
        let status = child.wait()
        guard acceptingStatus.contains(status) else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw LocalPostgresError(
                explain("\(program) failed (exit \(status)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))"))
        }
        return status
    }

    /// Gives `path` to the server's account with `mode`.
    private func own(_ path: String, mode: mode_t) throws {
        if let account = serverAccount, chown(path, account.uid, account.gid) != 0 {
            throw LocalPostgresError("cannot give \(path) to \(account.name): \(String(cString: strerror(errno)))")
        }
        guard chmod(path, mode) == 0 else {
            throw LocalPostgresError("cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

    static let runuserPath = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"

    /// `$CPD_PG_BINDIR`, else the newest `/usr/lib/postgresql/N/bin` (Debian's layout), else the
    /// directory on PATH that has `initdb`.
    static func findBinDirectory() throws -> String {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["CPD_PG_BINDIR"], !dir.isEmpty { return dir }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where fm.isExecutableFile(atPath: "\(dir)/initdb") {
            return String(dir)
        }
        throw LocalPostgresError("PostgreSQL's server programs (initdb, pg_ctl) were not found: install the postgresql package, or set CPD_PG_BINDIR")
    }

    static func quoteConninfo(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    static func quoteConf(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// Sets close-on-exec on every descriptor above standard error, so that a child (and a server it
/// starts) inherits none of this process's files and sockets. posix_spawn's closefrom action would
/// do it in the child, but glibc declares it only under _GNU_SOURCE, which Swift's import leaves out.
func markDescriptorsCloseOnExec() {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
    for fd in entries.compactMap(Int32.init) where fd > 2 {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
}

private func tail(of path: String, lines: Int = 15) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log)" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}

/// A Unix account from the password database.
public struct UnixAccount: Sendable, Equatable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t

    public init?(name: String) {
        guard let entry = getpwnam(name) else { return nil }
        self.init(entry.pointee)
    }

    public init?(uid: uid_t) {
        guard let entry = getpwuid(uid) else { return nil }
        self.init(entry.pointee)
    }

    private init(_ entry: passwd) {
        self.name = String(cString: entry.pw_name)
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
    }
}
