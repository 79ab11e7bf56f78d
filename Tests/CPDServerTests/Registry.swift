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
        configuration: configuration, resolver: .database(pool), runner: CommandRunner(pool: pool),
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
