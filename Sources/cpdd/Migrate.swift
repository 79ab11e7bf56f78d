import ArgumentParser
import CPDServer
import CPDStore
import Foundation
import LocalPostgres
import Logging
import Postgres

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations, each in a transaction, under a lock; then exit.",
        discussion: "Refuses to go on if a migration that was applied has changed since. Run it before starting a new cpdd.")

    @OptionGroup var options: CommonOptions

    @Flag(help: "Only report: exit 1 if migrations are pending, 0 if the schema is up to date.")
    var check = false

    func run() async throws {
        let settings = try options.settings()
        let logger = Logger(label: "cpdd.migrate")
        let migrator = Migrator(set: try MigrationSet(directory: try options.sqlDirectory(settings) + "/migrations"), logger: logger)
        var cluster: LocalPostgresCluster? = nil
        var startedCluster = false
        let conninfo: String
        if let database = settings.database {
            conninfo = database
        } else {
            let local = try Database.privateCluster(settings: settings, logger: logger)
            startedCluster = try await runBlocking { !local.isRunning() }
            cluster = try await Database.startPrivateCluster(settings: settings, logger: logger)
            conninfo = local.conninfo(database: Database.privateDatabaseName)
        }
        let check = self.check
        let outcome: Result<[String], Error>
        do {
            outcome = .success(try await runBlocking {
                let connection = try PostgresConnection(conninfo: conninfo, applicationName: "cpdd migrate")
                if check { return try migrator.status(connection).pending.map(\.fileName) }
                return try migrator.migrate(connection).map(\.fileName)
            })
        } catch {
            outcome = .failure(error)
        }
        if let cluster, startedCluster { try? await runBlocking { try cluster.stop() } }
        let names = try outcome.get()
        if check {
            print(names.isEmpty ? "schema up to date" : "pending: " + names.joined(separator: ", "))
            if !names.isEmpty { throw ExitCode.failure }
        } else {
            print(names.isEmpty ? "schema up to date; nothing to apply" : "applied: " + names.joined(separator: ", "))
        }
    }
}
