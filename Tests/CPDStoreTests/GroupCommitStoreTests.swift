import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// `recordCompletions`, the batcher's store call: one commit, set-based, each request decided
/// on its own and in order.
@Suite struct GroupCommitStoreTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("batch") }

    func request(_ key: String, practitioner: String = "P-1001", course: String = "MH-EVID", completed: String = "2026-08-01",
                 by principal: String = "root", provider: String? = nil) -> LedgerStore.CompletionRequest {
        LedgerStore.CompletionRequest(practitioner: practitioner, course: course, completed: day(completed), key: key, by: provider.map { .provider($0, account: principal) } ?? Recorder(name: principal, uid: nil, provider: nil))
    }

    func describe(_ result: Result<EntryReceipt, Error>) -> String {
        switch result {
        case .success(let r): "entry=\(r.entry) points=\(r.points)\(r.replayed ? " replayed" : "")"
        case .failure(let e): "\(e)"
        }
    }

    /// A batch with one request of each kind of outcome, sent after a first batch of `request("old")`.
    var mixedBatch: [LedgerStore.CompletionRequest] {
        [
            request("a"),                                            // new
            request("old"),                                          // replay of a committed entry
            request("old", completed: "2026-08-02"),                 // the committed key, another request
            request("b", practitioner: "P-404"),                     // unknown member
            request("c", course: "NOPE"),                            // unknown course
            request("d", course: "DRAFT-1"),                         // not published
            request("e", completed: "2099-01-01"),                   // in the future
            request("f", provider: "BOWEN"),                         // another provider's course
            request("a"),                                            // replay of the first in this batch
            request("a", course: "NMT-ANX"),                         // that key, another request
            request("b"),                                            // a key refused above, now good
            request("g", course: "NMT-ANX", by: "calm", provider: "CALM"), // a provider
            request("", course: "NMT-ANX"),                          // an empty key
        ]
    }

    func mixedBatchAnswers(_ c: PostgresConnection) throws -> [String] {
        [
            "entry=2 points=3.00",
            "entry=1 points=3.00 replayed",
            "key old was already used for another request (completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01)",
            "no practitioner P-404",
            "no course NOPE",
            "course: DRAFT-1 is draft, not published",
            "completed: 2099-01-01 is in the future (today is \(try Registry.today(c)))",
            "course MH-EVID belongs to CALM",
            "entry=2 points=3.00 replayed",
            "key a was already used for another request (completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01)",
            "entry=3 points=3.00",
            "entry=4 points=8.00",
            "key: must not be empty",
        ]
    }

    @Test func everyRequestIsDecidedOnItsOwnAndTheAcceptedAreNumberedInOrder() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        _ = try await LedgerStore.recordCompletions([request("old")], writer)
        let results = try await LedgerStore.recordCompletions(mixedBatch, writer).map(describe)
        #expect(results == (try mixedBatchAnswers(app)))
        #expect(try fixture.entryCount(app) == 4)
        #expect(try LedgerStore.verify(app) == .intact(entries: 4, head: try app.query("SELECT encode(hash, 'hex') FROM ledger_entry WHERE id = 4")[0][0]))
    }

    @Test func theOneByOneWayBackDecidesEveryRequestAsTheBatchDoes() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        _ = try await LedgerStore.recordCompletionsOneByOne([request("old")], writer)
        let results = try await LedgerStore.recordCompletionsOneByOne(mixedBatch, writer).map(describe)
        #expect(results == (try mixedBatchAnswers(app)))
        #expect(try fixture.entryCount(app) == 4)
    }

    @Test func aBatchDecidesKeysByWhatTheSenderActsFor() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let results = try await LedgerStore.recordCompletions([
            request("k", by: "calm-anna", provider: "CALM"),                    // new, in CALM's scope
            request("k", by: "calm-ben", provider: "CALM"),                     // CALM's other account: a replay
            request("k", course: "BOW-SLEEP", by: "bowen", provider: "BOWEN"),  // BOWEN's own key
            request("k", by: "root"),                                           // the registry's own key
            request("k", by: "cpd"),                                            // another admin: a replay
            request("k", completed: "2026-08-02", by: "calm-ben", provider: "CALM"), // CALM's key, another request
        ], writer).map(describe)
        #expect(results == [
            "entry=1 points=3.00", "entry=1 points=3.00 replayed", "entry=2 points=2.00", "entry=3 points=3.00",
            "entry=3 points=3.00 replayed",
            "key k was already used for another request (completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01)",
        ])
        // A later batch finds them by scope too.
        let later = try await LedgerStore.recordCompletions([request("k", by: "calm-carl", provider: "CALM"), request("k", by: "admin2")], writer).map(describe)
        #expect(later == ["entry=1 points=3.00 replayed", "entry=3 points=3.00 replayed"])
        #expect(try fixture.entryCount(app) == 3)
    }

    /// The append trigger insists on READ COMMITTED; a DBA's stricter default for the database must
    /// not refuse every completion (group commit's connections set their own).
    @Test func aStricterDefaultIsolationDoesNotRefuseCompletions() async throws {
        let owner = try fixture.owner()
        let database: String = try owner.query("SELECT current_database()")[0][0]
        try owner.execute(script: "ALTER DATABASE \"\(database)\" SET default_transaction_isolation = 'serializable'")
        let writer = fixture.driver()
        let results = try await LedgerStore.recordCompletions([request("strict-1"), request("strict-2", course: "NMT-ANX")], writer).map(describe)
        #expect(results == ["entry=1 points=3.00", "entry=2 points=8.00"])
    }

    /// Keys are compared by bytes end to end: a backslash followed by a combining mark once lost its
    /// backslash on the way into the batch's arrays, and its request was never answered as a replay.
    @Test func aKeyWithABackslashBeforeACombiningMarkIsKeptByteForByte() async throws {
        let writer = fixture.driver()
        let key = "row\\\u{301}-1"
        let first = try await LedgerStore.recordCompletions([request(key)], writer).map(describe)
        let again = try await LedgerStore.recordCompletions([request(key), request("row\u{301}-1")], writer).map(describe)
        #expect(first == ["entry=1 points=3.00"])
        #expect(again == ["entry=1 points=3.00 replayed", "entry=2 points=3.00"])
        let stored: String = try fixture.app().query("SELECT idempotency_key FROM ledger_entry WHERE id = 1")[0][0]
        #expect(Array(stored.utf8) == Array(key.utf8))
    }

    /// One batch, two members whose schemes count differently: each completion is worth what the
    /// member's own scheme says (points, or that scheme's hours from the course's minutes).
    @Test func eachCompletionInABatchIsWorthWhatItsMembersSchemeCounts() async throws {
        let app = try fixture.app()
        try SchemeStore.addScheme(
            try Scheme(code: "HOURS", title: "H", period: .rolling(months: 24), required: Points(24), unit: .hours(minutesPerHour: 50, rounding: .half)),
            startText: nil, app)
        try SchemeStore.addPractitioner(try Practitioner(id: "P-2001", name: "Hal", scheme: "HOURS", joined: day("2024-01-01")), by: .root, app)
        let content = try CourseContent(title: "Timed", points: Points(2), hours: Points(2), category: "ethics", delivery: .webinar, minutes: 125)
        try CatalogueStore.addCourse(code: "TIMED", provider: "CALM", content: content, by: "root", actingProvider: nil, app)
        try CatalogueStore.setStatus(code: "TIMED", to: .published, by: "root", actingProvider: nil, app)
        let results = try await LedgerStore.recordCompletions(
            [request("u1", practitioner: "P-2001", course: "TIMED"), request("u2", course: "TIMED")], fixture.driver()).map(describe)
        #expect(results == ["entry=1 points=2.50", "entry=2 points=2.00"])
    }

    @Test func batchesRacingForTheSameKeysMakeOneEntryPerKey() async throws {
        let keys = (0..<200).map { "race-\($0)" }
        let requests = keys.map { request($0) }
        let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                let writer = fixture.driver()  // as four cpdd on one database would
                group.addTask {
                    try await LedgerStore.recordCompletions(requests.shuffled(), writer).map { result in
                        guard case .success(let receipt) = result else { return "failed: \(result)" }
                        return "\(receipt.entry)"
                    }
                }
            }
            var all: [[String]] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.allSatisfy { $0.allSatisfy { !$0.hasPrefix("failed") } }, "\(outcomes.flatMap { $0 }.filter { $0.hasPrefix("failed") }.prefix(3))")
        let app = try fixture.app()
        let counts = try app.query("SELECT count(*) AS n, count(DISTINCT idempotency_key) AS k FROM ledger_entry WHERE idempotency_key LIKE 'race-%'")[0]
        #expect(try counts["n"] as Int64 == 200 && counts["k"] as Int64 == 200)
    }
}
