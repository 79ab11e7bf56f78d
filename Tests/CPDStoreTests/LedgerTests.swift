import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDStore
@testable import Postgres

@Suite struct LedgerTests {
    let fixture: StoreFixture
    init() throws { fixture = try StoreFixture("ledger") }

    func record(_ key: String, course: String = "MH-EVID", completed: String = "2026-08-01", practitioner: String = "P-1001", by: Recorder = .root, _ writer: PostgresDriver) async throws -> EntryReceipt {
        try await recordCompletion(practitioner: practitioner, course: course, completed: day(completed), key: key, by: by, writer)
    }

    // MARK: Append-only

    @Test func theApplicationRoleCannotUpdateDeleteOrTruncateTheLedger() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        _ = try await record("k1", writer)
        for statement in ["UPDATE ledger_entry SET points = 100", "DELETE FROM ledger_entry", "TRUNCATE ledger_entry"] {
            let error = #expect(throws: PostgresError.self) { try app.execute(script: statement) }
            #expect(error?.code == .insufficientPrivilege, "\(statement)")
        }
        #expect(try fixture.entryCount(app) == 1)
    }

    @Test func evenTheOwnerIsStoppedByTheTriggers() async throws {
        let writer = fixture.driver()
        let owner = try fixture.owner()
        _ = try await record("k1", writer)
        for statement in ["UPDATE ledger_entry SET points = 100", "DELETE FROM ledger_entry", "TRUNCATE ledger_entry"] {
            let error = #expect(throws: PostgresError.self) { try owner.execute(script: statement) }
            #expect(error?.code == SQLState("CP001"), "\(statement)")
            #expect(error?.hint?.contains("reversal") == true)
        }
        #expect(try fixture.entryCount(owner) == 1)
    }

    // MARK: Idempotency

    @Test func theSameKeyAndRequestAnswersWithTheFirstEntry() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let first = try await record("roster-77-row-3", writer)
        let again = try await record("roster-77-row-3", writer)
        #expect(!first.replayed && again.replayed)
        #expect(first.entry == again.entry && again.points == Points(3))
        #expect(try fixture.entryCount(app) == 1)
    }

    @Test func theSameKeyWithAnotherRequestIsAConflict() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        _ = try await record("k", writer)
        await #expect(throws: StoreError.self) { try await record("k", completed: "2026-08-02", writer) }
        #expect(try fixture.entryCount(app) == 1)
        // Keys belong to what their sender acts for: a provider may use the registry's key.
        #expect(try await !record("k", by: .provider("CALM", account: "calm-1"), writer).replayed)
    }

    @Test func manySendersRetryingTheSameKeysAtOnceMakeOneEntryPerKey() async throws {
        let receipts = Locked([String: Set<Int64>]())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                let writer = fixture.driver()  // a connection each, as twelve cpdd would have
                group.addTask {
                    for key in (0..<15).shuffled() {
                        let receipt = try await recordCompletion(
                            practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01").adding(days: key), key: "row-\(key)",
                            by: .root, writer)
                        receipts.withLock { _ = $0["row-\(key)", default: []].insert(receipt.entry) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try fixture.entryCount(fixture.owner()) == 15)
        #expect(receipts.value.count == 15)
        #expect(receipts.value.values.allSatisfy { $0.count == 1 }, "every retry of a key got the same entry")
        #expect(try LedgerStore.verify(fixture.owner()) == .intact(entries: 15, head: try fixture.owner().query("SELECT encode(hash, 'hex') FROM ledger_entry WHERE id = 15")[0][0]))
    }

    // MARK: Rejections change nothing

    @Test func aCompletionThatBreaksARuleIsRejectedWithItsReason() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        func rejection(_ body: () async throws -> EntryReceipt) async -> StoreError? {
            do {
                _ = try await body()
                return nil
            } catch let error as StoreError {
                return error
            } catch {
                return nil
            }
        }
        #expect(await rejection { try await record("a", practitioner: "P-9999", writer) } == .notFound("no practitioner P-9999"))
        #expect(await rejection { try await record("b", course: "NOPE", writer) } == .notFound("no course NOPE"))
        guard case .invalid(let draft) = await rejection({ try await record("c", course: "DRAFT-1", writer) }) else { Issue.record("draft accepted"); return }
        #expect(draft.message.contains("draft, not published"))
        guard case .invalid(let future) = await rejection({ try await record("d", completed: "2099-01-01", writer) }) else { Issue.record("future accepted"); return }
        #expect(future.message.contains("in the future"))
        guard case .invalid(let early) = await rejection({ try await record("e", completed: "2024-01-14", writer) }) else { Issue.record("pre-join accepted"); return }
        #expect(early.message.contains("before the practitioner joined"))
        #expect(try fixture.entryCount(app) == 0)
        // A key whose request failed is not used up.
        #expect(try await !record("a", writer).replayed)
    }

    // MARK: Reversals and adjustments

    @Test func anEntryCanBeReversedOnceAndAReversalNotAtAll() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let entry = try await record("k1", course: "NMT-ANX", writer)
        let reversal = try LedgerStore.reverse(entry: entry.entry, reason: "wrong member", key: "rev-1", by: .root, app)
        #expect(reversal.points == Points(-8))
        #expect(try LedgerStore.reverse(entry: entry.entry, reason: "wrong member", key: "rev-1", by: .root, app).replayed)
        #expect(throws: StoreError.conflict("entry \(entry.entry) was already reversed by entry \(reversal.entry)")) {
            try LedgerStore.reverse(entry: entry.entry, reason: "again", key: "rev-2", by: .root, app)
        }
        #expect(throws: StoreError.self) { try LedgerStore.reverse(entry: reversal.entry, reason: "undo", key: "rev-3", by: .root, app) }
        #expect(throws: StoreError.notFound("no entry 999")) { try LedgerStore.reverse(entry: 999, reason: "x", key: "rev-4", by: .root, app) }
        let standing = try LedgerStore.standing(practitioner: "P-1001", on: day("2026-11-21"), app).standing
        #expect(standing.earned == .zero)
        let lines = try await LedgerStore.statement(practitioner: "P-1001", from: nil, to: nil, fixture.driver())
        #expect(lines.map(\.kind) == [.completion, .reversal] && lines[1].reverses == entry.entry && lines[1].course == "NMT-ANX")
    }

    @Test func concurrentReversalsOfOneEntryLetExactlyOneThrough() async throws {
        let writer = fixture.driver()
        let entry = try await record("k1", writer).entry
        let conninfo = fixture.conninfo
        let outcomes = Locked([Bool]())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try await runOnOwnThread {
                        let c = try PostgresConnection(conninfo: conninfo, sessionSetup: ApplicationRole.sessionSetup)
                        let ok = (try? LedgerStore.reverse(entry: entry, reason: "dup", key: "rev-\(i)", by: .root, c)) != nil
                        outcomes.withLock { $0.append(ok) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(outcomes.value.filter { $0 }.count == 1)
        #expect(try fixture.entryCount(fixture.owner()) == 2)
    }

    @Test func aProviderReversesOnlyTheEntriesItRecorded() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let calmStaff = Recorder.provider("CALM", account: "calm-user")
        let byCalm = try await record("k1", course: "MH-EVID", by: calmStaff, writer)
        let byRegistry = try await record("k2", course: "NMT-ANX", writer)
        #expect(throws: StoreError.permissionDenied("entry \(byCalm.entry) was not recorded by BOWEN")) {
            try LedgerStore.reverse(entry: byCalm.entry, reason: "x", key: "r", by: .provider("BOWEN", account: "bowen-user"), app)
        }
        await #expect(throws: StoreError.self) {
            try await recordCompletion(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01"), key: "p", by: .provider("BOWEN", account: "bowen-user"), writer)
        }
        // The registry recorded this one on CALM's course: CALM may not reverse it; the registry may.
        #expect(throws: StoreError.permissionDenied("entry \(byRegistry.entry) was not recorded by CALM")) {
            try LedgerStore.reverse(entry: byRegistry.entry, reason: "x", key: "r2", by: calmStaff, app)
        }
        // What CALM recorded, any of CALM's accounts may reverse.
        _ = try LedgerStore.reverse(entry: byCalm.entry, reason: "x", key: "r", by: .provider("CALM", account: "calm-other"), app)
        _ = try LedgerStore.reverse(entry: byRegistry.entry, reason: "x", key: "r2", by: .root, app)
        #expect(try fixture.entryCount(app) == 4)
    }

    @Test func aProviderReversesAnEntryFromBeforeKeyScopesOnlyUnderItsOwnName() throws {
        let app = try fixture.app()
        let owner = try fixture.owner()
        for (name, key) in [("calm-user", "old-1"), ("root", "old-2")] {
            try owner.query(
                """
                INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, recorded_by, idempotency_key, request)
                VALUES ('P-1001', 'completion', 3, '2026-08-01', 'MH-EVID', 1, 'mental_health', 'online', $1, $2, 'old')
                """, [name, key])
        }
        #expect(throws: StoreError.permissionDenied("entry 2 was not recorded by CALM")) {
            try LedgerStore.reverse(entry: 2, reason: "x", key: "r", by: .provider("CALM", account: "calm-user"), app)
        }
        #expect(throws: StoreError.permissionDenied("entry 1 was not recorded by CALM")) {
            try LedgerStore.reverse(entry: 1, reason: "x", key: "r", by: .provider("CALM", account: "calm-other"), app)
        }
        _ = try LedgerStore.reverse(entry: 1, reason: "x", key: "r", by: .provider("CALM", account: "calm-user"), app)
    }

    // MARK: Key scopes

    @Test func theAccountsOfOneProviderShareItsKeys() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let first = try await record("roster-1", by: .provider("CALM", account: "calm-anna", uid: 2001), writer)
        let again = try await record("roster-1", by: .provider("CALM", account: "calm-ben", uid: 2002), writer)
        #expect(!first.replayed && again.replayed && again.entry == first.entry)
        await #expect(throws: StoreError.self) { try await record("roster-1", completed: "2026-08-02", by: .provider("CALM", account: "calm-ben"), writer) }
        #expect(try fixture.entryCount(app) == 1)
        let row = try app.query("SELECT recorded_by, recorded_by_uid, key_scope FROM ledger_entry")[0]
        #expect(try row["recorded_by"] as String == "calm-anna" && row["recorded_by_uid"] as Int64? == 2001 && row["key_scope"] as String == "provider:CALM")
    }

    @Test func twoProvidersMayUseTheSameKey() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let calm = try await record("row-1", by: .provider("CALM", account: "calm"), writer)
        let bowen = try await record("row-1", course: "BOW-SLEEP", by: .provider("BOWEN", account: "bowen"), writer)
        #expect(!calm.replayed && !bowen.replayed && calm.entry != bowen.entry)
    }

    @Test func everyAdminSharesTheRegistrysKeys() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        let root = try await record("import-1", writer)
        let service = try await record("import-1", by: Recorder(name: "cpd", uid: 998, provider: nil), writer)
        #expect(service.replayed && service.entry == root.entry)
        // A renamed account, or a new one with an old name, acts for what its principal says, not its name.
        let renamed = try await record("import-1", by: .provider("CALM", account: "root"), writer)
        #expect(!renamed.replayed)
        #expect(try fixture.entryCount(app) == 2)
    }

    @Test func anEntryFromBeforeKeyScopesIsStillAnsweredToItsAccount() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        try fixture.owner().query(
            """
            INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, recorded_by, idempotency_key, request)
            VALUES ('P-1001', 'completion', 3, '2026-08-01', 'MH-EVID', 1, 'mental_health', 'online', 'calm-anna', 'legacy-1',
                    'completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01')
            """)
        let retried = try await record("legacy-1", by: .provider("CALM", account: "calm-anna"), writer)
        #expect(retried.replayed && retried.entry == 1)
        let batched = try await LedgerStore.recordCompletions([
            LedgerStore.CompletionRequest(practitioner: "P-1001", course: "MH-EVID", completed: day("2026-08-01"), key: "legacy-1", by: .provider("CALM", account: "calm-anna")),
        ], writer)
        guard case .success(let receipt) = batched.first else { Issue.record("\(batched)"); return }
        #expect(receipt.replayed && receipt.entry == 1)
        #expect(try fixture.entryCount(app) == 1)
    }

    @Test func adjustmentsNeedAReasonAndCountBothWays() throws {
        let app = try fixture.app()
        _ = try LedgerStore.adjust(practitioner: "P-1001", points: Points(2), reason: "conference attended", category: nil, delivery: nil, key: "adj-1", by: .root, app)
        _ = try LedgerStore.adjust(practitioner: "P-1001", points: Points(-1), reason: "double counted", category: "clinical", delivery: .inPerson, key: "adj-2", by: .root, app)
        #expect(throws: StoreError.self) { try LedgerStore.adjust(practitioner: "P-1001", points: Points(1), reason: " ", category: nil, delivery: nil, key: "adj-3", by: .root, app) }
        #expect(throws: StoreError.self) { try LedgerStore.adjust(practitioner: "P-1001", points: .zero, reason: "x", category: nil, delivery: nil, key: "adj-4", by: .root, app) }
        #expect(try LedgerStore.standing(practitioner: "P-1001", app).standing.earned == Points(1))
    }

    // MARK: The hash chain

    @Test func writersOnManyConnectionsAppendOneGapFreeChain() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<6 {
                let writer = fixture.driver()
                group.addTask {
                    for i in 0..<20 {
                        _ = try await recordCompletion(practitioner: "P-1001", course: "BOW-SLEEP", completed: day("2026-08-01"), key: "w\(number)-\(i)", by: .root, writer)
                    }
                }
            }
            try await group.waitForAll()
        }
        let owner = try fixture.owner()
        guard case .intact(let entries, let head) = try LedgerStore.verify(owner) else { Issue.record("chain broken"); return }
        #expect(entries == 120 && head.count == 64)
        #expect(try owner.query("SELECT max(id) = count(*) FROM ledger_entry")[0][0] as Bool)
    }

    @Test func aRowChangedBehindTheApplicationsBackIsFound() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        for i in 1...5 { _ = try await record("k\(i)", completed: "2026-08-0\(i)", writer) }
        let owner = try fixture.owner()
        // What someone with the owner's password could do: switch the guard off and edit a row.
        try owner.execute(script: """
            ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_no_update_or_delete;
            UPDATE ledger_entry SET points = 30 WHERE id = 3;
            ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_no_update_or_delete;
            """)
        #expect(try LedgerStore.verify(owner) == .broken(entry: 3, problem: "its content does not match its hash"))
        // Deleting a row instead shows as a gap.
        try owner.execute(script: """
            ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_no_update_or_delete;
            UPDATE ledger_entry SET points = 3 WHERE id = 3;
            DELETE FROM ledger_entry WHERE id = 4;
            ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_no_update_or_delete;
            """)
        #expect(try LedgerStore.verify(owner) == .broken(entry: 5, problem: "entry 4 is missing"))
    }

    /// The chain is checked in Swift (LedgerChain) and can be checked in SQL (ledger_first_break()):
    /// both must give the same answer for the same ledger, sound or broken.
    func sqlVerdict(_ c: PostgresConnection) throws -> LedgerStore.Verification? {
        try c.query("SELECT id, problem FROM ledger_first_break()").first.map { .broken(entry: try $0["id"], problem: try $0["problem"]) }
    }

    @Test func theChainCheckInSwiftAgreesWithSQLOnAwkwardTextAndEveryKindOfBreak() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        // Text json_build_array has to escape: quotes, backslashes, every control character, and
        // UTF-8 it must leave alone; numbers with signs; NULLs in every nullable column.
        let control = String(decoding: (1..<32).map { UInt8($0) }, as: UTF8.self)
        let awkward = ["say \"hi\"", "back\\slash \\u0041", control, "tab\there\nnew line\r", "Ünïcödé 日本語 🧘‍♀️", "\u{7F} del", "/ solidus"]
        for (i, text) in awkward.enumerated() {
            _ = try app.withTransaction { c in
                try LedgerStore.insert(
                    c, practitioner: "P-1001", kind: .adjustment, points: Points(hundredths: i % 2 == 0 ? -125 : 99_999),
                    effective: day("2024-02-29"), reason: text, by: .root, key: "awk-\(i)", request: text + " request")
            }
        }
        _ = try await record("plain", writer)
        let owner = try fixture.owner()
        // Days outside four-digit years: the check has the database format these, as the digest does.
        for (key, effective) in [("far", "12345-06-07"), ("bc", "0044-03-15 BC"), ("endless", "infinity")] {
            try owner.query(
                """
                INSERT INTO ledger_entry (practitioner, kind, points, effective, reason, recorded_by, idempotency_key, request)
                VALUES ('P-1001', 'adjustment', 1, $1::date, 'odd day', 'root', $2, 'odd day')
                """, [effective, key])
        }
        guard case .intact(let entries, let head) = try LedgerStore.verify(owner) else {
            Issue.record("the Swift check finds a break the trigger did not make")
            return
        }
        #expect(entries == Int64(awkward.count + 4))
        #expect(try sqlVerdict(owner) == nil)
        #expect(head == (try owner.query("SELECT encode(hash, 'hex') FROM ledger_entry ORDER BY id DESC LIMIT 1")[0][0] as String))

        // Each kind of break, made behind the application's back; both checks name the same entry and
        // the same problem.
        let breaks: [(String, String)] = [
            ("UPDATE ledger_entry SET reason = reason || 'x' WHERE id = 3", "UPDATE ledger_entry SET reason = left(reason, -1) WHERE id = 3"),
            ("UPDATE ledger_entry SET prev_hash = sha256('x') WHERE id = 4", "UPDATE ledger_entry SET prev_hash = (SELECT hash FROM ledger_entry WHERE id = 3) WHERE id = 4"),
            ("UPDATE ledger_entry SET hash = '\\x00' WHERE id = 2", "UPDATE ledger_entry SET hash = ledger_entry_digest(l) FROM ledger_entry l WHERE l.id = 2 AND ledger_entry.id = 2"),
            ("UPDATE ledger_entry SET category = 'ethics' WHERE id = 6", "UPDATE ledger_entry SET category = NULL WHERE id = 6"),
            ("UPDATE ledger_entry SET id = 100 WHERE id = 1", "UPDATE ledger_entry SET id = 1 WHERE id = 100"),
            // A time to_char cannot format (it gives NULL, which the digest writes as null).
            ("CREATE TEMP TABLE kept AS SELECT recorded_at FROM ledger_entry WHERE id = 5; UPDATE ledger_entry SET recorded_at = 'infinity' WHERE id = 5",
             "UPDATE ledger_entry SET recorded_at = (SELECT recorded_at FROM kept) WHERE id = 5; DROP TABLE kept"),
        ]
        for (damage, repair) in breaks {
            try owner.execute(script: "ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_no_update_or_delete; \(damage); ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_no_update_or_delete;")
            let swift = try LedgerStore.verify(owner)
            guard case .broken = swift else {
                Issue.record("not found by the Swift check: \(damage)")
                continue
            }
            #expect(swift == (try sqlVerdict(owner)), "\(damage)")
            try owner.execute(script: "ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_no_update_or_delete; \(repair); ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_no_update_or_delete;")
            #expect(try LedgerStore.verify(owner) == .intact(entries: entries, head: head), "repaired: \(repair)")
        }

        // Whatever text encoding and bytea format the connection was opened with.
        for odd in [try PostgresConnection(conninfo: fixture.conninfo + " client_encoding=LATIN1"),
                    try PostgresConnection(conninfo: fixture.conninfo, sessionSetup: "SET bytea_output = 'escape'")] {
            #expect(try LedgerStore.verify(odd) == .intact(entries: entries, head: head))
        }
    }

    @Test func timesAreWrittenAsTheDigestsToCharWritesThem() throws {
        let owner = try fixture.owner()
        let samples = ["2026-11-22 03:17:41", "2026-11-22 03:17:41.5", "2026-11-22 03:17:41.000001", "2026-11-22 03:17:41.123456",
                       "2026-11-22 03:17:41.12", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2024-02-29 12:00:00.1"]
        for sample in samples {
            let row = try owner.query(
                "SELECT $1::timestamp::text, to_char($1::timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), $1::timestamp::date::text, to_char($1::timestamp::date, 'YYYY-MM-DD')",
                [sample])[0]
            var instant: [UInt8] = [], day: [UInt8] = []
            #expect(row.withUnsafeBytes(at: 0) { LedgerChain.isoInstant($0!, into: &instant) }, "\(sample)")
            #expect(row.withUnsafeBytes(at: 2) { LedgerChain.isoDay($0!, into: &day) }, "\(sample)")
            #expect(String(decoding: instant, as: UTF8.self) == "\"" + (try row[1] as String) + "\"")
            #expect(String(decoding: day, as: UTF8.self) == "\"" + (try row[3] as String) + "\"")
        }
        // Forms it does not know are left to the database.
        for odd in ["12345-01-01 00:00:00", "0044-03-15 00:00:00 BC", "infinity"] {
            let row = try owner.query("SELECT $1::timestamp::text, $1::timestamp::date::text", [odd])[0]
            var out: [UInt8] = []
            #expect(!row.withUnsafeBytes(at: 0) { LedgerChain.isoInstant($0!, into: &out) }, "\(odd)")
            #expect(!row.withUnsafeBytes(at: 1) { LedgerChain.isoDay($0!, into: &out) }, "\(odd)")
        }
    }

    @Test func anAppendUnderAStricterIsolationIsRefused() throws {
        let app = try fixture.app()
        let error = #expect(throws: PostgresError.self) {
            try app.withTransaction(isolation: .serializable, retry: .never) { c in
                _ = try LedgerStore.insert(c, practitioner: "P-1001", kind: .adjustment, points: Points(1), effective: day("2026-08-01"), reason: "x", by: .root, key: "iso", request: "x")
            }
        }
        #expect(error?.code == SQLState("25001"))
    }

    // MARK: Opening balance and carry-over

    @Test func aNewMemberOfASchemeWithAnOpeningBalanceStartsWithIt() async throws {
        let app = try fixture.app()
        let writer = fixture.driver()
        try SchemeStore.addScheme(try Scheme(code: "MMA-REM", title: "MMA", period: .rolling(months: 36), required: Points(40), openingBalance: Points(40)), startText: nil, app)
        let member = try Practitioner(id: "P-2001", name: "Sam", scheme: "MMA-REM", joined: day("2026-02-01"))
        try SchemeStore.addPractitioner(member, by: .root, app)
        try SchemeStore.addPractitioner(member, by: .root, app)  // a retry: no second balance
        #expect(throws: StoreError.self) { try SchemeStore.addPractitioner(try Practitioner(id: "P-2001", name: "Someone else", scheme: "MMA-REM", joined: day("2026-02-01")), by: .root, app) }
        let lines = try await LedgerStore.statement(practitioner: "P-2001", from: nil, to: nil, fixture.driver())
        #expect(lines.count == 1 && lines[0].kind == .openingBalance && lines[0].points == Points(40) && lines[0].date == day("2026-02-01"))
        #expect(try LedgerStore.standing(practitioner: "P-2001", on: day("2026-11-21"), app).standing.counted == Points(40))
    }

    /// The issue's example: anniversary, 20 a year, at most 10 carried; joined 1 March 2024, 34 in the
    /// first year, 8 in the second.
    func carryOverMember(_ app: PostgresConnection) async throws {
        let writer = fixture.driver()
        try SchemeStore.addScheme(try Scheme(code: "CMA", title: "CMA", period: .anniversary(months: 12), required: Points(20), carryOverMax: Points(10)), startText: nil, app)
        try SchemeStore.addPractitioner(try Practitioner(id: "P-3001", name: "Kim", scheme: "CMA", joined: day("2024-03-01")), by: .root, app)
        for (index, date) in ["2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01"].enumerated() {
            _ = try await record("c\(index)", course: "NMT-ANX", completed: date, practitioner: "P-3001", writer)
        }
        _ = try await record("c4", course: "BOW-SLEEP", completed: "2024-08-01", practitioner: "P-3001", writer)
        _ = try await record("c5", course: "NMT-ANX", completed: "2025-06-01", practitioner: "P-3001", writer)
    }

    @Test func carryOverCountsInTheNextCycleWithNoEntryWritten() async throws {
        let app = try fixture.app()
        try await carryOverMember(app)
        let standing = try LedgerStore.standing(practitioner: "P-3001", on: day("2025-09-01"), app).standing
        #expect(standing.cycle == Cycle(start: day("2025-03-01"), end: day("2026-02-28")))
        #expect(standing.carried == Points(10) && standing.earned == Points(18) && standing.counted == Points(18) && standing.shortfall == Points(2))
        #expect(try LedgerStore.standing(practitioner: "P-3001", on: day("2025-03-01"), app).standing.counted == Points(10), "from the cycle's first day")
        #expect(try fixture.entryCount(app) == 6, "nothing was written")

        // The statement shows the carry on the cycle's first day, so the cycle's lines add up to 18.
        let lines = try await LedgerStore.statement(practitioner: "P-3001", from: day("2025-03-01"), to: nil, fixture.driver())
        #expect(lines.count == 2)
        #expect(lines[0] == LedgerStore.StatementLine(
            entry: nil, kind: .carryOver, date: day("2025-03-01"), points: Points(10), reason: "carried from the cycle 2024-03-01 to 2025-02-28"))
        #expect(lines[1].entry == 6 && lines.reduce(Points.zero) { $0 + $1.points } == standing.earned)
        // Nothing carries into a cycle that starts after `to`, or into the member's first cycle.
        #expect(try await LedgerStore.statement(practitioner: "P-3001", from: nil, to: day("2025-02-28"), fixture.driver()).allSatisfy { $0.entry != nil })
        // The second year was short at its close: nothing carries into the third.
        #expect(try LedgerStore.standing(practitioner: "P-3001", on: day("2026-03-01"), app).standing.carried == .zero)
    }

    @Test func aCarryOverEntryInTheLedgerIsNeverCountedTwice() async throws {
        let app = try fixture.app()
        try await carryOverMember(app)
        // What the removed appendCarryOver wrote (an older cpdd), and one of another figure by hand.
        _ = try LedgerStore.insert(
            app, practitioner: "P-3001", kind: .carryOver, points: Points(10), effective: day("2025-03-01"),
            reason: "carried from the cycle 2024-03-01 to 2025-02-28", by: .daemon, key: "carry-over:P-3001:2025-03-01",
            request: "carry_over practitioner=P-3001 cycle=2025-03-01")
        _ = try LedgerStore.insert(
            app, practitioner: "P-3001", kind: .carryOver, points: Points(3), effective: day("2025-03-02"), reason: "by hand", by: .root,
            key: "by-hand", request: "by hand")
        let standing = try LedgerStore.standing(practitioner: "P-3001", on: day("2025-09-01"), app).standing
        #expect(standing.carried == Points(10) && standing.earned == Points(18) && standing.counted == Points(18))
        var seen: [String: Standing] = [:]
        try LedgerStore.allStandings(on: day("2025-09-01"), app) { seen[$0.practitioner.id] = $0.standing }
        #expect(seen["P-3001"] == standing)
        let lines = try await LedgerStore.statement(practitioner: "P-3001", from: day("2025-03-01"), to: nil, fixture.driver())
        #expect(lines.map(\.entry) == [nil, 7, 8, 6])
        #expect(lines.map(\.counts) == [true, false, false, true])
        #expect(lines.filter(\.counts).reduce(Points.zero) { $0 + $1.points } == standing.earned)
    }
}
