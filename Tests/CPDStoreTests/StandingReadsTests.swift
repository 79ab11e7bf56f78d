import CPDCore
import Foundation
import Logging
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// `points` batched (`LedgerStore.standings` through a `PostgresDriver`, as `RegistryStore` batches
/// them, and `RegistryStore` itself through its `ReadBatcher`): every answer is the one-at-a-time
/// answer (`LedgerStore.standing`), whatever else is in the batch.
@Suite struct StandingReadsTests {
    let fixture: StoreFixture
    let members: [String]

    /// Schemes of every shape (fixed, anniversary, rolling; carry-over, pro rata, minimums, a required
    /// certificate) and members of each with entries spread over five years.
    init() throws {
        fixture = try StoreFixture("standings")
        let app = try fixture.app()
        let schemes = [
            try Scheme(code: "FIX-CARRY", title: "Fixed with carry-over", period: .fixed(months: 12, anchor: day("2000-07-01")),
                       required: Points(20), rules: [SchemeRule(target: .delivery(.inPerson), bound: .min(Points(4)))], carryOverMax: Points(10)),
            try Scheme(code: "ANNIV", title: "Anniversary", period: .anniversary(months: 12), required: Points(15), carryOverMax: Points(5),
                       certificates: ["first_aid"]),
            try Scheme(code: "ROLL", title: "Rolling", period: .rolling(months: 36), required: Points(60),
                       rules: [SchemeRule(target: .category("clinical"), bound: .max(Points(30)))]),
            try Scheme(code: "PRO", title: "Pro rata", period: .fixed(months: 24, anchor: day("2020-01-01")), required: Points(40),
                       proRataMonthly: true),
        ]
        var members: [String] = []
        for (s, scheme) in schemes.enumerated() {
            try SchemeStore.addScheme(scheme, startText: nil, app)
            if !scheme.certificates.isEmpty { try SchemeStore.addRequiredCertificate(scheme: scheme.code, kind: "first_aid", app) }
            for m in 0..<6 {
                let id = "M-\(s)-\(m)"
                let joined = day("2021-01-01").adding(days: 97 * m + 31 * s)
                try SchemeStore.addPractitioner(Practitioner(id: id, name: "Member \(id)", scheme: scheme.code, joined: joined), by: .root, app)
                for e in 0..<(8 * m) {
                    let effective = joined.adding(days: 41 * e + 3 * s)
                    try LedgerStore.insert(
                        app, practitioner: id, kind: .adjustment, points: Points(hundredths: Int64(150 + 75 * ((e + s) % 5))), effective: effective,
                        category: e % 3 == 0 ? "clinical" : "ethics", delivery: e % 2 == 0 ? .inPerson : .online, reason: "test",
                        by: .root, key: "\(id)-\(e)", request: "test")
                }
                if m % 2 == 1 {
                    try SchemeStore.addCertificate(
                        Certificate(practitioner: id, kind: "first_aid", issued: joined, expires: joined.adding(days: 400 * m)), by: "root", app)
                }
                members.append(id)
            }
        }
        self.members = members + ["P-1001"]
    }

    var days: [Day?] { [nil, day("2021-06-30"), day("2022-07-01"), day("2023-12-31"), day("2024-02-29"), day("2025-06-30"), day("2026-01-01"), day("0001-01-01"), day("9999-12-31")] }

    func describe(_ outcome: Result<LedgerStore.MemberStanding, Error>) -> String {
        switch outcome {
        case .success(let s): "\(s.practitioner) \(s.scheme) \(s.standing)"
        case .failure(let e as StoreError): "StoreError \(e)"
        case .failure(let e): "\(type(of: e)) \(e)"
        }
    }

    /// The batch's answers as `RegistryStore` gets them (through a driver, as cpd_app), with a request the
    /// batch leaves to be read alone read alone, as `ReadBatcher` does.
    func batched(_ requests: [LedgerStore.StandingRequest]) async throws -> [Result<LedgerStore.MemberStanding, Error>] {
        let driver = PostgresDriver(configuration: .init(conninfo: fixture.conninfo, sessionSetup: ApplicationRole.sessionSetup))
        defer { driver.close() }
        let answers = try LedgerStore.standings(requests, from: try await driver.pipeline(LedgerStore.standingStatements(requests)))
        let app = try fixture.app()
        return zip(requests, answers).map { request, answer in
            answer ?? Result { try LedgerStore.standing(practitioner: request.practitioner, on: request.day, app) }
        }
    }

    func alone(_ request: LedgerStore.StandingRequest, _ c: PostgresConnection) -> String {
        describe(Result { try LedgerStore.standing(practitioner: request.practitioner, on: request.day, c) })
    }

    @Test func aBatchAnswersEachRequestAsItWouldBeAnsweredAlone() async throws {
        let app = try fixture.app()
        var requests: [LedgerStore.StandingRequest] = []
        for member in members + ["NOBODY", "M-9-9"] {
            for date in days { requests.append(.init(practitioner: member, day: date)) }
        }
        let batched = try await batched(requests).map(describe)
        #expect(batched.count == requests.count)
        for (request, answer) in zip(requests, batched) {
            #expect(answer == alone(request, app), "\(request)")
        }
        // Some were answered, some refused alone.
        #expect(batched.contains { $0.hasPrefix("StoreError no practitioner NOBODY") })
        #expect(batched.filter { !$0.hasPrefix("StoreError") && !$0.hasPrefix("DayOutOfRange") }.count >= members.count * 6)
    }

    @Test func anUnknownMemberAndADayOffTheCalendarFailAloneInTheirBatch() async throws {
        let app = try fixture.app()
        let answers = try await batched([
            .init(practitioner: "M-0-3", day: day("2024-03-01")),
            .init(practitioner: "NOBODY", day: nil),
            .init(practitioner: "M-0-3", day: day("9999-12-31")),
            .init(practitioner: "M-0-3", day: nil),
        ])
        #expect(try answers[0].get().practitioner.id == "M-0-3")
        #expect(throws: StoreError.notFound("no practitioner NOBODY")) { try answers[1].get() }
        #expect(throws: DayOutOfRange.self) { try answers[2].get() }
        #expect(try answers[3].get().standing == (try LedgerStore.standing(practitioner: "M-0-3", c: app)).standing)
    }

    @Test func concurrentRequestsThroughTheStoreAreBatchedAndAnsweredEachAsAlone() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: fixture.conninfo, maxConnections: 2, sessionSetup: ApplicationRole.sessionSetup))
        let store = RegistryStore(pool: pool)
        let requests = (0..<400).map { i in
            LedgerStore.StandingRequest(practitioner: i % 37 == 0 ? "NOBODY" : members[i % members.count], day: days[i % days.count])
        }
        let answers = await withTaskGroup(of: (Int, String).self) { group in
            for (i, request) in requests.enumerated() {
                group.addTask {
                    do {
                        let s = try await store.standing(practitioner: request.practitioner, on: request.day)
                        return (i, "\(s.practitioner) \(s.scheme) \(s.standing)")
                    } catch {
                        return (i, "StoreError \(error)")
                    }
                }
            }
            var answers = Array(repeating: "", count: requests.count)
            for await (i, answer) in group { answers[i] = answer }
            return answers
        }
        await pool.close()
        let app = try fixture.app()
        for (request, answer) in zip(requests, answers) {
            // The store turns a day off the calendar into its own error.
            let expected = alone(request, app).replacingOccurrences(of: "DayOutOfRange ", with: "StoreError ")
            #expect(answer == expected, "\(request)")
        }
    }
}

extension LedgerStore {
    fileprivate static func standing(practitioner: String, c: PostgresConnection) throws -> MemberStanding {
        try standing(practitioner: practitioner, on: nil, c)
    }
}

/// `course.search` batched (`CatalogueStore.searches` through a `PostgresDriver`, as `RegistryStore`
/// batches them, and `RegistryStore` itself through its `ReadBatcher`).
@Suite struct SearchReadsTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("searches") }

    let filters: [CatalogueStore.SearchFilter] = [
        .init(text: "anxiety"), .init(text: "tensions"), .init(text: "unfinished"), .init(text: "massage -evidence"),
        .init(delivery: .online), .init(category: "mental_health"), .init(provider: "BOWEN"),
        .init(modality: "remedial", category: "clinical"), .init(modality: "bowen"), .init(limit: 2), .init(limit: 2, offset: 2),
        .init(text: "   "), .init(text: "anxiety"),
    ]

    /// The batch's answers as `RegistryStore` gets them: through a driver, as cpd_app.
    func batched(_ filters: [CatalogueStore.SearchFilter]) async throws -> [Result<[Course], Error>] {
        let driver = PostgresDriver(configuration: .init(conninfo: fixture.conninfo, sessionSetup: ApplicationRole.sessionSetup))
        defer { driver.close() }
        return CatalogueStore.searches(from: try await driver.pipelineEach(filters.map(CatalogueStore.searchStatement)))
    }

    func describe(_ outcome: Result<[Course], Error>) -> String {
        switch outcome {
        case .success(let courses): courses.map { "\($0.code) v\($0.version) \($0.content.title)" }.joined(separator: "; ")
        case .failure(let e as PostgresError): "PostgresError \(e.code)"
        case .failure(let e): "\(type(of: e)) \(e)"
        }
    }

    @Test func aBatchAnswersEachSearchAsItWouldBeAnsweredAlone() async throws {
        let app = try fixture.app()
        let batched = try await batched(filters).map(describe)
        #expect(batched == filters.map { filter in describe(Result { try CatalogueStore.search(filter, app) }) })
        #expect(batched[0] .hasPrefix("NMT-ANX"))
    }

    @Test func aSearchTheDatabaseRefusesFailsAloneInItsBatch() async throws {
        let answers = try await batched([.init(text: "anxiety"), .init(limit: -1), .init(provider: "BOWEN")])
        #expect(try answers[0].get().map(\.code) == ["NMT-ANX", "BOW-SLEEP"])
        #expect(throws: PostgresError.self) { try answers[1].get() }
        #expect(try answers[2].get().map(\.code) == ["BOW-SLEEP"])
    }

    @Test func concurrentSearchesThroughTheStoreEqualOnesShareAnAnswer() async throws {
        let pool = PostgresPool(configuration: .init(conninfo: fixture.conninfo, maxConnections: 2, sessionSetup: ApplicationRole.sessionSetup))
        let store = RegistryStore(pool: pool)
        let asked = (0..<300).map { filters[$0 % filters.count] }
        let answers = await withTaskGroup(of: (Int, String).self) { group in
            for (i, filter) in asked.enumerated() {
                group.addTask { (i, self.describe(await outcome { try await store.searchCourses(filter) })) }
            }
            var answers = Array(repeating: "", count: asked.count)
            for await (i, answer) in group { answers[i] = answer }
            return answers
        }
        await pool.close()
        let app = try fixture.app()
        for (filter, answer) in zip(asked, answers) {
            #expect(answer == describe(Result { try CatalogueStore.search(filter, app) }), "\(filter)")
        }
    }
}

private func outcome<T>(_ body: () async throws -> T) async -> Result<T, Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
