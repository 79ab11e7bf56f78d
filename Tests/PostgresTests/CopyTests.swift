import Foundation
import Testing
import TestSupport

@testable import Postgres

@Suite struct CopyTests {
    let conninfo: String
    init() throws {
        conninfo = try TestDatabase.fresh("copy")
        let setup = try PostgresConnection(conninfo: conninfo)
        try setup.execute(script: """
            CREATE TABLE bulk (id bigint PRIMARY KEY, label text, amount numeric(12,2), day date, raw bytea);
            CREATE TABLE keyed (k text PRIMARY KEY, v int NOT NULL);
            """)
    }

    @Test func copyLoadsAHundredThousandRows() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let days = ["2024-02-29", "1999-12-31", "2026-11-21", "0001-01-01", "9999-12-31"]
        let start = ContinuousClock.now
        let loaded = try connection.copyFrom("COPY bulk (id, label, amount, day, raw) FROM STDIN") { writer in
            for i in 1...100_000 {
                try writer.append([
                    Int64(i), "row \(i)", NumericText("\(i % 1000 / 100).\(i % 100 / 10)\(i % 10)"),
                    DateText(days[i % days.count]), i % 10 == 0 ? nil : [UInt8(i % 256)],
                ])
            }
        }
        let elapsed = ContinuousClock.now - start
        #expect(loaded == 100_000)
        let row = try connection.query("SELECT count(*), sum(amount), count(raw), count(DISTINCT day) FROM bulk")[0]
        #expect(try row[0] as Int == 100_000)
        // amounts are i % 1000 hundredths: 100 full cycles of 0...999.
        #expect(try row[1] as NumericText == NumericText("499500.00"))
        #expect(try row[2] as Int == 90_000)
        #expect(try row[3] as Int == days.count)
        print("COPY of 100,000 rows took \(elapsed)")
    }

    @Test func copyEscapesTabsNewlinesBackslashesAndKeepsNulls() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let labels: [String?] = ["a\tb", "line\nbreak", "back\\slash", "\\N", nil, "cr\r", "日本 🧘"]
        try connection.copyFrom("COPY bulk (id, label, raw) FROM STDIN") { writer in
            for (i, label) in labels.enumerated() {
                try writer.append([Int64(1_000_000 + i), label, [UInt8]([0, 9, 10, 92, 255])])
            }
        }
        let rows = try connection.query("SELECT label, raw FROM bulk WHERE id >= 1000000 ORDER BY id")
        #expect(try rows.map { try $0["label"] as String? } == labels)
        #expect(try rows.allSatisfy { try $0["raw"] as [UInt8] == [0, 9, 10, 92, 255] })
    }

    @Test func aCopyWhoseProducerThrowsLoadsNothing() throws {
        struct Stop: Error {}
        let connection = try PostgresConnection(conninfo: conninfo)
        #expect(throws: Stop.self) {
            try connection.copyFrom("COPY keyed (k, v) FROM STDIN") { writer in
                for i in 0..<10 { try writer.append(["stop-\(i)", i]) }
                throw Stop()
            }
        }
        #expect(try connection.query("SELECT count(*) FROM keyed WHERE k LIKE 'stop-%'")[0][0] as Int == 0)
        #expect(try connection.query("SELECT 1")[0][0] as Int == 1, "the connection is usable afterwards")
    }

    @Test func aCopyRejectedByTheServerReportsItsError() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let error = #expect(throws: PostgresError.self) {
            try connection.copyFrom("COPY keyed (k, v) FROM STDIN") { writer in
                try writer.append(["dup", 1])
                try writer.append(["dup", 2])
            }
        }
        #expect(error?.code == .uniqueViolation)
        #expect(try connection.query("SELECT count(*) FROM keyed WHERE k = 'dup'")[0][0] as Int == 0)
    }
}

@Suite struct StreamingTests {
    @Test func rowsStreamOneAtATimeAndTheConnectionIsReusableAfter() throws {
        let connection = try PostgresConnection(conninfo: try TestDatabase.fresh("stream"))
        var sum = 0
        let count = try connection.forEachRow("SELECT g FROM generate_series(1, $1::int) g", [Int32(200_000)]) { row in
            sum += try row[0] as Int
        }
        #expect(count == 200_000 && sum == 200_000 * 200_001 / 2)
        #expect(try connection.query("SELECT 7")[0][0] as Int == 7)
    }

    @Test func aBodyThatThrowsStopsTheStreamAndLeavesTheConnectionUsable() throws {
        struct Enough: Error {}
        let connection = try PostgresConnection(conninfo: try TestDatabase.fresh("stream"))
        var seen = 0
        #expect(throws: Enough.self) {
            try connection.forEachRow("SELECT g FROM generate_series(1, 100000) g") { _ in
                seen += 1
                if seen == 10 { throw Enough() }
            }
        }
        #expect(seen == 10)
        #expect(try connection.query("SELECT 8")[0][0] as Int == 8)
    }

    @Test func aServerErrorMidStreamIsThrown() throws {
        let connection = try PostgresConnection(conninfo: try TestDatabase.fresh("stream"))
        let error = #expect(throws: PostgresError.self) {
            try connection.forEachRow("SELECT 1 / (5000 - g) FROM generate_series(1, 10000) g") { _ in }
        }
        #expect(error?.code == SQLState("22012"))
    }

    @Test func rowsComeInBatchesThroughACursorWithTheirParameters() throws {
        let connection = try PostgresConnection(conninfo: try TestDatabase.fresh("stream"))
        var seen: [Int] = []
        let count = try connection.withTransaction(isolation: .repeatableRead, readOnly: true) { c in
            try c.forEachRow(inBatchesOf: 10_000, "SELECT g FROM generate_series(1, $1::int) g ORDER BY g", [Int32(25_001)]) { row in
                seen.append(try row[0] as Int)
            }
        }
        #expect(count == 25_001 && seen == Array(1...25_001), "every row once, in order, across three batches")
        #expect(try connection.query("SELECT 9")[0][0] as Int == 9)
    }

    @Test func aBodyThatThrowsClosesTheCursorAndTheTransactionGoesOn() throws {
        struct Enough: Error {}
        let connection = try PostgresConnection(conninfo: try TestDatabase.fresh("stream"))
        try connection.withTransaction { c in
            #expect(throws: Enough.self) {
                try c.forEachRow(inBatchesOf: 100, "SELECT g FROM generate_series(1, 1000) g") { row in
                    if try row[0] as Int == 150 { throw Enough() }
                }
            }
            // The cursor is closed: the same name can be declared again.
            let again = try c.forEachRow(inBatchesOf: 100, "SELECT 1") { _ in }
            #expect(again == 1)
        }
    }
}

