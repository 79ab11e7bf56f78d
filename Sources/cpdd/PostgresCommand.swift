import ArgumentParser
import CPDServer
import Foundation
import LocalPostgres
import Logging

/// The private cluster by hand: for the test command, and for an admin who wants psql on it.
struct PostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "Manage the built-in private PostgreSQL cluster under <state-dir>/postgres.",
        subcommands: [Start.self, Stop.self, Status.self, Conninfo.self, Destroy.self])

    struct ClusterOptions: ParsableArguments {
        @OptionGroup var options: CommonOptions

        @Option(name: .customLong("setting"), help: ArgumentHelp("A postgresql.conf setting for a new cluster, as key=value (repeatable).", valueName: "key=value"))
        var settings: [String] = []

        func cluster() throws -> LocalPostgresCluster {
            let resolved = try options.settings()
            var conf: [String: String] = [:]
            for setting in settings {
                let parts = setting.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--setting takes key=value, not '\(setting)'") }
                conf[String(parts[0])] = String(parts[1])
            }
            return try Database.privateCluster(settings: resolved, postgresSettings: conf)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the cluster if needed, and start it.")
        @OptionGroup var cluster: ClusterOptions
        func run() async throws {
            let cluster = try cluster.cluster()
            try await runBlocking {
                try FileManager.default.createDirectory(atPath: (cluster.directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try cluster.initializeIfNeeded()
                try cluster.start()
            }
            print(cluster.conninfo())
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the cluster (fast shutdown).")
        @OptionGroup var cluster: ClusterOptions
        func run() async throws {
            let cluster = try cluster.cluster()
            try await runBlocking { try cluster.stop() }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exit 0 and say 'running' if the cluster runs, else exit 3.")
        @OptionGroup var cluster: ClusterOptions
        func run() async throws {
            let cluster = try cluster.cluster()
            let running = try await runBlocking { cluster.isRunning() }
            print(running ? "running" : "stopped")
            if !running { throw ExitCode(3) }
        }
    }

    struct Conninfo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the conninfo string for psql or CPD_DATABASE.")
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "Database name.") var dbname = "cpd"
        func run() async throws {
            print(try cluster.cluster().conninfo(database: dbname))
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the cluster and delete it, data and all.")
        @OptionGroup var cluster: ClusterOptions
        func run() async throws {
            let cluster = try cluster.cluster()
            try await runBlocking { try cluster.destroy() }
        }
    }
}
