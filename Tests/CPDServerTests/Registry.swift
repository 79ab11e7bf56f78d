import AdminClient
import CPDCore
import CPDStore
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import TestSupport

@testable import CPDServer

/// Runs a server on a fresh, migrated database for `body`, which gets the socket path and a
/// connection as the database's owner (which may do what cpdd may not, such as break the ledger).
func withRegistry(
    label: String, socketGroup: String? = nil, poolSize: Int = 4, _ body: @escaping @Sendable (String, PostgresConnection) throws -> Void
) async throws {
    let conninfo = try TestDatabase.fresh(label)
    try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(PostgresConnection(conninfo: conninfo))
    let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: poolSize, sessionSetup: ApplicationRole.sessionSetup))
    let path = try TestDatabase.scratchDirectory(label) + "/cpdd.sock"
    let ready = Locked(false)
    var configuration = AdminServer.Configuration(socketPath: path)
    configuration.socketGroup = socketGroup
    let server = AdminServer(
        configuration: configuration, resolver: .database(RegistryStore(pool: pool)), runner: CommandRunner(store: RegistryStore(pool: pool)),
        ready: { ready.withLock { $0 = true } })
    let group = ServiceGroup(configuration: .init(services: [pool, server], logger: Logger(label: "test")))
    let running = Task { try await group.run() }
    while !ready.value { try await Task.sleep(for: .milliseconds(10)) }
    var failure: Error? = nil
    do {
        try await runBlocking { try body(path, PostgresConnection(conninfo: conninfo)) }
    } catch {
        failure = error
    }
    await group.triggerGracefulShutdown()
    try? await running.value
    if let failure { throw failure }
}

/// Today in UTC, as the tests reckon dates around the registry's today (whose time zone may put it
/// a day either side: tests leave margins of days).
func todayUTC() throws -> Day {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd"
    formatter.timeZone = TimeZone(identifier: "UTC")
    guard let day = Day(parsing: formatter.string(from: Date())) else { throw TestSetupError(description: "today is no day") }
    return day
}

/// Unix accounts made for a test (as root), in a group of their own that may connect to the socket.
enum TestAccounts {
    static func create(_ users: [String], group: String) throws {
        _ = try ChildProcess.run(["/usr/sbin/groupadd", "-f", group])
        for user in users where getpwnam(user) == nil {
            let (status, output) = try ChildProcess.run(["/usr/sbin/useradd", "-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", user])
            guard status == 0 else { throw TestSetupError(description: "useradd \(user): \(output)") }
        }
    }

    static func remove(_ users: [String], group: String) {
        for user in users { _ = try? ChildProcess.run(["/usr/sbin/userdel", user]) }
        _ = try? ChildProcess.run(["/usr/sbin/groupdel", group])
    }
}

/// cpdd as a child process on `database`, once its socket answers; what it printed if it exits first.
func startCpdd(database: String, socket: String, _ extra: [String] = []) throws -> ChildProcess {
    let child = try ChildProcess([Checkout.product("cpdd"), "serve", "--database", database, "--socket", socket, "--log-level", ProcessInfo.processInfo.environment["CPD_TEST_LOG_LEVEL"] ?? "warning"] + extra)
    let start = ContinuousClock.now
    while ContinuousClock.now - start < .seconds(60) {
        if (try? AdminClient(socketPath: socket)) != nil { return child }
        if let status = child.wait(timeout: .zero) { throw TestSetupError(description: "cpdd exited with \(status): \(child.output)") }
        usleep(20_000)
    }
    throw TestSetupError(description: "cpdd did not start: \(child.output)")
}

/// cpdctl copied beside the socket, where every test account can run it (the checkout may sit in a
/// directory they cannot enter).
func cpdctlBeside(_ socket: String) throws -> String {
    let cpdctl = (socket as NSString).deletingLastPathComponent + "/cpdctl"
    try FileManager.default.copyItem(atPath: Checkout.product("cpdctl"), toPath: cpdctl)
    chmod(cpdctl, 0o755)
    return cpdctl
}
