import CPDCore
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

@Suite struct CatalogueTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("catalogue") }

    @Test func anUpdateMakesANewVersionAndEarlierEntriesKeepTheirs() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let before = try await recordCompletion(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01"), key: "a", by: .root, writer)
        let version = try CatalogueStore.updateCourse(code: "MH-EVID", changes: .init(summary: "Now with the 2026 trials.", points: Points(4)), by: "root", actingProvider: nil, app)
        #expect(version == 2)
        let after = try await recordCompletion(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-02"), key: "b", by: .root, writer)
        #expect(before.points == Points(3) && after.points == Points(4))
        let lines = try await LedgerStore.statement(practitioner: "P-1001", from: nil, to: nil, fixture.driver())
        #expect(lines.map(\.courseVersion) == [1, 2])
        let course = try CatalogueStore.course("MH-EVID", app)
        #expect(course.version == 2 && course.content.title == "Massage and mental health: the evidence" && course.content.summary == "Now with the 2026 trials.")
        #expect(throws: StoreError.self) { try CatalogueStore.updateCourse(code: "MH-EVID", changes: .init(points: Points(4)), by: "root", actingProvider: nil, app) }
    }

    @Test func theLifecycleRunsDraftPublishedRetiredAndIsLogged() throws {
        let app = try fixture.app()
        #expect(throws: StoreError.conflict("a draft course cannot become draft")) {
            try CatalogueStore.setStatus(code: "DRAFT-1", to: .draft, by: "root", actingProvider: nil, app)
        }
        try CatalogueStore.setStatus(code: "DRAFT-1", to: .published, by: "root", actingProvider: nil, app)
        try CatalogueStore.setStatus(code: "DRAFT-1", to: .retired, by: "root", actingProvider: nil, app)
        #expect(throws: StoreError.self) { try CatalogueStore.setStatus(code: "DRAFT-1", to: .published, by: "root", actingProvider: nil, app) }
        #expect(throws: StoreError.self) { try CatalogueStore.updateCourse(code: "DRAFT-1", changes: .init(title: "New"), by: "root", actingProvider: nil, app) }
        let events = try app.query("SELECT event FROM course_event WHERE course = 'DRAFT-1' ORDER BY id").map { try $0[0] as String }
        #expect(events == ["added", "published", "retired"])
    }

    @Test func aProviderManagesOnlyItsOwnCourses() throws {
        let app = try fixture.app()
        let content = try CourseContent(title: "T", points: Points(1), hours: Points(1), category: "clinical", delivery: .online)
        #expect(throws: StoreError.self) { try CatalogueStore.addCourse(code: "X1", provider: "CALM", content: content, by: "b", actingProvider: "BOWEN", app) }
        #expect(throws: StoreError.self) { try CatalogueStore.setStatus(code: "MH-EVID", to: .retired, by: "b", actingProvider: "BOWEN", app) }
        try CatalogueStore.addCourse(code: "X1", provider: "BOWEN", content: content, by: "b", actingProvider: "BOWEN", app)
        #expect(throws: StoreError.notFound("no provider NOPE")) { try CatalogueStore.addCourse(code: "X2", provider: "NOPE", content: content, by: "r", actingProvider: nil, app) }
        #expect(throws: StoreError.self) { try CatalogueStore.addCourse(code: "X1", provider: "BOWEN", content: content, by: "b", actingProvider: nil, app) }
    }

    @Test func searchRanksTitleMatchesFirstAndShowsOnlyPublishedCourses() throws {
        let app = try fixture.app()
        // "anxiety" is in NMT-ANX's title and in BOW-SLEEP's summary; DRAFT-1 is not published.
        #expect(try CatalogueStore.search(.init(text: "anxiety"), app).map(\.code) == ["NMT-ANX", "BOW-SLEEP"])
        #expect(try CatalogueStore.search(.init(text: "tensions"), app).map(\.code) == ["NMT-ANX"], "stemmed: tensions finds tension")
        #expect(try CatalogueStore.search(.init(text: "unfinished"), app).isEmpty, "drafts are not listed")
        #expect(try CatalogueStore.search(.init(text: "massage -evidence"), app).isEmpty, "web-search syntax")
    }

    @Test func filtersCombineAndPagesDoNotOverlap() throws {
        let app = try fixture.app()
        #expect(try CatalogueStore.search(.init(delivery: .online), app).map(\.code) == ["MH-EVID"])
        #expect(try CatalogueStore.search(.init(category: "mental_health"), app).map(\.code) == ["BOW-SLEEP", "MH-EVID"])
        #expect(try CatalogueStore.search(.init(provider: "BOWEN"), app).map(\.code) == ["BOW-SLEEP"])
        #expect(try CatalogueStore.search(.init(modality: "remedial", category: "clinical"), app).map(\.code) == ["NMT-ANX"])
        #expect(try CatalogueStore.search(.init(modality: "bowen"), app).isEmpty)
        let first = try CatalogueStore.search(.init(limit: 2), app).map(\.code)
        let second = try CatalogueStore.search(.init(limit: 2, offset: 2), app).map(\.code)
        #expect(first == ["BOW-SLEEP", "MH-EVID"] && second == ["NMT-ANX"])
    }

    @Test func textArraysWithAwkwardValuesRoundTrip() throws {
        let app = try fixture.app()
        // A backslash or quote followed by a combining mark is one Character with it: escaping by
        // Characters left it unescaped, and PostgreSQL dropped the backslash.
        let values = ["plain", "with space", "quote\"d", "back\\slash", "comma,inside", "{brace}", "NULL", "",
                      "back\\\u{301}slash", "quote\"\u{301}d", "\u{301}leading mark", "\\\u{301}"]
        let row = try app.query("SELECT $1::text[] AS a, cardinality($1::text[]) AS n, ($1::text[])[9] AS ninth", [TextArray(values)])[0]
        #expect(try row["n"] as Int == values.count)
        #expect(try Array((row["ninth"] as String).utf8) == Array(values[8].utf8))
        // Compared by bytes: String equality would take a dropped backslash's neighbours for equal.
        #expect(try (row["a"] as TextArray).values.map { Array($0.utf8) } == values.map { Array($0.utf8) })
    }
}

@Suite struct SchemeStoreTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("scheme") }

    @Test func aSchemeComesBackAsItWasDefined() throws {
        let app = try fixture.app()
        let scheme = try Scheme(
            code: "FL-LMT", title: "Florida", period: SchemePeriod(kind: "fixed", length: 24, start: "2025-09-01"), required: Points(24),
            carryOverMax: nil, openingBalance: nil, proRataMonthly: true)
        try SchemeStore.addScheme(scheme, startText: "2025-09-01", app)
        try SchemeStore.addRule(scheme: "FL-LMT", SchemeRule(target: .category("ethics"), bound: .min(Points(2))), app)
        try SchemeStore.addRule(scheme: "FL-LMT", SchemeRule(target: .delivery(.online), bound: .maxShare(percent: pts("33.33"))), app)
        try SchemeStore.addRequiredCertificate(scheme: "FL-LMT", kind: "first_aid", app)
        let loaded = try SchemeStore.scheme("FL-LMT", app)
        #expect(loaded.period == scheme.period && loaded.required == Points(24) && loaded.proRataMonthly)
        #expect(loaded.rules.map(\.description) == ["category=ethics min=2", "delivery=online max_share=33.33"])
        #expect(loaded.certificates == ["first_aid"])
        #expect(try SchemeStore.startText("FL-LMT", app) == "2025-09-01")
    }

    @Test func everyKindOfRuleComesBackAsItWasAdded() throws {
        let app = try fixture.app()
        let rules = [
            SchemeRule(target: .categoryAndDelivery("clinical", .inPerson), bound: .min(Points(12))),
            SchemeRule(target: .everyDelivery, bound: .maxShare(percent: pts("33.33"))),
            SchemeRule(target: .everyCategory, bound: .max(Points(8)), advisory: true),
            SchemeRule(target: .category("clinical"), bound: .minShare(percent: Points(80)), advisory: true),
        ]
        for rule in rules { try SchemeStore.addRule(scheme: "MYO-AA", rule, app) }
        #expect(try SchemeStore.scheme("MYO-AA", app).rules.dropFirst() == rules[...])
        // A second cap on every mode, or a minimum on every category, is refused; so is the row by
        // hand that the table's own check refuses.
        #expect(throws: StoreError.self) { try SchemeStore.addRule(scheme: "MYO-AA", SchemeRule(target: .everyDelivery, bound: .max(Points(3))), app) }
        #expect(throws: StoreError.self) { try SchemeStore.addRule(scheme: "MYO-AA", SchemeRule(target: .everyCategory, bound: .min(Points(3))), app) }
        #expect(throws: PostgresError.self) {
            try fixture.owner().query("INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount) VALUES ('MYO-AA', 'every_category', '*', 'min', 1)")
        }
    }

    @Test func aSecondBoundOfOneKindOrAnUnknownSchemeIsRefused() throws {
        let app = try fixture.app()
        #expect(throws: StoreError.self) { try SchemeStore.addRule(scheme: "MYO-AA", SchemeRule(target: .delivery(.inPerson), bound: .min(Points(5))), app) }
        #expect(throws: StoreError.notFound("no scheme NOPE")) { try SchemeStore.addRule(scheme: "NOPE", SchemeRule(target: .delivery(.inPerson), bound: .min(Points(5))), app) }
        #expect(throws: StoreError.self) { try SchemeStore.addScheme(try Scheme(code: "MYO-AA", title: "again", period: .rolling(months: 1), required: Points(1)), startText: nil, app) }
        #expect(throws: StoreError.notFound("no scheme NOPE")) { try SchemeStore.addPractitioner(try Practitioner(id: "P-1", name: "A", scheme: "NOPE", joined: day("2026-01-01")), by: .root, app) }
    }

    @Test func certificatesNeedAKnownPractitioner() throws {
        let app = try fixture.app()
        let certificate = try Certificate(practitioner: "P-1001", kind: "first_aid", issued: day("2026-01-01"), expires: day("2029-01-01"), reference: "HLTAID011")
        try SchemeStore.addCertificate(certificate, by: "root", app)
        #expect(try SchemeStore.certificates(of: "P-1001", app) == [certificate])
        #expect(throws: StoreError.notFound("no practitioner P-404")) {
            try SchemeStore.addCertificate(try Certificate(practitioner: "P-404", kind: "first_aid", issued: day("2026-01-01"), expires: day("2029-01-01")), by: "root", app)
        }
    }
}

func pts(_ text: String) -> Points { Points(parsing: text)! }
