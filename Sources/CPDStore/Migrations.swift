/// The CPDStore module: the SQL that maps the domain onto tables, and the runner that brings a
/// database's schema up to date. It speaks to PostgreSQL only through the Postgres module and knows
/// nothing of sockets or the admin protocol.
import Foundation
import Logging
import Postgres

/// One numbered SQL file: `sql/migrations/0001_registry.sql` is version 1, named `registry`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public var fileName: String { Migration.paddedVersion(version) + "_" + name + ".sql" }

    static func paddedVersion(_ version: Int) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Files on disk are not yet applied: run `cpdd migrate`.
        case behind
        /// An applied file's content is not what was applied.
        case changed
        /// The database has a version this build has no file for (a newer cpdd migrated it).
        case unknownVersion
        /// The directory or a file name is wrong.
        case badSource
    }
    public let kind: Kind
    public let description: String
}

/// The migrations in a directory, ordered by version.
public struct MigrationSet: Sendable {
    public let migrations: [Migration]
    public let directory: String

    /// Reads `NNNN_name.sql` files. Any other `.sql` file, or two files with one number, is an error:
    /// a file that is silently skipped is a schema change that silently never happens.
    public init(directory: String) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError(kind: .badSource, description: "cannot read the migrations directory \(directory): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0,
                parts[1].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                throw MigrationError(kind: .badSource, description: "\(directory)/\(file): a migration is named NNNN_lower_case_name.sql")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError(kind: .badSource, description: "\(file) and \(clash.fileName) have the same number")
            }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.directory = directory
    }

    public init(migrations: [Migration], directory: String = "<memory>") {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.directory = directory
    }
}

/// Applies migrations and checks that a database is up to date. The same runner, with another
/// table, applies demo data to the built-in private database.
public struct Migrator: Sendable {
    public let set: MigrationSet
    /// The bookkeeping table; one of two fixed names, since it is an identifier in SQL text.
    public let table: Table
    private let logger: Logger

    public enum Table: String, Sendable {
        case schemaMigrations = "schema_migrations"
        case demoSeeds = "demo_seeds"
    }

    /// The advisory lock that keeps two cpdd processes from migrating at once (`cpd` `mig` in ASCII).
    static let lockKey: Int64 = 0x6370_6400_6D69_67

    public init(set: MigrationSet, table: Table = .schemaMigrations, logger: Logger = Logger(label: "cpd.migrate")) {
        self.set = set
        self.table = table
        self.logger = logger
    }

    public struct Status: Sendable {
        public var applied: [Int] = []
        public var pending: [Migration] = []
    }

    /// Compares the database with the files; throws if an applied file changed or is unknown.
    public func status(_ connection: PostgresConnection) throws -> Status {
        // Reading needs no privilege to create: a database with no bookkeeping table has nothing applied.
        let exists: Bool = try connection.query("SELECT to_regclass($1) IS NOT NULL", [table.rawValue])[0][0]
        let rows = exists ? try connection.query("SELECT version, name, checksum FROM \(table.rawValue) ORDER BY version").rows : []
        var status = Status()
        var appliedChecksums: [Int: (String, String)] = [:]
        for row in rows {
            let version: Int = try row["version"]
            appliedChecksums[version] = (try row["name"], try row["checksum"])
            status.applied.append(version)
        }
        for version in status.applied where !set.migrations.contains(where: { $0.version == version }) {
            let name = appliedChecksums[version]?.0 ?? "?"
            throw MigrationError(
                kind: .unknownVersion,
                description: "the database has migration \(Migration.paddedVersion(version))_\(name), which \(set.directory) does not: it was migrated by a newer cpdd")
        }
        for migration in set.migrations {
            if let (_, recorded) = appliedChecksums[migration.version] {
                let current = try checksum(of: migration, connection)
                guard current == recorded else {
                    throw MigrationError(
                        kind: .changed,
                        description: "\(migration.fileName) was changed after it was applied (checksum \(recorded.prefix(12))… then, \(current.prefix(12))… now); "
                            + "never edit an applied migration: restore it and add a new one")
                }
            } else {
                status.pending.append(migration)
            }
        }
        return status
    }

    /// Throws `.behind` unless every migration is applied, unchanged.
    public func verifyUpToDate(_ connection: PostgresConnection) throws {
        let status = try status(connection)
        guard status.pending.isEmpty else {
            throw MigrationError(
                kind: .behind,
                description: "the database schema is behind this cpdd (pending: \(status.pending.map(\.fileName).joined(separator: ", "))); run `cpdd migrate`")
        }
    }

    /// Applies the pending migrations in order, each in its own transaction, under an advisory lock so
    /// that two processes cannot apply the same file. Returns what it applied.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [Migration] {
        try connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        try ensureTable(connection)
        // Read under the lock: another process may have applied some while we waited.
        let pending = try status(connection).pending
        for migration in pending {
            let started = ContinuousClock.now
            let sum = try checksum(of: migration, connection)
            try connection.withTransaction(retry: .never) { c in
                try c.execute(script: migration.sql)
                try c.query(
                    "INSERT INTO \(table.rawValue) (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, sum])
            }
            logger.info("applied \(migration.fileName)", metadata: ["table": "\(table.rawValue)", "took": "\(ContinuousClock.now - started)"])
        }
        return pending
    }

    private func ensureTable(_ connection: PostgresConnection) throws {
        try connection.execute(script: """
            CREATE TABLE IF NOT EXISTS \(table.rawValue) (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    /// SHA-256 of the file's bytes, computed by the server so this build needs no crypto library.
    private func checksum(of migration: Migration, _ connection: PostgresConnection) throws -> String {
        try connection.query("SELECT encode(sha256($1), 'hex')", [Array(migration.sql.utf8)])[0][0]
    }
}

/// The role cpdd works as once connected: it can read and append, but not rewrite the ledger.
public enum ApplicationRole {
    public static let name = "cpd_app"
    public static let sessionSetup = "SET ROLE cpd_app"
    /// For the connections that append to the ledger in implicit transactions (group commit's): the
    /// append trigger works, and insists on, READ COMMITTED, whatever default a DBA has set for the
    /// database or the role.
    public static let appendSessionSetup = sessionSetup + "; SET default_transaction_isolation = 'read committed'"

    /// The role cpdd logs in as on its built-in private cluster, whose superuser is cpdd's own Unix
    /// user: a member of `cpd_app` and nothing more (not a superuser, owner of nothing), as the login
    /// role of a configured database should be.
    public static let privateLogin = "cpd_login"

    /// Creates `cpd_login` if it is missing, puts its attributes right if someone changed them, and
    /// makes it a member of `cpd_app`. Run by the owner, after the migrations (which create `cpd_app`);
    /// safe to run at every start. The names are constants of this file, not values from outside.
    public static func preparePrivateLogin(_ owner: PostgresConnection) throws {
        try owner.execute(script: """
            DO $$
            BEGIN
                CREATE ROLE \(privateLogin) LOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- made at an earlier start
            END
            $$;
            ALTER ROLE \(privateLogin) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
            GRANT \(name) TO \(privateLogin);
            """)
    }
}
