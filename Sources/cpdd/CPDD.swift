/// cpdd: the CPD registry daemon. `serve` runs the admin socket; `migrate` brings the database schema
/// up to date; `postgres` manages the built-in private PostgreSQL cluster.
import ArgumentParser
import CPDServer
import Foundation
import Logging

@main
struct CPDD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpdd",
        abstract: "The CPD registry daemon.",
        discussion: """
            With no database configured, cpdd keeps a private PostgreSQL cluster under its state directory \
            (./.cpd from a checkout), creates, migrates and seeds it with demo data on first run, and stops \
            it when cpdd stops.
            """,
        version: CPDVersion.current,
        subcommands: [Serve.self, Migrate.self, PostgresCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand takes. Each overrides its environment variable, which overrides the
/// configuration file.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration file (env CPD_CONFIG; /etc/cpd/cpdd.conf when installed).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Admin socket path (env CPD_SOCKET; default <state-dir>/cpdd.sock, /run/cpd/cpdd.sock when installed).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Group of the admin socket, whose members may connect (env CPD_SOCKET_GROUP).", valueName: "group"))
    var socketGroup: String?

    @Option(help: ArgumentHelp("libpq conninfo or URI (env CPD_DATABASE); none: the built-in private cluster.", valueName: "conninfo"))
    var database: String?

    @Option(help: ArgumentHelp("libpq conninfo the nightly report reads from, e.g. a read replica (env CPD_REPORT_DATABASE); none: the database.", valueName: "conninfo"))
    var reportDatabase: String?

    @Option(help: ArgumentHelp("State directory (env CPD_STATE_DIR; default ./.cpd, /var/lib/cpd when installed).", valueName: "path"))
    var stateDir: String?

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (env CPD_LOG_LEVEL).", valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp("Directory holding migrations/ and demo/ (env CPD_SQL_DIR; default <prefix>/share/cpd/sql when installed, the checkout's sql/ otherwise).", valueName: "path"))
    var sqlDir: String?

    @Option(help: ArgumentHelp("Most connections at once (env CPD_MAX_CONNECTIONS; default 1024).", valueName: "n"))
    var maxConnections: Int?

    @Option(help: ArgumentHelp("Most connections at once per Unix account (env CPD_MAX_CONNECTIONS_PER_ACCOUNT; default 64).", valueName: "n"))
    var maxConnectionsPerAccount: Int?

    @Option(help: ArgumentHelp("Seconds of silence before a connection is closed (env CPD_IDLE_TIMEOUT; default 900).", valueName: "seconds"))
    var idleTimeout: Int?

    @Option(help: ArgumentHelp("Bytes of unwritten answers per connection past which cpdd stops reading its requests (env CPD_OUTPUT_SOFT_LIMIT; default 1048576).", valueName: "bytes"))
    var outputSoftLimit: Int?

    @Option(help: ArgumentHelp("Bytes of unwritten answers per connection past which cpdd closes it (env CPD_OUTPUT_HARD_LIMIT; default 16777216).", valueName: "bytes"))
    var outputHardLimit: Int?

    @Option(help: ArgumentHelp("Seconds a connection may stay over the soft limit before cpdd closes it (env CPD_OUTPUT_STALL_TIMEOUT; default 60).", valueName: "seconds"))
    var outputStallTimeout: Int?

    @Option(help: ArgumentHelp("Database connections of their own for report.nightly and ledger.verify (env CPD_LONG_READ_CONNECTIONS; default 4).", valueName: "n"))
    var longReadConnections: Int?

    /// The settings, with logging set up to stderr at their level.
    func settings() throws -> Settings {
        var flags: [String: String] = [:]
        flags["socket"] = socket
        flags["socket_group"] = socketGroup
        flags["database"] = database
        flags["report_database"] = reportDatabase
        flags["state_dir"] = stateDir
        flags["log_level"] = logLevel
        flags["sql_dir"] = sqlDir
        flags["max_connections"] = maxConnections.map(String.init)
        flags["max_connections_per_account"] = maxConnectionsPerAccount.map(String.init)
        flags["idle_timeout"] = idleTimeout.map(String.init)
        flags["output_soft_limit"] = outputSoftLimit.map(String.init)
        flags["output_hard_limit"] = outputHardLimit.map(String.init)
        flags["output_stall_timeout"] = outputStallTimeout.map(String.init)
        flags["long_read_connections"] = longReadConnections.map(String.init)
        let settings = try Settings.resolve(
            flags: flags, configFlag: config, environment: ProcessInfo.processInfo.environment,
            executablePath: Self.executablePath, workingDirectory: FileManager.default.currentDirectoryPath)
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return settings
    }

    func sqlDirectory(_ settings: Settings) throws -> String {
        try settings.locateSQLDirectory(executablePath: Self.executablePath)
    }

    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Ends the command with a message on stderr and a non-zero exit, without a stack of error types.
struct Failure: Error, CustomStringConvertible {
    let description: String
}
