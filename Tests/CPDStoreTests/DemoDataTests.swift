import CPDCore
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// The demo registry cpdd seeds into its private database: it applies, its chain holds, and its
/// members stand where the demo file's comments say (on 21 November 2026).
@Suite struct DemoDataTests {
    let app: PostgresConnection
    /// As cpdd reads a statement: through the non-blocking driver.
    let driver: PostgresDriver
    let other: PostgresConnection

    init() throws {
        let conninfo = try TestDatabase.fresh("demo")
        let owner = try PostgresConnection(conninfo: conninfo)
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(owner)
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/demo"), table: .demoSeeds).migrate(owner)
        app = try PostgresConnection(conninfo: conninfo, sessionSetup: ApplicationRole.sessionSetup)
        driver = PostgresDriver(configuration: PostgresPool.Configuration(conninfo: conninfo, sessionSetup: ApplicationRole.sessionSetup), connections: 1)
        other = try PostgresConnection(conninfo: conninfo, sessionSetup: ApplicationRole.sessionSetup)
    }

    func standing(_ id: String) throws -> Standing {
        try LedgerStore.standing(practitioner: id, on: day("2026-11-21"), app).standing
    }

    @Test func theDemoCatalogueIsLargeEnoughAndSearchable() throws {
        let counts = try app.query("SELECT (SELECT count(*) FROM provider), (SELECT count(*) FROM course), (SELECT count(*) FROM scheme), (SELECT count(*) FROM practitioner)")[0]
        #expect(try counts[0] as Int >= 3 && counts[1] as Int >= 12 && counts[2] as Int >= 5 && counts[3] as Int >= 10)
        let anxiety = try CatalogueStore.search(.init(text: "anxiety", limit: 2), app)
        #expect(anxiety.map(\.code) == ["NMT-ANX", "MH-EVID"], "the protocol's example")
        #expect(try LedgerStore.verify(app) == .intact(entries: 68, head: try app.query("SELECT encode(hash, 'hex') FROM ledger_entry WHERE id = 68")[0][0]))
    }

    @Test func theOnePassOverAllMembersGivesEachMembersOwnStanding() throws {
        for date in ["2026-11-21", "2026-06-30", "2027-07-01"].map(day) {
            var seen: [String] = []
            try LedgerStore.allStandings(on: date, app) { member in
                seen.append(member.practitioner.id)
                let alone = try LedgerStore.standing(practitioner: member.practitioner.id, on: date, other)
                #expect(member.standing == alone.standing, "\(member.practitioner.id) on \(date)")
                #expect(member.practitioner == alone.practitioner)
            }
            #expect(seen == (1001...1013).map { "P-\($0)" }, "every member once, in id order")
        }
    }

    @Test func theProtocolExamplePractitionerIsOnTrack() throws {
        let s = try standing("P-1001")
        #expect(s.cycle == Cycle(start: day("2026-07-01"), end: day("2027-06-30")))
        #expect(s.required == Points(20) && s.earned == Points(11) && s.counted == Points(11) && s.shortfall == Points(9))
        #expect(s.status == .onTrack && s.daysLeft == 221)
        #expect(s.rules.first?.rule.description == "delivery=in_person min=4" && s.rules.first?.value == Points(8))
    }

    /// CNHC's third from any single type of activity is one rule on every delivery mode; Florida's
    /// 12 hands-on hours in person, one rule on clinical technique delivered in person.
    @Test func theDemoSchemesSayWhatTheirBodiesSay() throws {
        #expect(try SchemeStore.scheme("CNHC", app).rules.map(\.description) == ["delivery=* max_share=33.33", "modality=accredited min=10"])
        #expect(try SchemeStore.scheme("FL-LMT", app).rules.map(\.description) == [
            "category=ethics min=2", "category=clinical delivery=in_person min=12", "category=medical_errors min=2",
            "category=laws_and_rules min=2", "category=human_trafficking min=1",
        ])
        // P-1011 in 2026: 8 online, 2 reading, 3 by webinar; a third of 15 is 4.99, so 9.99 count.
        let cnhc = try LedgerStore.standing(practitioner: "P-1011", on: day("2026-12-31"), app)
        #expect(cnhc.standing.earned == Points(13) && cnhc.standing.counted == Points(parsing: "9.99"))
        #expect(cnhc.standing.rules.first?.value == Points(8) && cnhc.standing.rules.first?.gap == Points(parsing: "3.01"))
        // 10 in her discipline: all 13 are courses for manual therapy or remedial massage.
        let discipline = cnhc.standing.rules.last
        #expect(discipline?.rule.description == "modality=accredited min=10" && discipline?.value == Points(13) && discipline?.met == true)
        // NCBTMB and Florida count hours of 50 minutes; Florida's first renewal is an hour a month.
        #expect(try SchemeStore.scheme("NCBTMB", app).unit == .hours(minutesPerHour: 50, rounding: .half))
        let florida50 = try SchemeStore.scheme("FL-LMT", app)
        #expect(florida50.unit == .hours(minutesPerHour: 50, rounding: .hundredth) && florida50.proRataPerMonth == Points(1))
        // P-1010 joined 3 November 2025, in the cycle to 31 August 2027: 22 months started, 22 hours.
        #expect(try LedgerStore.standing(practitioner: "P-1010", on: day("2026-12-31"), app).standing.required == Points(22))
        // CMA and NCBTMB take renewals; their demo members renewed on time, so P-1009's carry stands.
        let cma = try LedgerStore.standing(practitioner: "P-1009", on: day("2026-12-31"), app).standing
        #expect(cma.renewal?.late == false && cma.renewal?.approved == day("2026-10-22") && cma.carried == Points(1))
        #expect(try LedgerStore.standing(practitioner: "P-1008", on: day("2026-06-30"), app).standing.renewal?.late == false)
        // ANTA: half of 20 from courses in the member's accredited modalities. P-1007 (remedial): all
        // 20 of 2026; P-1006 (remedial, manual therapy): 8, the clinical course reversed, 2 short.
        #expect(try SchemeStore.scheme("ANTA", app).rules.map(\.description) == ["modality=accredited min_share=50"])
        let p1007 = try LedgerStore.standing(practitioner: "P-1007", on: day("2026-12-31"), app).standing.rules.first
        #expect(p1007?.value == Points(20) && p1007?.limit == Points(10) && p1007?.met == true)
        let p1006 = try LedgerStore.standing(practitioner: "P-1006", on: day("2026-12-31"), app).standing.rules.first
        #expect(p1006?.value == Points(8) && p1006?.gap == Points(2))
        // FHT's advisory 80% clinical: P-1012's year to 2026-09-08 has 7 clinical of 10, one short of
        // the advice and compliant all the same.
        let fht = try LedgerStore.standing(practitioner: "P-1012", on: day("2026-09-08"), app).standing
        #expect(fht.status == .compliant && fht.shortfall == .zero)
        #expect(fht.rules.map(\.rule.description) == ["category=clinical min_share=80 advisory=yes"])
        #expect(fht.rules.first?.met == false && fht.rules.first?.value == Points(7) && fht.rules.first?.gap == Points(1))
        // P-1010's in-person hours are 8 clinical: 4 short of 12.
        let florida = try LedgerStore.standing(practitioner: "P-1010", on: day("2026-12-31"), app)
        let handsOn = florida.standing.rules.first { $0.rule.description == "category=clinical delivery=in_person min=12" }
        #expect(handsOn?.value == Points(8) && handsOn?.gap == Points(4) && handsOn?.met == false)
        // Florida's subjects apply in the first, pro-rata cycle too: none taken yet, 5 hours short.
        let subjects = florida.standing.rules.filter { rule in
            ["medical_errors", "laws_and_rules", "human_trafficking"].contains { rule.rule.description.contains($0) }
        }
        #expect(subjects.map(\.gap) == [Points(2), Points(2), Points(1)] && subjects.allSatisfy { !$0.met })
    }

    /// The demo's audit of ANTA's 2025, announced back then, draws half of its two members: with the
    /// empty chain's head as the seed, P-1006 (the lower key).
    @Test func theDemosAnnouncedAuditDraws() throws {
        guard case .drawn(let sample, let members) = try AuditStore.draw(scheme: "ANTA", month: day("2025-12-01"), share: Points(50), by: "test", app) else {
            Issue.record("the demo's audit was not drawn")
            return
        }
        #expect(sample.draw?.seed == String(repeating: "0", count: 64) && sample.draw?.headEntry == 0)
        #expect(members.map { "\($0.practitioner) \($0.outcome)" } == ["P-1006 selected", "P-1007 not_selected"])
        #expect(AuditStore.drawKey(seed: String(repeating: "0", count: 64), practitioner: "P-1006").hasPrefix("01f2d585"))
    }

    @Test func eachDemoMemberStandsWhereTheDemoSays() throws {
        #expect(try standing("P-1002").status == .compliant)
        let p1003 = try standing("P-1003")
        #expect(p1003.counted == Points(41) && p1003.certificates.first?.state == .expiring)
        #expect(try standing("P-1004").certificates.first?.state == .expired)
        #expect(try standing("P-1004").status == .nonCompliant)
        let p1005 = try standing("P-1005")
        #expect(p1005.counted == Points(21) && p1005.status == .nonCompliant)
        #expect(try standing("P-1006").status == .atRisk)
        #expect(try standing("P-1007").status == .compliant)
        #expect(try standing("P-1008").status == .atRisk)
        #expect(try standing("P-1010").required < Points(24), "a first, pro-rata cycle")
        let p1011 = try standing("P-1011")
        #expect(p1011.earned == Points(13) && p1011.counted < p1011.earned, "the one-third cap binds")
        #expect(try standing("P-1012").status == .compliant)
        // Massage Australia: 60 in the trailing three years. P-1013: 62, the 8 of October 2023 aged
        // out; at risk: 73 days on, on 2027-02-03, the 12 of 3 February 2024 leave the window too.
        let p1013 = try standing("P-1013")
        #expect(p1013.counted == Points(62) && p1013.required == Points(60) && p1013.status == .atRisk, "\(p1013)")
        #expect(p1013.daysLeft == 73, "\(p1013.daysLeft)")
        let later = try LedgerStore.standing(practitioner: "P-1013", on: day("2027-02-03"), app).standing
        #expect(later.counted == Points(50) && later.status == .nonCompliant, "\(later)")
    }

    @Test func theDemoCarryOverMemberShowsWhatCarriedIntoTheirYear() async throws {
        // P-1009, CMA (anniversary, at most 10 carried): 21 of 20 in the year to 2026-10-16 carry 1
        // into the year from 2026-10-17, beside the 7 earned in it so far.
        let s = try standing("P-1009")
        #expect(s.cycle == Cycle(start: day("2026-10-17"), end: day("2027-10-16")))
        #expect(s.carried == Points(1) && s.earned == Points(8) && s.counted == Points(8))
        let carry = try await LedgerStore.statement(practitioner: "P-1009", from: day("2026-10-17"), to: nil, driver).first
        #expect(carry?.entry == nil && carry?.kind == .carryOver && carry?.points == Points(1) && carry?.date == day("2026-10-17"))
    }

    @Test func theSetBasedStandingsAgreeWithEachMembersOwn() throws {
        var seen = 0
        var previous = ""
        try LedgerStore.allStandings(on: day("2026-11-21"), app) { member in
            #expect(member.practitioner.id > previous, "members come in id order")
            previous = member.practitioner.id
            // Another connection: this one is busy streaming.
            let own = try LedgerStore.standing(practitioner: member.practitioner.id, on: day("2026-11-21"), other)
            #expect(member.standing == own.standing, "\(member.practitioner.id)")
            #expect(member.practitioner == own.practitioner)
            seen += 1
        }
        #expect(seen == 13)
    }
}
