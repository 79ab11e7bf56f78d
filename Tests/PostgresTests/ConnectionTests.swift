import Foundation
import Testing
import TestSupport

@testable import Postgres

@Suite struct ConnectionTests {
    let conninfo: String
    init() throws { conninfo = try TestDatabase.fresh("conn") }

    @Test func valuesWithQuotesBackslashesUnicodeAndArbitraryBytesRoundTrip() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try connection.execute(script: "CREATE TABLE v (s text, b bytea, i bigint, f boolean, p numeric(12,2), d date, t timestamptz)")
        let awkward = ["it's", "\"quoted\"", "back\\slash", "\\x41", "$1", "'; DROP TABLE v; --", "tab\tnew\nline\r",
                       "Ünïcödé 日本語 🧘‍♀️", "", " leading and trailing "]
        let allBytes = (0...255).map { UInt8($0) }
        let timestamp = Date(timeIntervalSince1970: 1_795_303_112.123456)
        for (i, text) in awkward.enumerated() {
            try connection.query(
                "INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [text, allBytes, Int64.min + Int64(i), i % 2 == 0, NumericText("-12345.\(67 - i)"),
                 DateText("2024-02-29"), timestamp])
        }
        let rows = try connection.query("SELECT s, b, i, f, p, d, t FROM v ORDER BY i")
        #expect(rows.count == awkward.count)
        for (i, row) in rows.enumerated() {
            #expect(try row["s"] as String == awkward[i])
            #expect(try row["b"] as [UInt8] == allBytes)
            #expect(try row["i"] as Int64 == Int64.min + Int64(i))
            #expect(try row["f"] as Bool == (i % 2 == 0))
            #expect(try row["p"] as NumericText == NumericText("-12345.\(67 - i)"))
            #expect(try row["d"] as DateText == DateText("2024-02-29"))
            let decoded: Date = try row["t"]
            #expect(abs(decoded.timeIntervalSince1970 - timestamp.timeIntervalSince1970) < 0.000_001)
        }
        // The injection attempt was stored as text, and the table is still there.
        #expect(try connection.query("SELECT count(*) FROM v WHERE s = $1", ["'; DROP TABLE v; --"])[0][0] as Int == 1)
    }

    @Test func integersDecodeFromTheirBytesWithEveryEdgeAndRefuseWhatDoesNotFit() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let row = try connection.query(
            "SELECT $1::bigint AS min, $2::bigint AS max, 0::bigint AS zero, 3000000000::bigint AS big, (-2147483648)::int AS low, 'x12'::text AS junk, ''::text AS empty, '-'::text AS sign",
            [Int64.min, Int64.max])[0]
        #expect(try row["min"] as Int64 == .min)
        #expect(try row["max"] as Int == .max)
        #expect(try row["zero"] as Int32 == 0)
        #expect(try row["low"] as Int32 == .min)
        #expect(try row["big"] as Int == 3_000_000_000)
        #expect(throws: PostgresDecodingError.self) { try row["big"] as Int32 }
        for column in ["junk", "empty", "sign"] {
            #expect(throws: PostgresDecodingError.self) { try row[column] as Int }
        }
        // One past the ends of Int64, as text, is refused, not wrapped.
        let text = try connection.query("SELECT '9223372036854775808'::text, '-9223372036854775809'::text")[0]
        #expect(throws: PostgresDecodingError.self) { try text[0] as Int64 }
        #expect(throws: PostgresDecodingError.self) { try text[1] as Int64 }
    }

    @Test func rowsOutliveTheirResultAndTheStatementsAfterIt() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        // The rows read libpq's result in place: it must stay alive as long as one row does, however
        // many statements run in between, and be freed afterwards.
        var kept: [PostgresRow] = []
        for n in 1...50 {
            kept.append(try connection.query("SELECT $1::bigint AS n, repeat('x', $1::int) AS s", [Int64(n)])[0])
        }
        try connection.forEachRow("SELECT g AS n, repeat('y', g) AS s FROM generate_series(51, 60) g") { kept.append($0) }
        for (i, row) in kept.enumerated() {
            #expect(try row["n"] as Int == i + 1)
            #expect(try row["s"] as String == String(repeating: i < 50 ? "x" : "y", count: i + 1))
            #expect(row.text(at: 0) == String(i + 1))
        }
    }

    @Test func nullsDecodeAsOptionalsAndRefuseNonOptionals() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let row = try connection.query("SELECT $1::text AS a, $2::bigint AS b", [String?.none, Int?.some(7)])[0]
        #expect(try row["a"] as String? == nil)
        #expect(try row["b"] as Int? == 7)
        #expect(throws: PostgresDecodingError.self) { try row["a"] as String }
        #expect(throws: PostgresDecodingError.self) { try row["no_such_column"] as String }
    }

    @Test func textWithANulByteIsRefusedBeforeItIsSent() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let error = #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["a\u{0}b"]) }
        #expect(error?.code == .characterNotInRepertoire)
        #expect(try connection.query("SELECT 1")[0][0] as Int == 1, "the connection is still usable")
    }

    @Test func uniqueViolationSurfacesAs23505WithTheConstraint() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try connection.execute(script: "CREATE TABLE u (k text CONSTRAINT u_key PRIMARY KEY)")
        try connection.query("INSERT INTO u VALUES ($1)", ["a"])
        let error = #expect(throws: PostgresError.self) { try connection.query("INSERT INTO u VALUES ($1)", ["a"]) }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.constraint == "u_key")
        #expect(error?.table == "u")
        #expect(error?.detail?.contains("(k)=(a)") == true)
        #expect(error?.statement == "INSERT INTO u VALUES ($1)")
        #expect(error?.isRetryable == false)
    }

    @Test func serverMessageDetailAndHintAreKept() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let error = #expect(throws: PostgresError.self) {
            try connection.execute(script: """
                DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = '22023'; END $$
                """)
        }
        #expect(error?.code == SQLState("22023"))
        #expect(error?.message == "boom")
        #expect(error?.detail == "the detail")
        #expect(error?.hint == "the hint")
        #expect(error?.severity == "ERROR")
    }

    @Test func statementsArePreparedOnceAndReused() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        for i in 0..<5 { _ = try connection.query("SELECT $1::bigint + 1", [i]) }
        _ = try connection.query("SELECT $1::text", ["x"])
        let prepared = try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1%'")
        #expect(try prepared[0][0] as Int == 2)
    }

    @Test func aStatementStillWorksAfterItsTableChangesShape() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try connection.execute(script: "CREATE TABLE shape (a int); INSERT INTO shape VALUES (1)")
        #expect(try connection.query("SELECT * FROM shape")[0].count == 1)
        try connection.execute(script: "ALTER TABLE shape ADD COLUMN b int DEFAULT 2")
        let row = try connection.query("SELECT * FROM shape")[0]
        #expect(row.count == 2)
        #expect(try row["b"] as Int == 2)
    }

    @Test func anUnpreparedStatementBindsValuesAndTakesNoCachePlace() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let row = try connection.queryUnprepared("SELECT $1::text || $2::text AS s", ["it's ", "fine"])[0]
        #expect(try row["s"] as String == "it's fine")
        #expect(try connection.query("SELECT count(*) FROM pg_prepared_statements")[0][0] as Int == 1, "only this count query is prepared")
    }

    @Test func affectedRowsComeFromTheCommandTag() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        try connection.execute(script: "CREATE TABLE n (x int)")
        let insert = try connection.query("INSERT INTO n SELECT generate_series(1, $1::int)", [Int32(3)])
        #expect(insert.affectedRows == 3)
        #expect(try connection.query("DELETE FROM n WHERE x > $1", [1]).affectedRows == 2)
    }

    @Test func aServerThatIsNotThereFailsFastWithAConnectionError() throws {
        let start = ContinuousClock.now
        let error = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(conninfo: "host=/nonexistent-cpd-dir dbname=x")
        }
        #expect(error?.code.errorClass == "08")
        #expect(error?.isRetryable == true)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func aTerminatedBackendIsSeenWithoutARoundTripAndReconnects() throws {
        let connection = try PostgresConnection(conninfo: conninfo)
        let killer = try PostgresConnection(conninfo: conninfo)
        let pid = connection.backendPID
        try killer.query("SELECT pg_terminate_backend($1)", [pid])
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!connection.checkAlive())
        try connection.reconnect()
        #expect(connection.checkAlive())
        #expect(connection.backendPID != pid)
        #expect(try connection.query("SELECT $1::int", [Int32(5)])[0][0] as Int == 5, "statements prepare again")
    }
}
