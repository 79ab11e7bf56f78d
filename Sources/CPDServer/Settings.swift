import AdminProtocol
import Foundation
import Logging

public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// cpdd's settings. Each one comes from, in order: its command-line flag, its environment variable,
/// the configuration file, the built-in default. See deploy/cpdd.conf.example for every key.
public struct Settings: Sendable, Equatable {
    /// A libpq conninfo string or URI; nil means the built-in private cluster under `stateDirectory`.
    public var database: String?
    /// Where the nightly report reads (a read replica, say); nil means `database`.
    public var reportDatabase: String?
    public var socketPath: String
    /// The socket's group: its members may connect (each is then mapped to a principal).
    public var socketGroup: String?
    public var stateDirectory: String
    public var logLevel: Logger.Level
    /// Where `migrations/` and `demo/` are.
    public var sqlDirectory: String?
    public var configFile: String?
    /// Connection limits: in all, per Unix account, and seconds of silence before a connection is closed.
    public var maxConnections: Int = 1024
    public var maxConnectionsPerAccount: Int = 64
    public var idleTimeoutSeconds: Int = 900
    /// The most database connections cpdd opens.
    public var poolSize: Int = 8
    /// Per connection, bytes of answers made but not yet written: past the soft bound cpdd stops reading
    /// the connection's requests; past the hard bound, or over the soft bound for the stall time in
    /// seconds, it closes the connection (a client that sends and never reads).
    public var outputSoftLimit: Int = 1 << 20
    public var outputHardLimit: Int = 16 << 20
    public var outputStallTimeoutSeconds: Int = 60
    /// Database connections of their own for the long reads (`report.nightly` takes two, `ledger.verify`
    /// one), apart from the pool, so that they never hold the pool's connections from short requests.
    public var longReadConnections: Int = 4

    public static let fileKeys: Set<String> = [
        "database", "report_database", "socket", "socket_group", "state_dir", "log_level", "sql_dir", "max_connections",
        "max_connections_per_account", "idle_timeout", "pool_size", "output_soft_limit", "output_hard_limit", "output_stall_timeout",
        "long_read_connections",
    ]

    /// - Parameters:
    ///   - flags: values given on the command line, by file key.
    ///   - environment: the process environment (`CPD_DATABASE`, `CPD_REPORT_DATABASE`, `CPD_SOCKET`, `CPD_STATE_DIR`,
    ///     `CPD_LOG_LEVEL`, `CPD_SQL_DIR`, `CPD_CONFIG`).
    public static func resolve(
        flags: [String: String], configFlag: String?, environment: [String: String], executablePath: String,
        workingDirectory: String
    ) throws -> Settings {
        // Installed (under /usr): /run/cpd and /var/lib/cpd; from a checkout: ./.cpd.
        let installed = DefaultLocations.isInstalled(executablePath: executablePath)
        var configFile = configFlag ?? environment["CPD_CONFIG"]
        if configFile == nil, installed, FileManager.default.fileExists(atPath: "/etc/cpd/cpdd.conf") {
            configFile = "/etc/cpd/cpdd.conf"
        }
        let file = try configFile.map { try parseConfigFile(at: absolute($0, in: workingDirectory)) } ?? [:]
        func value(_ key: String, _ variable: String) -> String? {
            flags[key] ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? file[key]
        }
        let stateDirectory = absolute(
            value("state_dir", "CPD_STATE_DIR")
                ?? (installed ? DefaultLocations.installedStateDirectory : DefaultLocations.checkoutStateDirectory), in: workingDirectory)
        let socketPath = absolute(
            value("socket", "CPD_SOCKET")
                ?? (installed ? DefaultLocations.installedSocket : stateDirectory + "/" + DefaultLocations.socketFileName),
            in: workingDirectory)
        let levelText = value("log_level", "CPD_LOG_LEVEL") ?? "info"
        guard let logLevel = Logger.Level(rawValue: levelText) else {
            throw SettingsError("log level '\(levelText)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func number(_ key: String, _ variable: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            guard let text = value(key, variable) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                throw SettingsError("\(key) '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        var settings = Settings(
            database: value("database", "CPD_DATABASE"), socketPath: socketPath, socketGroup: value("socket_group", "CPD_SOCKET_GROUP"),
            stateDirectory: stateDirectory,
            logLevel: logLevel, sqlDirectory: value("sql_dir", "CPD_SQL_DIR").map { absolute($0, in: workingDirectory) },
            configFile: configFile)
        settings.reportDatabase = value("report_database", "CPD_REPORT_DATABASE")
        settings.maxConnections = try number("max_connections", "CPD_MAX_CONNECTIONS", default: 1024, range: 1...100_000)
        settings.maxConnectionsPerAccount = try number(
            "max_connections_per_account", "CPD_MAX_CONNECTIONS_PER_ACCOUNT", default: 64, range: 1...100_000)
        settings.idleTimeoutSeconds = try number("idle_timeout", "CPD_IDLE_TIMEOUT", default: 900, range: 1...86_400)
        settings.poolSize = try number("pool_size", "CPD_POOL_SIZE", default: 8, range: 1...200)
        settings.outputSoftLimit = try number("output_soft_limit", "CPD_OUTPUT_SOFT_LIMIT", default: 1 << 20, range: 4096...(1 << 30))
        settings.outputHardLimit = try number(
            "output_hard_limit", "CPD_OUTPUT_HARD_LIMIT", default: max(16 << 20, settings.outputSoftLimit), range: 4096...(1 << 30))
        guard settings.outputHardLimit >= settings.outputSoftLimit else {
            throw SettingsError("output_hard_limit (\(settings.outputHardLimit)) is below output_soft_limit (\(settings.outputSoftLimit))")
        }
        settings.outputStallTimeoutSeconds = try number("output_stall_timeout", "CPD_OUTPUT_STALL_TIMEOUT", default: 60, range: 1...86_400)
        // A report needs two at once.
        settings.longReadConnections = try number("long_read_connections", "CPD_LONG_READ_CONNECTIONS", default: 4, range: 2...64)
        return settings
    }

    /// `key = value` lines; `#` starts a comment; a value may be in double quotes. An unknown key is an
    /// error, so that a misspelt setting is not silently ignored.
    public static func parseConfigFile(at path: String) throws -> [String: String] {
        // Read as a stream, so that `--config /dev/null` (no settings from a file) works too.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SettingsError("cannot read the configuration file \(path): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        guard let text = String(data: handle.readDataToEndOfFile(), encoding: .utf8) else {
            throw SettingsError("the configuration file \(path) is not UTF-8")
        }
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw SettingsError("\(path):\(number + 1): expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard fileKeys.contains(key) else {
                throw SettingsError("\(path):\(number + 1): unknown setting '\(key)' (known: \(fileKeys.sorted().joined(separator: ", ")))")
            }
            values[key] = value
        }
        return values
    }

    static func absolute(_ path: String, in directory: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: directory).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    /// The `sql/` directory: the setting if given, else the first of `sqlDirectoryCandidates` that holds
    /// `migrations/`.
    public func locateSQLDirectory(executablePath: String) throws -> String {
        if let sqlDirectory { return sqlDirectory }
        let candidates = Self.sqlDirectoryCandidates(executablePath: executablePath)
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/migrations") }) else {
            throw SettingsError(
                "no migrations found for \(executablePath) (looked in \(candidates.joined(separator: ", "))); set sql_dir or --sql-dir")
        }
        return found
    }

    /// Where cpdd looks for `sql/` when no setting names it, in order.
    ///
    /// - installed at a prefix (`<prefix>/bin/cpdd` or `<prefix>/sbin/cpdd`): only `<prefix>/share/cpd/sql`,
    ///   so `/usr/bin/cpdd` reads `/usr/share/cpd/sql` and `/usr/local/bin/cpdd` `/usr/local/share/cpd/sql`;
    /// - elsewhere under `/usr`: only `/usr/share/cpd/sql`;
    /// - anywhere else (a checkout's `.build/debug/cpdd`): `sql/` in each folder above the executable,
    ///   nearest first, which finds the checkout's own.
    ///
    /// The working directory is never searched: an installed cpdd run from a folder that someone else
    /// controls (or from a checkout of another version) would otherwise apply whatever migrations lie there.
    public static func sqlDirectoryCandidates(executablePath: String) -> [String] {
        let folder = URL(fileURLWithPath: executablePath).standardizedFileURL.deletingLastPathComponent()
        if ["bin", "sbin"].contains(folder.lastPathComponent) {
            return [folder.deletingLastPathComponent().appendingPathComponent("share/cpd/sql").path]
        }
        if DefaultLocations.isInstalled(executablePath: executablePath) { return [installedSQLDirectory] }
        var candidates: [String] = []
        var url = folder
        while url.path != "/" {
            candidates.append(url.appendingPathComponent("sql").path)
            url.deleteLastPathComponent()
        }
        return candidates
    }

    public static let installedSQLDirectory = "/usr/share/cpd/sql"
}
