import ArgumentParser
import CPDServer
import CPDStore
import Foundation
import LocalPostgres
import Logging
import Postgres
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: serve the admin protocol on the Unix socket until SIGTERM or SIGINT.")

    @OptionGroup var options: CommonOptions

    @Option(help: ArgumentHelp("Most database connections (env CPD_POOL_SIZE; default 8).", valueName: "n"))
    var poolSize: Int?

    func run() async throws {
        var settings = try options.settings()
        if let poolSize {
            guard (1...200).contains(poolSize) else { throw ValidationError("--pool-size is from 1 to 200") }
            settings.poolSize = poolSize
        }
        let logger = Logger(label: "cpdd")
        let sql = try options.sqlDirectory(settings)
        let database = try await Database.open(settings: settings, sqlDirectory: sql, logger: logger, poolSize: settings.poolSize)

        // The nightly report reads there when it has a database of its own (a replica).
        let reportDatabase = settings.reportDatabase.map {
            PostgresPool.Configuration(conninfo: $0, sessionSetup: ApplicationRole.sessionSetup)
        }

        var serverConfiguration = AdminServer.Configuration(socketPath: settings.socketPath)
        serverConfiguration.socketGroup = settings.socketGroup
        serverConfiguration.maxConnections = settings.maxConnections
        serverConfiguration.maxConnectionsPerAccount = settings.maxConnectionsPerAccount
        serverConfiguration.idleTimeout = .seconds(settings.idleTimeoutSeconds)
        serverConfiguration.outputSoftLimit = settings.outputSoftLimit
        serverConfiguration.outputHardLimit = settings.outputHardLimit
        serverConfiguration.outputStallTimeout = .seconds(settings.outputStallTimeoutSeconds)
        let notifySocket = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"]
        let socketPath = settings.socketPath
        let store = RegistryStore(pool: database.pool, reportDatabase: reportDatabase, longReadConnections: settings.longReadConnections)
        let server = AdminServer(
            configuration: serverConfiguration, resolver: .database(store),
            runner: CommandRunner(store: store),
            logger: Logger(label: "cpd.server"),
            ready: { SystemdNotify.send("READY=1\nSTATUS=serving on \(socketPath)", notifySocket: notifySocket) })
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: database.pool), .init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // In-flight requests get this long to finish after SIGTERM; then they are cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            logger.error("cpdd stopped on an error", metadata: ["error": "\(error)"])
            store.close()
            await database.close()
            throw ExitCode.failure
        }
        SystemdNotify.send("STOPPING=1", notifySocket: notifySocket)
        // Every connection has answered what it read: the batched reads' connections go too.
        store.close()
        await database.close()
        logger.notice("cpdd stopped")
    }
}

/// The database cpdd works on: the configured one, or the private cluster it runs itself.
struct Database {
    let pool: PostgresPool
    let cluster: LocalPostgresCluster?
    let logger: Logger

    /// Name of the database cpdd creates in its private cluster.
    static let privateDatabaseName = "cpd"

    /// A configured database must already be migrated (`cpdd migrate`); the private one is created,
    /// migrated and seeded with demo data here.
    static func open(settings: Settings, sqlDirectory: String, logger: Logger, poolSize: Int) async throws -> Database {
        let schema = Migrator(set: try MigrationSet(directory: sqlDirectory + "/migrations"))
        var cluster: LocalPostgresCluster? = nil
        let conninfo: String
        if let configured = settings.database {
            conninfo = configured
        } else {
            let local = try await startPrivateCluster(settings: settings, logger: logger)
            cluster = local
            // The superuser (cpdd's own Unix user) owns the database and migrates it; cpdd serves as
            // cpd_login, which is not a superuser and owns nothing, as with a configured database.
            conninfo = local.conninfo(database: privateDatabaseName, user: ApplicationRole.privateLogin)
            let ownerConninfo = local.conninfo(database: privateDatabaseName)
            do {
                // Migrations and demo data run as the database owner, on a connection of their own.
                try await runBlocking {
                    let owner = try PostgresConnection(conninfo: ownerConninfo, applicationName: "cpdd migrate")
                    try schema.migrate(owner)
                    let demo = Migrator(set: try MigrationSet(directory: sqlDirectory + "/demo"), table: .demoSeeds)
                    let seeded = try demo.migrate(owner)
                    if !seeded.isEmpty { logger.info("seeded demo data", metadata: ["files": "\(seeded.map(\.fileName))"]) }
                    try ApplicationRole.preparePrivateLogin(owner)
                }
            } catch {
                try? await runBlocking { try local.stop() }
                throw Failure(description: "preparing the private database failed: \(error)")
            }
        }
        // Everything else works as the application role, which cannot rewrite the ledger.
        let pool = PostgresPool(configuration: .init(
            conninfo: conninfo, maxConnections: poolSize, sessionSetup: ApplicationRole.sessionSetup))
        do {
            try await runBlocking { try schema.verifyUpToDate(PostgresConnection(conninfo: conninfo, applicationName: "cpdd")) }
            try await pool.withConnection { try $0.ping() }
        } catch {
            await pool.close()
            if let cluster { try? await runBlocking { try cluster.stop() } }
            if let error = error as? PostgresError, error.statement == ApplicationRole.sessionSetup {
                throw Failure(description: "cpdd works as the role \(ApplicationRole.name): grant it to the login role (GRANT \(ApplicationRole.name) TO <login>), after `cpdd migrate` has created it; \(error)")
            }
            throw Failure(description: "\(error)")
        }
        return Database(pool: pool, cluster: cluster, logger: logger)
    }

    /// The private cluster under the state directory. Its superuser is this process's Unix user, which
    /// may also log in as `cpd_login` (see `ApplicationRole.privateLogin`).
    static func privateCluster(
        settings: Settings, postgresSettings: [String: String] = [:], logger: Logger = Logger(label: "cpd.local-postgres")
    ) throws -> LocalPostgresCluster {
        try LocalPostgresCluster(
            directory: settings.stateDirectory + "/postgres", settings: postgresSettings, loginRoles: [ApplicationRole.privateLogin],
            logger: logger)
    }

    /// Creates (first run), starts and opens the private cluster, with its `cpd` database.
    static func startPrivateCluster(settings: Settings, logger: Logger) async throws -> LocalPostgresCluster {
        try await runBlocking {
            let cluster = try privateCluster(settings: settings, logger: logger)
            try prepareStateDirectory(settings.stateDirectory, for: cluster)
            try cluster.initializeIfNeeded()
            try cluster.start()
            let maintenance = try PostgresConnection(conninfo: cluster.conninfo())
            let exists = try maintenance.query("SELECT 1 FROM pg_database WHERE datname = $1", [privateDatabaseName])
            if exists.isEmpty {
                // A database name is an identifier, not a value; this one is a constant.
                try maintenance.execute(script: "CREATE DATABASE \(privateDatabaseName) TEMPLATE template0 ENCODING 'UTF8'")
                logger.info("created the private database", metadata: ["name": "\(privateDatabaseName)"])
            }
            return cluster
        }
    }

    /// The state directory holds the socket (so it is closed to others: 0750) and the private cluster;
    /// when the server runs as another account, the directory's group is that account's, so the server
    /// can reach its own files and nobody else can.
    static func prepareStateDirectory(_ path: String, for cluster: LocalPostgresCluster) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: path) else { return }
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        if let account = cluster.serverAccount {
            guard chown(path, geteuid(), account.gid) == 0 else {
                throw Failure(description: "cannot give \(path) to group \(account.gid): \(String(cString: strerror(errno)))")
            }
        }
    }

    func close() async {
        await pool.close()
        if let cluster {
            do {
                try await runBlocking { try cluster.stop() }
            } catch {
                logger.error("stopping the private PostgreSQL failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
