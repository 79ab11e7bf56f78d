import CPDCore
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// Points and Day as SQL values: the one fixed-point type and the one day type, bound as parameters
/// and read back straight from libpq's bytes (as the nightly report reads millions of them).
@Suite struct ColumnValueTests {
    let conninfo: String
    init() throws { conninfo = try TestDatabase.fresh("columns") }

    @Test func pointsAndDaysRoundTripThroughNumericAndDateColumns() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        try c.execute(script: "CREATE TABLE v (n int PRIMARY KEY, p numeric(12,2), d date)")
        let points = [Points(hundredths: -1_234_567), Points(hundredths: -7), .zero, Points(hundredths: 5), .limit, Points(hundredths: 9_999_999_999)]
        let days = [Day.earliest, day("1900-02-28"), day("1970-01-01"), day("2000-02-29"), day("2024-02-29"), Day.latest]
        for n in points.indices { try c.query("INSERT INTO v VALUES ($1, $2, $3)", [Int32(n), points[n], days[n]]) }
        let rows = try c.query("SELECT p, d, p::text AS text FROM v ORDER BY n")
        #expect(try rows.map { try $0["p"] as Points } == points)
        #expect(try rows.map { try $0["d"] as Day } == days)
        #expect(try rows.map { try $0["text"] as String } == points.map(\.description), "bound as their text")
    }

    @Test func copyLoadsPointsAndDays() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        try c.execute(script: "CREATE TABLE bulk (p numeric(12,2), d date)")
        let loaded = try c.copyFrom("COPY bulk (p, d) FROM STDIN") { writer in
            for i in 0..<1_000 { try writer.append([Points(hundredths: Int64(i)), Day(ordinal: 20_000 + i % 365)]) }
        }
        #expect(loaded == 1_000)
        let row = try c.query("SELECT sum(p), min(d), max(d) FROM bulk")[0]
        #expect(try row[0] as Points == Points(hundredths: 499_500))
        #expect(try row[1] as Day == Day(ordinal: 20_000) && row[2] as Day == Day(ordinal: 20_364))
    }

    @Test func aSumPastTheLimitIsReadAndAThirdPlaceIsRefused() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        let row = try c.query(
            """
            SELECT $1::numeric(12,2) * 1000 AS big, (SELECT coalesce(sum(p), 0) FROM (SELECT 1.5::numeric(8,2) AS p WHERE false) e) AS none,
                   1.005::numeric AS third, 12.500::numeric AS zero, 0.5::numeric AS half
            """, [Points.limit])[0]
        #expect(try row["big"] as Points == Points(hundredths: 99_999_999_000))
        #expect(try row["none"] as Points == .zero)
        #expect(try row["half"] as Points == Points(hundredths: 50))
        #expect(throws: PostgresDecodingError.self) { try row["third"] as Points }
        #expect(throws: PostgresDecodingError.self, "not dropped: the columns have two places") { try row["zero"] as Points }
    }

    @Test func aDateTheDomainCannotNameIsRefused() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        let row = try c.query("SELECT '12345-06-07'::date AS far, '0044-03-15 BC'::date AS bc, 'infinity'::date AS endless")[0]
        for column in ["far", "bc", "endless"] {
            #expect(throws: PostgresDecodingError.self, "\(column)") { try row[column] as Day }
        }
        #expect(throws: PostgresDecodingFailure.self) { try Day(postgresText: "2026-02-29", type: .date) }
    }
}
