import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// The rejected-writes log: bounded per principal and day, kept for a retention, and never losing a
/// batch to one row.
@Suite struct RejectionLogTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("rejections") }

    func rejection(_ reason: String, by principal: String = "calmhands") -> ReportStore.Rejection {
        ReportStore.Rejection(command: "completion.record", code: "not_found", reason: reason, principal: principal)
    }

    func rows(_ c: PostgresConnection) throws -> [String: Int] {
        try c.query("SELECT principal, count(*) FROM rejected_write GROUP BY principal").reduce(into: [:]) { map, row in
            map[try row[0] as String] = Int(try row[1] as Int64)
        }
    }

    @Test func oneRowWithANulDoesNotLoseTheOthers() throws {
        let app = try fixture.app()
        let batch = [rejection("no practitioner P-1"), rejection("no practitioner P-\u{0}2"), rejection("no practitioner P-3")]
        let logged = try ReportStore.logRejections(batch, app)
        #expect(logged == ReportStore.LoggedRejections(kept: 3, counted: 0, failed: 0))
        let reasons = try app.query("SELECT reason FROM rejected_write ORDER BY id").map { try $0[0] as String }
        #expect(reasons == ["no practitioner P-1", "no practitioner P-\u{FFFD}2", "no practitioner P-3"])
    }

    @Test func eachPrincipalKeepsAtMostItsBoundADayAndTheRestIsCounted() throws {
        let app = try fixture.app()
        let bounds = ReportStore.RejectionBounds(perPrincipalPerDay: 5, retentionDays: 90)
        let first = try ReportStore.logRejections((0..<4).map { rejection("r\($0)") } + [rejection("x", by: "root")], bounds: bounds, app)
        #expect(first == ReportStore.LoggedRejections(kept: 5, counted: 0, failed: 0))
        let second = try ReportStore.logRejections((0..<10).map { rejection("s\($0)") }, bounds: bounds, app)
        #expect(second == ReportStore.LoggedRejections(kept: 1, counted: 9, failed: 0))
        _ = try ReportStore.logRejections([rejection("t")], bounds: bounds, app)
        #expect(try rows(app) == ["calmhands": 5, "root": 1])
        let overflow = try app.query("SELECT principal, dropped FROM rejected_write_overflow").map { (try $0[0] as String, try $0[1] as Int64) }
        #expect(overflow.count == 1 && overflow[0] == ("calmhands", 10))
    }

    @Test func rowsOlderThanTheRetentionAreDeletedAsNewOnesAreWritten() throws {
        let owner = try fixture.owner()
        try owner.execute(script: """
            INSERT INTO rejected_write (command, code, reason, principal, at) VALUES
                ('course.add', 'conflict', 'old', 'root', now() - interval '91 days'),
                ('course.add', 'conflict', 'recent', 'root', now() - interval '89 days');
            INSERT INTO rejected_write_overflow (day, principal, dropped) VALUES (current_date - 100, 'root', 7);
            """)
        let app = try fixture.app()
        _ = try ReportStore.logRejections([rejection("new")], bounds: ReportStore.RejectionBounds(perPrincipalPerDay: 100, retentionDays: 90), app)
        let reasons = try app.query("SELECT reason FROM rejected_write ORDER BY id").map { try $0[0] as String }
        #expect(reasons == ["recent", "new"])
        #expect(try app.query("SELECT count(*) FROM rejected_write_overflow")[0][0] as Int == 0)
    }
}
