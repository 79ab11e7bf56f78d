import CPDCore
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

/// What an entry keeps of its request, to tell a retry (a replay) from another use of its key (a
/// conflict): made from the typed request, and still recognising what earlier versions stored.
@Suite struct RequestFingerprintTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("fingerprint") }

    // MARK: The form

    @Test func theFormIsVersionedAndCountsTheBytesOfEveryValue() {
        #expect(RequestFingerprint.completion(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01")).text
            == "v2 completion practitioner=6:P-1001 course=7:MH-EVID completed=10:2026-08-01")
        #expect(RequestFingerprint.reversal(entry: 12, reason: "wrong member, é").text == "v2 reversal entry=2:12 reason=16:wrong member, é")
        #expect(RequestFingerprint.adjustment(practitioner: "P-1001", points: Points(hundredths: -150), reason: "x", category: nil, delivery: .online).text
            == "v2 adjustment practitioner=6:P-1001 points=5:-1.50 reason=1:x category=- delivery=6:online")
        #expect(RequestFingerprint.adjustment(practitioner: "P-1001", points: Points(1), reason: "x", category: "", delivery: nil).text
            == "v2 adjustment practitioner=6:P-1001 points=4:1.00 reason=1:x category=0: delivery=-", "empty is not none")
    }

    @Test func requestsThatTheOldTextConfusedHaveDifferentFingerprints() {
        // The old text had no way to tell where one value ended and the next name began.
        let a = RequestFingerprint.completion(practitioner: "P-1 course=C", course: "D", completed: day("2026-08-01"))
        let b = RequestFingerprint.completion(practitioner: "P-1", course: "C course=D", completed: day("2026-08-01"))
        #expect(a.legacyText == b.legacyText)
        #expect(a.text != b.text && !a.matches(b.text) && !b.matches(a.text))
        let c = RequestFingerprint.adjustment(practitioner: "P-1", points: Points(1), reason: "r delivery=online category=", category: nil, delivery: nil)
        let d = RequestFingerprint.adjustment(practitioner: "P-1", points: Points(1), reason: "r", category: nil, delivery: .online)
        #expect(!c.matches(d.text) && !d.matches(c.text))
    }

    @Test func aRequestMatchesItsOwnFormsByteForByte() {
        let request = RequestFingerprint.reversal(entry: 3, reason: "café")
        #expect(request.matches("v2 reversal entry=1:3 reason=5:café"))
        #expect(request.matches("entry.reverse entry=3 reason=café"), "the form stored before version 2")
        #expect(!request.matches("entry.reverse entry=3 reason=cafe\u{301}"), "another spelling is another request, as PostgreSQL compares text")
        #expect(!RequestFingerprint.openingBalance(practitioner: "P-1", scheme: "S").matches("practitioner.add id=P-1 scheme=S"))
    }

    // MARK: After an upgrade

    /// A completion stored by a cpdd before version 2, exactly as it wrote one.
    func oldCompletion(key: String, by recorder: Recorder = .root, _ c: PostgresConnection) throws -> Int64 {
        try c.withTransaction(isolation: .readCommitted) { c in
            try LedgerStore.insert(
                c, practitioner: "P-1001", kind: .completion, points: Points(3), effective: day("2026-08-01"), course: "MH-EVID", version: 1,
                category: "mental_health", delivery: .online, by: recorder, key: key,
                request: "completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01")
        }
    }

    func completion(_ key: String, completed: String = "2026-08-01", by recorder: Recorder = .root) -> LedgerStore.CompletionRequest {
        LedgerStore.CompletionRequest(practitioner: "P-1001", course: "MH-EVID", completed: day(completed), key: key, by: recorder)
    }

    @Test func aCompletionRetriedAfterTheUpgradeIsAReplayOfWhatTheOldVersionStored() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let first = try oldCompletion(key: "row-1", app)
        let retried = try await LedgerStore.recordCompletions([completion("row-1"), completion("row-1", by: Recorder(name: "cpd", uid: 998, provider: nil))], writer)
        for outcome in retried {
            let receipt = try outcome.get()
            #expect(receipt.replayed && receipt.entry == first && receipt.points == Points(3))
        }
        await #expect(throws: StoreError.self, "the same key with another request is still a conflict") {
            try await LedgerStore.recordCompletions([completion("row-1", completed: "2026-08-02")], writer)[0].get()
        }
        #expect(try fixture.entryCount(app) == 1)
    }

    @Test func theOneByOneWayBackAlsoKnowsTheOldForm() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let first = try oldCompletion(key: "row-1", by: .provider("CALM", account: "calm-anna"), app)
        let retried = try await LedgerStore.recordCompletionsOneByOne([completion("row-1", by: .provider("CALM", account: "calm-ben"))], writer)
        let receipt = try retried[0].get()
        #expect(receipt.replayed && receipt.entry == first)
        #expect(try fixture.entryCount(app) == 1)
    }

    @Test func aReversalOrAnAdjustmentRetriedAfterTheUpgradeIsAReplay() throws {
        let app = try fixture.app()
        let completed = try oldCompletion(key: "row-1", app)
        let reversal = try app.withTransaction(isolation: .readCommitted) { c in
            try LedgerStore.insert(
                c, practitioner: "P-1001", kind: .reversal, points: Points(-3), effective: day("2026-08-01"), course: "MH-EVID", version: 1,
                category: "mental_health", delivery: .online, reverses: completed, reason: "wrong member", by: .root, key: "rev-1",
                request: "entry.reverse entry=\(completed) reason=wrong member")
        }
        let adjustment = try app.withTransaction(isolation: .readCommitted) { c in
            try LedgerStore.insert(
                c, practitioner: "P-1001", kind: .adjustment, points: Points(hundredths: 250), effective: day("2026-08-01"), category: "clinical",
                reason: "conference attended", by: .root, key: "adj-1",
                request: "entry.adjust practitioner=P-1001 points=2.50 reason=conference attended category=clinical delivery=")
        }
        let reversed = try LedgerStore.reverse(entry: completed, reason: " wrong member ", key: "rev-1", by: .root, app)
        #expect(reversed.replayed && reversed.entry == reversal)
        let adjusted = try LedgerStore.adjust(
            practitioner: "P-1001", points: Points(hundredths: 250), reason: "conference attended", category: "clinical", delivery: nil,
            key: "adj-1", by: .root, app)
        #expect(adjusted.replayed && adjusted.entry == adjustment)
        #expect(throws: StoreError.self) {
            try LedgerStore.adjust(
                practitioner: "P-1001", points: Points(hundredths: 250), reason: "conference attended", category: "clinical", delivery: .online,
                key: "adj-1", by: .root, app)
        }
        #expect(try fixture.entryCount(app) == 3)
    }

    @Test func newEntriesAreWrittenInTheNewFormAndTheChainHolds() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let entry = try await recordCompletion(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01"), key: "new-1", by: .root, writer)
        _ = try LedgerStore.reverse(entry: entry.entry, reason: "wrong member", key: "new-2", by: .root, app)
        _ = try LedgerStore.adjust(practitioner: "P-1001", points: Points(2), reason: "x", category: nil, delivery: nil, key: "new-3", by: .root, app)
        let stored = try app.query("SELECT request FROM ledger_entry WHERE idempotency_key LIKE 'new-%' ORDER BY id").map { try $0[0] as String }
        #expect(stored == [
            "v2 completion practitioner=6:P-1001 course=7:MH-EVID completed=10:2026-08-01",
            "v2 reversal entry=1:\(entry.entry) reason=12:wrong member",
            "v2 adjustment practitioner=6:P-1001 points=4:2.00 reason=1:x category=- delivery=-",
        ])
        guard case .intact(let entries, _) = try LedgerStore.verify(app) else { Issue.record("chain broken"); return }
        #expect(entries == 3)
    }
}

/// A conflict names the first request in the command's words, whichever form the ledger keeps.
@Suite struct ReadableFingerprintTests {
    @Test func version2ReadsBackAsTheCommandAndEarlierTextStaysAsItIs() throws {
        let completion = RequestFingerprint.completion(practitioner: "P-1001", course: "MH-EVID", completed: try #require(Day(year: 2026, month: 8, day: 1)))
        #expect(RequestFingerprint.readable(completion.text) == "completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01")
        let adjustment = RequestFingerprint.adjustment(practitioner: "P-1", points: Points(hundredths: -150), reason: "a=b c", category: nil, delivery: .online)
        #expect(RequestFingerprint.readable(adjustment.text) == "entry.adjust practitioner=P-1 points=-1.50 reason=a=b c delivery=online")
        #expect(RequestFingerprint.readable("completion.record practitioner=P-1 course=C completed=2026-01-01")
            == "completion.record practitioner=P-1 course=C completed=2026-01-01")
        #expect(RequestFingerprint.readable("v2 completion practitioner=99:P") == "v2 completion practitioner=99:P", "a count past the end")
        #expect(RequestFingerprint.readable("v2 completion practitioner") == "v2 completion practitioner")
    }
}
