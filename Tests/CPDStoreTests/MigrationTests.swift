import Foundation
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

@Suite struct MigrationTests {
    let conninfo: String
    init() throws { conninfo = try TestDatabase.fresh("migrate") }

    static let first = Migration(version: 1, name: "people", sql: "CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL);")
    static let second = Migration(version: 2, name: "people_email", sql: "ALTER TABLE people ADD COLUMN email text;")

    @Test func pendingMigrationsApplyInOrderOnceAndAreRecorded() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let migrator = Migrator(set: MigrationSet(migrations: [Self.second, Self.first]))
        let applied = try migrator.migrate(connection)
        #expect(applied.map(\.version) == [1, 2])
        #expect(try migrator.migrate(connection).isEmpty, "a second run applies nothing")
        let rows = try connection.query("SELECT version, name, length(checksum) FROM schema_migrations ORDER BY version")
        #expect(try rows.map { try $0[1] as String } == ["people", "people_email"])
        #expect(try rows.allSatisfy { try $0[2] as Int == 64 }, "a SHA-256 in hex")
        try connection.query("INSERT INTO people (id, name, email) VALUES (1, 'a', 'b')")
    }

    @Test func aDatabaseThatIsBehindIsReportedWithTheCommandToRun() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try Migrator(set: MigrationSet(migrations: [Self.first])).migrate(connection)
        let newer = Migrator(set: MigrationSet(migrations: [Self.first, Self.second]))
        let error = #expect(throws: MigrationError.self) { try newer.verifyUpToDate(connection) }
        #expect(error?.kind == .behind)
        #expect(error?.description.contains("0002_people_email.sql") == true)
        #expect(error?.description.contains("cpdd migrate") == true)
        try newer.migrate(connection)
        try newer.verifyUpToDate(connection)
    }

    @Test func anAppliedFileThatChangedStopsEverything() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try Migrator(set: MigrationSet(migrations: [Self.first])).migrate(connection)
        let edited = Migration(version: 1, name: "people", sql: Self.first.sql + "\n-- an innocent comment\n")
        let migrator = Migrator(set: MigrationSet(migrations: [edited, Self.second]))
        let error = #expect(throws: MigrationError.self) { try migrator.migrate(connection) }
        #expect(error?.kind == .changed)
        #expect(try connection.query("SELECT count(*) FROM schema_migrations")[0][0] as Int == 1, "migration 2 was not applied")
    }

    @Test func aDatabaseMigratedByANewerBuildIsRefused() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try Migrator(set: MigrationSet(migrations: [Self.first, Self.second])).migrate(connection)
        let error = #expect(throws: MigrationError.self) {
            try Migrator(set: MigrationSet(migrations: [Self.first])).verifyUpToDate(connection)
        }
        #expect(error?.kind == .unknownVersion)
    }

    @Test func aFailingMigrationLeavesNoTrace() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let broken = Migration(version: 2, name: "broken", sql: "CREATE TABLE half (x int); SELECT no_such_function();")
        let migrator = Migrator(set: MigrationSet(migrations: [Self.first, broken]))
        #expect(throws: PostgresError.self) { try migrator.migrate(connection) }
        #expect(try connection.query("SELECT to_regclass('half') IS NULL")[0][0] as Bool, "the first statement was rolled back")
        #expect(try connection.query("SELECT array_agg(version)::text FROM schema_migrations")[0][0] as String == "{1}")
    }

    @Test func twoMigratorsAtOnceApplyEachFileOnce() async throws {
        // Without the advisory lock both would CREATE TABLE people and one would fail.
        let conninfo = self.conninfo
        let set = MigrationSet(migrations: [Self.first, Self.second])
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await runOnOwnThread {
                        try Migrator(set: set).migrate(PostgresConnection(conninfo: conninfo)).count
                    }
                }
            }
            var total = 0
            for try await count in group { total += count }
            #expect(total == 2)
        }
    }

    @Test func misnamedFilesAreRefusedRatherThanSkipped() throws {
        let directory = try TestDatabase.scratchDirectory("misnamed")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "SELECT 1;".write(toFile: directory + "/0001_ok.sql", atomically: true, encoding: .utf8)
        try "SELECT 1;".write(toFile: directory + "/2_short.sql", atomically: true, encoding: .utf8)
        let error = #expect(throws: MigrationError.self) { try MigrationSet(directory: directory) }
        #expect(error?.kind == .badSource)
        try FileManager.default.removeItem(atPath: directory + "/2_short.sql")
        try "SELECT 2;".write(toFile: directory + "/0001_again.sql", atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try MigrationSet(directory: directory) }
    }

    @Test func theProjectsOwnMigrationsAndDemoDataApply() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let connection = try PostgresConnection(conninfo: conninfo)
        let schema = Migrator(set: try MigrationSet(directory: root.path + "/sql/migrations"))
        #expect(try schema.migrate(connection).count == schema.set.migrations.count)
        try schema.verifyUpToDate(connection)
        try Migrator(set: try MigrationSet(directory: root.path + "/sql/demo"), table: .demoSeeds).migrate(connection)
        #expect(try connection.query("SELECT time_zone FROM registry")[0][0] as String == "Australia/Melbourne")
    }
}
