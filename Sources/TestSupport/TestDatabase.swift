/// TestSupport: what the test targets share. The test command (scripts/test) starts a throwaway
/// PostgreSQL and names it in `CPD_TEST_DATABASE`; each suite takes a fresh database on it, so suites
/// run in parallel without seeing each other's rows.
import Foundation
import Postgres

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

public enum TestDatabase {
    /// The conninfo of the test server's maintenance database.
    public static func serverConninfo() throws -> String {
        guard let conninfo = ProcessInfo.processInfo.environment["CPD_TEST_DATABASE"], !conninfo.isEmpty else {
            throw TestSetupError(description: "CPD_TEST_DATABASE is not set: run the tests with ./scripts/test, which starts a throwaway PostgreSQL")
        }
        return conninfo
    }

    /// Creates an empty database with a unique name and returns a conninfo for it.
    public static func fresh(_ label: String) throws -> String {
        let server = try serverConninfo()
        let safeLabel = label.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(30)
        let name = "t_\(safeLabel)_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try PostgresConnection(conninfo: server)
        // A database name is an identifier, not a value: it cannot be a parameter. It is made here from
        // letters and digits only, and quoted.
        try connection.execute(script: "CREATE DATABASE \"\(name)\" TEMPLATE template0 ENCODING 'UTF8'")
        return server + " dbname=\(name)"
    }

    /// A directory for a test's own files (a private cluster, a socket), short enough for socket paths
    /// and searchable by the account PostgreSQL runs as.
    public static func scratchDirectory(_ label: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["CPD_TEST_TMPDIR"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("\(label)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o711)
        return path
    }
}
