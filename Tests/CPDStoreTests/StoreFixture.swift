import CPDCore
import Foundation
import TestSupport

@testable import CPDStore
@testable import Postgres

/// A fresh, migrated database with a small catalogue, and connections as the owner and as cpdd's role.
struct StoreFixture {
    let conninfo: String

    init(_ label: String) throws {
        conninfo = try TestDatabase.fresh(label)
        let owner = try PostgresConnection(conninfo: conninfo)
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(owner)
        let app = try self.app()
        try CatalogueStore.addProvider(Provider(code: "CALM", name: "Calm Hands"), app)
        try CatalogueStore.addProvider(Provider(code: "BOWEN", name: "Bowen Works"), app)
        try addCourse("MH-EVID", provider: "CALM", title: "Massage and mental health: the evidence", summary: "Cortisol, serotonin and mood.", points: "3", delivery: .online, category: "mental_health", app)
        try addCourse("NMT-ANX", provider: "CALM", title: "Neuromuscular technique for anxiety-related tension", summary: "Trigger points, hands on.", points: "8", delivery: .inPerson, category: "clinical", app)
        try addCourse("BOW-SLEEP", provider: "BOWEN", title: "Bowen therapy for stress and sleep", summary: "Gentle moves that calm anxiety at night.", points: "2", delivery: .webinar, category: "mental_health", app)
        for code in ["MH-EVID", "NMT-ANX", "BOW-SLEEP"] {
            try CatalogueStore.setStatus(code: code, to: .published, by: "root", actingProvider: nil, app)
        }
        try addCourse("DRAFT-1", provider: "CALM", title: "Unfinished", summary: "", points: "1", delivery: .reading, category: "clinical", app)
        let scheme = try Scheme(code: "MYO-AA", title: "Myotherapy", period: SchemePeriod(kind: "fixed", length: 12, start: "07-01"), required: Points(20))
        try SchemeStore.addScheme(scheme, startText: "07-01", app)
        try SchemeStore.addRule(scheme: "MYO-AA", SchemeRule(target: .delivery(.inPerson), bound: .min(Points(4))), app)
        try SchemeStore.addPractitioner(Practitioner(id: "P-1001", name: "Alex Ng", scheme: "MYO-AA", joined: Day(parsing: "2024-01-15")!), by: .root, app)
    }

    func owner() throws -> PostgresConnection { try PostgresConnection(conninfo: conninfo) }
    /// A connection as cpdd works: SET ROLE cpd_app.
    func app() throws -> PostgresConnection { try PostgresConnection(conninfo: conninfo, sessionSetup: ApplicationRole.sessionSetup) }
    /// The way group commit and `statement` reach the database, as cpdd opens it: a non-blocking
    /// driver, as cpd_app.
    func driver() -> PostgresDriver {
        PostgresDriver(configuration: PostgresPool.Configuration(conninfo: conninfo, sessionSetup: ApplicationRole.appendSessionSetup), connections: 1)
    }

    func addCourse(_ code: String, provider: String, title: String, summary: String, points: String, delivery: Delivery, category: String, _ c: PostgresConnection) throws {
        let content = try CourseContent(title: title, summary: summary, points: Points(parsing: points)!, hours: Points(parsing: points)!, category: category, delivery: delivery, modalities: ["remedial"])
        try CatalogueStore.addCourse(code: code, provider: provider, content: content, by: "root", actingProvider: nil, c)
    }

    func entryCount(_ c: PostgresConnection) throws -> Int { try c.query("SELECT count(*) FROM ledger_entry")[0][0] }
}

func day(_ text: String) -> Day { Day(parsing: text)! }

/// One completion through the store's one path (`recordCompletions`, as the batcher calls it): its
/// receipt, or its refusal thrown.
func recordCompletion(
    practitioner: String, course: String, completed: Day, key: String, by recorder: Recorder, _ writer: PostgresDriver
) async throws -> EntryReceipt {
    let request = LedgerStore.CompletionRequest(practitioner: practitioner, course: course, completed: completed, key: key, by: recorder)
    let outcomes = try await LedgerStore.recordCompletions([request], writer)
    guard outcomes.count == 1, let outcome = outcomes.first else { throw StoreError.conflict("\(outcomes.count) outcomes for one request") }
    return try outcome.get()
}

extension Recorder {
    /// An admin: acts for the registry.
    static let root = Recorder(name: "root", uid: 0, provider: nil)
    /// One of a provider's accounts.
    static func provider(_ code: String, account: String, uid: UInt32? = nil) -> Recorder {
        Recorder(name: account, uid: uid, provider: code)
    }
}
