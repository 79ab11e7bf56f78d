import CPDCore
import Postgres

/// The points ledger: appends (idempotent by the sender's key), standings, statements, verification.
///
/// Ledger writes run under READ COMMITTED: the append trigger orders all appenders with an advisory
/// lock and must see what the previous holder committed.
public enum LedgerStore {
    /// Keys are unique per key scope (`Recorder.keyScope`); entries made before scopes existed keep
    /// their uniqueness per account name (`ledger_entry_legacy_key`), and new entries never meet it.
    static let keyConstraint = "ledger_entry_scope_key"
    static let reversesConstraint = "ledger_entry_reverses_key"

    // MARK: - Writes

    /// One completion to record: what `completion.record` carries.
    public struct CompletionRequest: Sendable {
        public var practitioner: String
        public var course: String
        public var completed: Day
        public var key: String
        public var recorder: Recorder

        public init(practitioner: String, course: String, completed: Day, key: String, by recorder: Recorder) {
            self.practitioner = practitioner
            self.course = course
            self.completed = completed
            self.key = key
            self.recorder = recorder
        }

        var fingerprint: RequestFingerprint { .completion(practitioner: practitioner, course: course, completed: completed) }
    }

    /// Records many completions with one commit (group commit: one fsync for the lot), set-based,
    /// in two round trips through the non-blocking driver: one pipeline looks up the keys already
    /// used, the members, the courses and today for the whole batch; every request is decided in
    /// Swift in order; one INSERT, in a transaction of its own, appends the accepted ones in request
    /// order. One that is refused fails alone and the others stand. The results are in the order of
    /// `requests`; nothing is acknowledged before the commit. (The look-ups need no transaction with
    /// the INSERT: under READ COMMITTED they took no locks and their snapshot ended with them anyway,
    /// and what the unique keys guard is checked again by the INSERT itself.)
    ///
    /// The requests come from many senders, so one sender's bad request must not fail the others':
    /// whatever the table's constraints would refuse is refused first, in Swift (`check`), and should
    /// the batch's INSERT fail all the same (another writer took one of the batch's keys meanwhile, or
    /// anything not foreseen), the batch is done again one request at a time
    /// (`recordCompletionsOneByOne`), where only the request at fault fails.
    public static func recordCompletions(_ requests: [CompletionRequest], _ driver: PostgresDriver) async throws -> [Result<EntryReceipt, Error>] {
        var refused: [Result<EntryReceipt, Error>?] = Array(repeating: nil, count: requests.count)
        for (index, request) in requests.enumerated() {
            do { try check(request) } catch { refused[index] = .failure(error) }
        }
        let kept = requests.indices.filter { refused[$0] == nil }
        let batch = kept.map { requests[$0] }
        var outcomes: [Result<EntryReceipt, Error>] = []
        if !batch.isEmpty {
            do {
                outcomes = try await recordSetBased(batch, driver)
            } catch let error as PostgresError where error.violates(keyConstraint) {
                // Another writer (another cpdd) took one of the keys meanwhile: the batch's look-ups
                // now see it, so the batch is done again as a batch first (one commit, not one each).
                do {
                    outcomes = try await recordSetBased(batch, driver)
                } catch let error as PostgresError where !error.isConnectionLoss {
                    outcomes = try await recordCompletionsOneByOne(batch, driver)
                }
            } catch let error as PostgresError where !error.isConnectionLoss {
                outcomes = try await recordCompletionsOneByOne(batch, driver)
            }
        }
        var results = refused
        for (index, outcome) in zip(kept, outcomes) { results[index] = outcome }
        return results.map { $0 ?? .failure(StoreError.conflict("the completion was not recorded; try again")) }
    }

    /// What the table would refuse of a completion, refused before any statement: a key of the wrong
    /// length (counted as PostgreSQL counts it) or with control characters, and NUL in any text
    /// (libpq takes C strings, and the Postgres layer refuses such a parameter for the whole statement).
    static func check(_ request: CompletionRequest) throws(StoreError) {
        _ = try validated { () throws(ValidationError) in try IdempotencyKey.validate(request.key) }
        for (field, value) in [("practitioner", request.practitioner), ("course", request.course)] where value.unicodeScalars.contains("\u{0}") {
            throw StoreError.invalid(ValidationError(field, "must not contain NUL (U+0000)"))
        }
    }

    static func recordSetBased(_ requests: [CompletionRequest], _ driver: PostgresDriver) async throws -> [Result<EntryReceipt, Error>] {
        // The keys already used: in the request's key scope, or (entries made before scopes) by
        // the sender's account name, which `existing` prefers as the sender's own earlier answer.
        // Two joins, one per unique index: with the two conditions OR-ed in one join, PostgreSQL
        // scanned the whole ledger for every batch (27 ms at 200,000 entries, growing with the ledger).
        let lookups = try await driver.pipeline([PostgresStatement(
            """
            SELECT e.key_scope, e.recorded_by, e.idempotency_key, e.id, e.points, e.request
            FROM unnest($1::text[], $3::text[]) AS k (key_scope, idempotency_key)
            JOIN ledger_entry e ON e.key_scope = k.key_scope AND e.idempotency_key = k.idempotency_key
            UNION ALL
            SELECT e.key_scope, e.recorded_by, e.idempotency_key, e.id, e.points, e.request
            FROM unnest($2::text[], $3::text[]) AS k (recorded_by, idempotency_key)
            JOIN ledger_entry e ON e.key_scope IS NULL AND e.recorded_by = k.recorded_by AND e.idempotency_key = k.idempotency_key
            """,
            [TextArray(requests.map(\.recorder.keyScope)), TextArray(requests.map(\.recorder.name)), TextArray(requests.map(\.key))]),
            // Each member with what their scheme counts: a completion's credit is in that unit.
            PostgresStatement(
                """
                SELECT p.id, p.joined, s.unit, s.minutes_per_hour, s.hour_rounding
                FROM practitioner p JOIN scheme s ON s.code = p.scheme WHERE p.id = ANY($1::text[])
                """, [TextArray(Array(Set(requests.map(\.practitioner))))]),
            PostgresStatement(CatalogueStore.courseSelect + " WHERE c.code = ANY($1::text[])", [TextArray(Array(Set(requests.map(\.course))))]),
            PostgresStatement(Registry.todaySQL),
        ])
        guard lookups.count == 4 else { throw StoreError.unexpected("completion.record: the pipeline gave \(lookups.count) results, not 4") }
        struct Used { var entry: Int64?; var points: Points; var request: String; var index: Int? }
        // By bytes, as PostgreSQL compares text: Swift's String equality would take "é" and "e" with
        // a combining accent for one key, where the database keeps two.
        var used: [[UInt8]: Used] = [:]
        var legacy: [[UInt8]: Used] = [:]
        func slot(_ scope: String, _ key: String) -> [UInt8] { Array(scope.utf8) + [0] + Array(key.utf8) }
        for row in lookups[0] {
            let first = Used(entry: try row["id"], points: try row["points"], request: try row["request"], index: nil)
            if let scope: String = try row["key_scope"] {
                used[slot(scope, try row["idempotency_key"])] = first
            } else {
                legacy[slot(try row["recorded_by"], try row["idempotency_key"])] = first
            }
        }
        var joined: [String: Day] = [:]
        var units: [String: CreditUnit] = [:]
        for row in lookups[1] {
            joined[try row["id"]] = try row["joined"]
            units[try row["id"]] = try SchemeStore.unit(row)
        }
        var courses: [String: Course] = [:]
        for row in lookups[2] {
            let course = try CatalogueStore.decodeCourse(row)
            courses[course.code] = course
        }
        guard let todayRow = lookups[3].first else { throw StoreError.unexpected("the registry row is missing") }
        let today: Day = try todayRow[0]

        // Decide each request in order; a key's first accepted request is appended, a later one
        // with the same key is a replay of it or a conflict.
        var results: [Result<EntryReceipt, Error>?] = Array(repeating: nil, count: requests.count)
        var accepted: [(index: Int, course: Course, credit: Points)] = []
        for (index, request) in requests.enumerated() {
            results[index] = Result { () throws -> EntryReceipt? in
                _ = try validated { () throws(ValidationError) in try IdempotencyKey.validate(request.key) }
                if let first = legacy[slot(request.recorder.name, request.key)] ?? used[slot(request.recorder.keyScope, request.key)] {
                    guard request.fingerprint.matches(first.request) else {
                        throw StoreError.conflict("key \(request.key) was already used for another request (\(RequestFingerprint.readable(first.request)))")
                    }
                    if let entry = first.entry { return EntryReceipt(entry: entry, points: first.points, replayed: true) }
                    return nil  // a replay of a request earlier in this batch: answered once that one has its entry
                }
                guard let memberJoined = joined[request.practitioner] else { throw StoreError.notFound("no practitioner \(request.practitioner)") }
                guard let course = courses[request.course] else { throw StoreError.notFound("no course \(request.course)") }
                if let actingProvider = request.recorder.provider, course.provider != actingProvider {
                    throw StoreError.permissionDenied("course \(request.course) belongs to \(course.provider)")
                }
                do {
                    try CompletionRules.check(
                        completed: request.completed, today: today, joined: memberJoined, courseStatus: course.status, course: request.course)
                } catch let error as ValidationError {
                    throw StoreError.invalid(error)
                }
                // The completion's credit under the member's scheme, computed once, here, and kept.
                let unit = units[request.practitioner] ?? .points
                let credit = unit.credit(for: course.content)
                guard credit.isPositive else {
                    throw StoreError.invalid(ValidationError(
                        "course", "\(request.course) is worth no credit in the \(unit.kind) of \(request.practitioner)'s scheme"
                            + (course.content.minutes.map { " (\($0) minutes)" } ?? "")))
                }
                used[slot(request.recorder.keyScope, request.key)] = Used(entry: nil, points: credit, request: request.fingerprint.text, index: index)
                accepted.append((index, course, credit))
                return nil
            }.flatMap { receipt in receipt.map { .success($0) } ?? .failure(Pending()) }
        }
        guard !accepted.isEmpty else { return results.map { $0 ?? .failure(StoreError.conflict("the batch left this request undecided; send it again")) } }

        let rows = accepted.map { (requests[$0.index], $0.course, $0.credit) }
        // A transaction of its own: its commit is the batch's one fsync, and the driver answers only after it.
        let inserted = try await driver.query(
            """
            INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery,
                                      recorded_by, recorded_by_uid, key_scope, idempotency_key, request)
            SELECT r.practitioner, 'completion', r.points::numeric, r.effective::date, r.course, r.version::int, r.category, r.delivery,
                   r.recorded_by, nullif(r.recorded_by_uid, '')::bigint, r.key_scope, r.idempotency_key, r.request
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::text[], $12::text[])
                 WITH ORDINALITY AS r (practitioner, points, effective, course, version, category, delivery, recorded_by, recorded_by_uid,
                                       key_scope, idempotency_key, request, n)
            ORDER BY r.n
            RETURNING id, key_scope, idempotency_key
            """,
            [TextArray(rows.map(\.0.practitioner)), TextArray(rows.map(\.2.description)),
             TextArray(rows.map(\.0.completed.description)), TextArray(rows.map(\.0.course)), TextArray(rows.map { String($0.1.version) }),
             TextArray(rows.map(\.1.content.category)), TextArray(rows.map(\.1.content.delivery.rawValue)), TextArray(rows.map(\.0.recorder.name)),
             TextArray(rows.map { $0.0.recorder.uid.map(String.init) ?? "" }), TextArray(rows.map(\.0.recorder.keyScope)),
             TextArray(rows.map(\.0.key)), TextArray(rows.map(\.0.fingerprint.text))])
        for row in inserted {
            let key = slot(try row["key_scope"], try row["idempotency_key"])
            used[key]?.entry = try row["id"]
        }
        for (index, request) in requests.enumerated() {
            guard case .failure(let error)? = results[index], error is Pending else { continue }
            guard let first = legacy[slot(request.recorder.name, request.key)] ?? used[slot(request.recorder.keyScope, request.key)],
                  let entry = first.entry
            else {
                // Every accepted row returns its key as it was sent, so this cannot happen; were it to,
                // the batch has committed, and this request alone is answered with no final verdict:
                // sent again, it finds its entry and is answered as a replay.
                results[index] = .failure(StoreError.unavailable("completion.record: key \(request.key) came back altered; send it again"))
                continue
            }
            results[index] = .success(EntryReceipt(entry: entry, points: first.points, replayed: first.index != index))
        }
        return results.map { $0 ?? .failure(StoreError.conflict("the batch left this request undecided; send it again")) }
    }

    /// A decided request whose entry is known only after the INSERT.
    struct Pending: Error {}

    /// The batch one request at a time, each in transactions of its own: the way back when another
    /// writer raced the set-based path for a key, or the batch's INSERT failed as a whole. Each
    /// request goes through `recordSetBased` alone, so that it meets the same look-ups, checks and
    /// INSERT as in a batch.
    static func recordCompletionsOneByOne(_ requests: [CompletionRequest], _ driver: PostgresDriver) async throws -> [Result<EntryReceipt, Error>] {
        var results: [Result<EntryReceipt, Error>] = []
        results.reserveCapacity(requests.count)
        for request in requests {
            results.append(await recordAlone(request, driver))
        }
        return results
    }

    private static func recordAlone(_ request: CompletionRequest, _ driver: PostgresDriver) async -> Result<EntryReceipt, Error> {
        for attempt in 1...2 {
            do {
                guard let outcome = try await recordSetBased([request], driver).first else {
                    return .failure(StoreError.conflict("the completion was not recorded; try again"))
                }
                return outcome
            } catch let error as PostgresError where error.violates(keyConstraint) && attempt == 1 {
                // Another transaction committed this key meanwhile: look again, once.
                continue
            } catch {
                return .failure(error)
            }
        }
        return .failure(StoreError.conflict("key \(request.key) is being used by another request at this moment; try again"))
    }

    /// Appends the reversal of an entry recorded in error: its points negated, in its category,
    /// delivery and day. An entry can be reversed once; a reversal cannot be reversed. A recorder
    /// acting for a provider may reverse only what that provider recorded (its key scope): not an
    /// entry the registry recorded on its course. An entry made before key scopes existed has only
    /// its account's name, so a provider may reverse it when that name is the sender's own and the
    /// course is its provider's.
    public static func reverse(
        entry: Int64, reason: String, key: String, by recorder: Recorder, _ c: PostgresConnection
    ) throws -> EntryReceipt {
        let reason = try validated { () throws(ValidationError) in try Prose.validate(reason, field: "reason", maxLength: 500) }
        let request = RequestFingerprint.reversal(entry: entry, reason: reason)
        do {
            return try idempotentAppend(key: key, by: recorder, request: request, c) { c in
                guard let row = try c.query(
                    """
                    SELECT e.practitioner, e.kind, e.points, e.effective, e.course, e.course_version, e.category, e.delivery, v.provider,
                           e.key_scope, e.recorded_by, (SELECT r.id FROM ledger_entry r WHERE r.reverses = e.id) AS reversed_by
                    FROM ledger_entry e LEFT JOIN course v ON v.code = e.course WHERE e.id = $1
                    """, [entry]
                ).first else { throw StoreError.notFound("no entry \(entry)") }
                if let actingProvider = recorder.provider {
                    let recordedHere: Bool
                    if let scope: String = try row["key_scope"] {
                        recordedHere = scope == recorder.keyScope
                    } else {
                        recordedHere = try row["recorded_by"] as String == recorder.name && row["provider"] as String? == actingProvider
                    }
                    guard recordedHere else { throw StoreError.permissionDenied("entry \(entry) was not recorded by \(actingProvider)") }
                }
                guard try row["kind"] as String != EntryKind.reversal.rawValue else {
                    throw StoreError.conflict("entry \(entry) is a reversal; record the completion again instead")
                }
                if let by: Int64 = try row["reversed_by"] { throw StoreError.conflict("entry \(entry) was already reversed by entry \(by)") }
                let points: Points = try row["points"]
                let id = try insert(
                    c, practitioner: try row["practitioner"], kind: .reversal, points: -points, effective: try row["effective"],
                    course: try row["course"], version: try row["course_version"], category: try row["category"],
                    delivery: try row["delivery"], reverses: entry, reason: reason, by: recorder, key: key, request: request.text)
                return EntryReceipt(entry: id, points: -points, replayed: false)
            }
        } catch let error as PostgresError where error.violates(reversesConstraint) {
            throw StoreError.conflict("entry \(entry) was already reversed")
        }
    }

    /// Appends a manual adjustment, dated today, positive or negative, with a reason.
    public static func adjust(
        practitioner: String, points: Points, reason: String, category: String?, delivery: Delivery?, key: String,
        by recorder: Recorder, _ c: PostgresConnection
    ) throws -> EntryReceipt {
        guard points != .zero, points.hundredths.magnitude <= UInt64(Points(10_000).hundredths) else {
            throw StoreError.invalid(ValidationError("points", "must be non-zero and at most 10000 either way"))
        }
        let reason = try validated { () throws(ValidationError) in try Prose.validate(reason, field: "reason", maxLength: 500) }
        let category = try validated { () throws(ValidationError) in try category.map { (c: String) throws(ValidationError) in try Term.validate(c, field: "category") } }
        let request = RequestFingerprint.adjustment(
            practitioner: practitioner, points: points, reason: reason, category: category, delivery: delivery)
        return try idempotentAppend(key: key, by: recorder, request: request, c) { c in
            _ = try SchemeStore.practitioner(practitioner, c)
            let id = try insert(
                c, practitioner: practitioner, kind: .adjustment, points: points, effective: try Registry.today(c), category: category,
                delivery: delivery, reason: reason, by: recorder, key: key, request: request.text)
            return EntryReceipt(entry: id, points: points, replayed: false)
        }
    }

    // MARK: - Reads

    public struct MemberStanding: Sendable {
        public var practitioner: Practitioner
        public var scheme: Scheme
        public var standing: Standing
    }

    /// A practitioner's standing in the cycle that holds `day` (today in the registry's time zone by
    /// default). Sums come from SQL, grouped; the rules are applied in Swift.
    /// A member with their scheme, their certificates and the registry's today, in one row. Made
    /// once: building it per request showed up in profiles.
    static let memberWithScheme = SchemeStore.schemeSelect.replacingOccurrences(of: "FROM scheme s", with: """
        , p.id AS member, p.name AS member_name, p.joined, p.modalities,
          (SELECT (now() AT TIME ZONE g.time_zone)::date FROM registry g) AS today,
          coalesce((SELECT string_agg(x.kind || ' ' || x.issued || ' ' || x.expires, ',' ORDER BY x.expires)
                    FROM certificate x WHERE x.practitioner = p.id), '') AS member_certificates,
          coalesce((SELECT \(LedgerStore.renewalsFolded) FROM renewal n WHERE n.practitioner = p.id), '') AS member_renewals
        FROM practitioner p JOIN scheme s ON s.code = p.scheme
        """) + " WHERE p.id = $1"

    public static func standing(practitioner id: String, on day: Day? = nil, _ c: PostgresConnection) throws -> MemberStanding {
        // Two round trips: the member with their scheme, certificates and today; then their sums.
        let member = try member(id, c)
        let date = day ?? member.today
        let first = try Compliance.firstDayRead(scheme: member.scheme, joined: member.practitioner.joined, on: date)
        let standing = try Compliance.standing(
            scheme: member.scheme, joined: member.practitioner.joined, on: date, records: try records(id, from: first, to: date, c),
            certificates: member.certificates, renewals: member.renewals)
        return MemberStanding(practitioner: member.practitioner, scheme: member.scheme, standing: standing)
    }

    /// A member with their scheme, their certificates and the registry's today, from one query.
    typealias Member = (practitioner: Practitioner, scheme: Scheme, certificates: [Certificate], renewals: [Renewal], today: Day)

    static func member(_ id: String, _ c: PostgresConnection) throws -> Member {
        try member(from: try c.query(memberWithScheme, [id]).first, id)
    }

    /// The member from `memberWithScheme`'s row (nil: there is no such member).
    static func member(from row: PostgresRow?, _ id: String) throws -> Member {
        guard let row else { throw StoreError.notFound("no practitioner \(id)") }
        let scheme = try SchemeStore.decodeScheme(row)
        let practitioner = try Practitioner(
            id: try row["member"], name: try row["member_name"], scheme: scheme.code, joined: try row["joined"],
            modalities: (try row["modalities"] as TextArray).values)
        return (practitioner, scheme, try foldedCertificates(try row["member_certificates"], of: id),
                try foldedRenewals(try row["member_renewals"]), try row["today"])
    }

    /// The standings of every member of every scheme on `day`, handed to `body` one member at a time
    /// in id order, from one streamed query over the whole ledger (a query per scheme would read the
    /// ledger once per scheme): each member's entries over the window their scheme needs (two cycles
    /// with carry-over, `Compliance.monthsRead`), and their certificates of the kinds their scheme
    /// requires, on the member's rows. Memory stays flat.
    @discardableResult
    public static func allStandings(on day: Day, _ c: PostgresConnection, _ body: (MemberStanding) throws -> Void) throws -> Int {
        // The rows come through a cursor, which needs a transaction: one snapshot for the lot.
        guard c.transactionStatus == .inTransaction else {
            return try c.withTransaction(isolation: .repeatableRead, readOnly: true) { c in try allStandings(on: day, c, body) }
        }
        let codes = try c.query("SELECT code FROM scheme ORDER BY code").map { try $0[0] as String }
        var schemes: [String: Scheme] = [:]
        for code in codes { schemes[code] = try SchemeStore.scheme(code, c) }
        // Each scheme's window, and the longest, which the planner can apply to the ledger before the
        // join (a window that depends on the member's row it could not).
        let windows = codes.compactMap { code in schemes[code].map { (code, String(Compliance.monthsRead(scheme: $0))) } }
        // The schemes with a rule on accredited modalities: only their members' entries are looked up
        // in course_version.
        let accrediting = codes.filter { schemes[$0]?.rules.contains { $0.target == .accreditedModalities } == true }
        let longest = schemes.values.map { Compliance.monthsRead(scheme: $0) }.max() ?? 12
        var current: (id: String, name: String, scheme: String, joined: Day, modalities: [String], certificates: String?, renewals: String?)? = nil
        var records: [PointsRecord] = []
        var members = 0
        func finish() throws {
            guard let member = current, let scheme = schemes[member.scheme] else { return }
            let certificates = try foldedCertificates(member.certificates ?? "", of: member.id)
            let practitioner = try Practitioner(id: member.id, name: member.name, scheme: member.scheme, joined: member.joined, modalities: member.modalities)
            let standing = try Compliance.standing(
                scheme: scheme, joined: member.joined, on: day, records: records, certificates: certificates,
                renewals: try foldedRenewals(member.renewals ?? ""))
            try body(MemberStanding(practitioner: practitioner, scheme: scheme, standing: standing))
            members += 1
        }
        try c.forEachRow(
            inBatchesOf: 10_000,
            """
            SELECT p.id, p.name, p.scheme, p.joined, p.modalities, r.certificates, n.renewals,
                   e.effective, e.kind, e.category, e.delivery, e.points,
                   \(accredited(when: "p.scheme = ANY ($5::text[])")) AS accredited
            FROM practitioner p
            JOIN unnest($2::text[], $3::text[]::int[]) AS w (scheme, months) ON w.scheme = p.scheme
            LEFT JOIN LATERAL (
                SELECT string_agg(c.kind || ' ' || c.issued || ' ' || c.expires, ',') AS certificates
                FROM certificate c
                WHERE c.practitioner = p.id AND c.kind IN (SELECT s.kind FROM scheme_certificate s WHERE s.scheme = p.scheme)
            ) r ON true
            LEFT JOIN LATERAL (
                SELECT \(renewalsFolded) AS renewals
                FROM renewal n WHERE n.practitioner = p.id
            ) n ON true
            LEFT JOIN ledger_entry e
                   ON e.practitioner = p.id AND e.effective BETWEEN ($1::date - make_interval(months => w.months))::date AND $1
                  AND e.effective >= ($1::date - make_interval(months => $4::int))::date
            ORDER BY p.id
            """, [day, TextArray(windows.map(\.0)), TextArray(windows.map(\.1)), Int32(longest), TextArray(accrediting)]
        ) { row in
            let id: String = try row[0]
            if id != current?.id {
                try finish()
                current = (id, try row[1], try row[2], try row[3], (try row[4] as TextArray).values, try row[5], try row[6])
                records.removeAll(keepingCapacity: true)
            }
            if let effective: Day = try row[7] {
                records.append(PointsRecord(
                    effective: effective, kind: EntryKind(rawValue: try row[8]) ?? .adjustment, category: try row[9],
                    delivery: try row[10], points: try row[11], accredited: try row[12]))
            }
        }
        try finish()
        return members
    }

    public struct StatementLine: Sendable, Equatable {
        /// The ledger entry; nil for the line that shows what carried into a cycle, which is derived
        /// from the entries of the cycle before (docs/rules.md, Carry-over) and is no entry.
        public var entry: Int64?
        public var kind: EntryKind
        public var date: Day
        public var points: Points
        public var course: String?
        public var courseVersion: Int?
        public var reverses: Int64?
        public var reason: String?
        public var recordedBy: String?

        /// Left uncounted by a late renewal of the cycle before its own (docs/rules.md, Renewals).
        public var afterLateRenewal = false

        /// False for a ledger entry of kind `carry_over` (cpdd writes none; one written by hand or
        /// by an older cpdd is not counted, since the carry is always the derived line), and for an
        /// entry a late renewal leaves uncounted.
        public var counts: Bool { (entry == nil || kind != .carryOver) && !afterLateRenewal }
    }

    /// A practitioner's entries with days from `from` to `to`, oldest first, and, on the first day of
    /// each cycle in that range up to today, what carried into that cycle (where something did), so
    /// that a cycle's counted lines add up to what `points` shows as earned (under a scheme that
    /// counts only activity after a late renewal's approval, the entries that leaves uncounted, as
    /// known today, are marked).
    ///
    /// Through the non-blocking driver: the member and their entries in one pipeline, then, for a
    /// scheme with carry-over, the sums the carries come from (they depend on the member's scheme).
    public static func statement(practitioner id: String, from: Day?, to: Day?, _ driver: PostgresDriver) async throws -> [StatementLine] {
        let results = try await driver.pipeline([
            PostgresStatement(memberWithScheme, [id]),
            PostgresStatement(
                """
                SELECT id, kind, effective, points, course, course_version, reverses, reason, recorded_by FROM ledger_entry
                WHERE practitioner = $1 AND ($2::date IS NULL OR effective >= $2) AND ($3::date IS NULL OR effective <= $3)
                ORDER BY effective, id
                """, [id, from, to]),
        ])
        guard results.count == 2 else { throw StoreError.unexpected("statement: the pipeline gave \(results.count) results, not 2") }
        let member = try member(from: results[0].first, id)
        var lines = try results[1].map { row in
            StatementLine(
                entry: try row["id"], kind: EntryKind(rawValue: try row["kind"]) ?? .adjustment, date: try row["effective"],
                points: try row["points"], course: try row["course"], courseVersion: try row["course_version"],
                reverses: try row["reverses"], reason: try row["reason"], recordedBy: try row["recorded_by"])
        }
        let joined = member.practitioner.joined
        if member.scheme.lateRenewal == .countAfterApproval {
            for index in lines.indices {
                lines[index].afterLateRenewal = try Compliance.leftUncountedByLateRenewal(
                    lines[index].date, scheme: member.scheme, joined: joined, renewals: member.renewals, on: member.today)
            }
        }
        let first = max(from ?? joined, joined), last = min(to ?? member.today, member.today)
        guard member.scheme.carryOverMax != nil, first <= last else { return lines }
        let readFrom = try Compliance.firstDayRead(scheme: member.scheme, joined: joined, on: first)
        let records = try await driver.query(recordsSQL, [id, readFrom, last]).map(decodeRecord)
        let carries = try Compliance.carriesIn(
            scheme: member.scheme, joined: joined, from: first, through: last, records: records, certificates: member.certificates,
            renewals: member.renewals)
        guard !carries.isEmpty else { return lines }
        for carry in carries {
            lines.append(StatementLine(
                entry: nil, kind: .carryOver, date: carry.cycle.start, points: carry.points,
                reason: "carried from the cycle \(carry.previous.start) to \(carry.previous.end)"))
        }
        // A cycle's carry comes first on its first day.
        return lines.sorted { ($0.date, $0.entry ?? 0) < ($1.date, $1.entry ?? 0) }
    }

    public enum Verification: Sendable, Equatable {
        case intact(entries: Int64, head: String)
        case broken(entry: Int64, problem: String)
    }

    /// Whether an anchor (a head published earlier) still holds: nil, or why not.
    public struct AnchorCheck: Sendable, Equatable {
        public var anchor: LedgerAnchor
        public var problem: String?
        public var holds: Bool { problem == nil }
    }

    /// Recomputes the hash chain over every entry in id order and names the first broken entry.
    public static func verify(_ c: PostgresConnection) throws -> Verification {
        try verify(anchors: [], c).0
    }

    /// `verify`, and each anchor checked in the same walk: its entry is reached through a sound chain
    /// and still has the anchor's hash. A rewrite that recomputed every hash passes the walk, not the
    /// anchors published before it.
    public static func verify(anchors: [LedgerAnchor], _ c: PostgresConnection) throws -> (Verification, [AnchorCheck]) {
        // One snapshot: the count and head reported are those of the entries checked.
        try c.withTransaction(isolation: .repeatableRead, readOnly: true) { c in try LedgerChain.check(c, anchors: anchors) }
    }

    /// `verify` in the caller's transaction (the nightly report checks the chain in its own snapshot).
    /// The chain is walked in cpdd (`LedgerChain`), which gives the answer `ledger_first_break()`
    /// gives in SQL at about half the CPU.
    static func verification(_ c: PostgresConnection) throws -> Verification {
        try LedgerChain.check(c).0
    }

    // MARK: - Internals

    /// A member's renewals (`renewal n`) as one text, for the member queries; `foldedRenewals` reads it.
    static let renewalsFolded = "string_agg(n.cycle_start || ' ' || n.submitted || ' ' || coalesce(n.approved::text, '-'), ',')"

    /// The renewals folded into text by the member queries: `cycle_start submitted approved|-`, comma-separated.
    static func foldedRenewals(_ text: String) throws -> [Renewal] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: " ").map(String.init)
            let approved = parts.count == 3 && parts[2] != "-" ? Day(parsing: parts[2]) : nil
            guard parts.count == 3, let start = Day(parsing: parts[0]), let submitted = Day(parsing: parts[1]), parts[2] == "-" || approved != nil else {
                throw StoreError.unexpected("cannot read the renewal '\(item.prefix(60))'")
            }
            return Renewal(cycleStart: start, submitted: submitted, approved: approved)
        }
    }

    /// Certificates folded into text by a query (`kind issued expires`, comma-separated; kinds are
    /// words, so neither separator occurs in one).
    static func foldedCertificates(_ text: String, of practitioner: String) throws -> [Certificate] {
        try text.split(separator: ",").map { item -> Certificate in
            let parts = item.split(separator: " ")
            guard parts.count == 3, let issued = Day(parsing: String(parts[1])), let expires = Day(parsing: String(parts[2])) else {
                throw StoreError.invalid(ValidationError("certificate", "cannot read '\(item)'"))
            }
            return try Certificate(practitioner: practitioner, kind: String(parts[0]), issued: issued, expires: expires)
        }
    }

    /// The member's points between two days, summed per day, kind, category and delivery.
    static func records(_ id: String, from: Day, to: Day, _ c: PostgresConnection) throws -> [PointsRecord] {
        try c.query(recordsSQL, [id, from, to]).map(decodeRecord)
    }

    static let recordsSQL = """
        SELECT e.effective, e.kind, e.category, e.delivery, \(accreditedColumn) AS accredited, sum(e.points) AS points
        FROM ledger_entry e
        JOIN practitioner p ON p.id = e.practitioner
        CROSS JOIN LATERAL (\(needsAccredited)) n
        WHERE e.practitioner = $1 AND e.effective BETWEEN $2 AND $3
        GROUP BY e.effective, e.kind, e.category, e.delivery, 5
        """

    /// Whether the member's scheme (`p.scheme`) has a rule on accredited modalities: only then is the
    /// course version of each entry read for its modalities.
    static let needsAccredited = """
        SELECT EXISTS (SELECT 1 FROM scheme_rule r WHERE r.scheme = p.scheme AND r.target_kind = 'accredited') AS accredited
        """
    /// Whether an entry's course meets the member's accredited modalities (one in common), read only
    /// when the scheme needs it (`n.accredited`): a CASE, because a join on that condition looked up
    /// every entry's course version whatever it said (+50% on `points`' sums statement).
    static let accreditedColumn = accredited(when: "n.accredited")

    static func accredited(when needed: String) -> String {
        """
        (CASE WHEN \(needed) THEN coalesce((SELECT cv.modalities && p.modalities FROM course_version cv
                                            WHERE cv.course = e.course AND cv.version = e.course_version), false)
              ELSE false END)
        """
    }

    static func decodeRecord(_ row: PostgresRow) throws -> PointsRecord {
        PointsRecord(
            effective: try row["effective"], kind: EntryKind(rawValue: try row["kind"]) ?? .adjustment,
            category: try row["category"], delivery: try row["delivery"], points: try row["points"], accredited: try row["accredited"])
    }

    /// Runs `append` once per key: a key already used answers with its entry (same request) or a
    /// conflict (another request). Two senders racing with one key: the loser's insert fails on the
    /// unique key, and its second pass finds the winner's entry.
    static func idempotentAppend(
        key: String, by recorder: Recorder, request: RequestFingerprint, _ c: PostgresConnection,
        _ append: @escaping (PostgresConnection) throws -> EntryReceipt
    ) throws -> EntryReceipt {
        _ = try validated { () throws(ValidationError) in try IdempotencyKey.validate(key) }
        for attempt in 1...2 {
            do {
                return try c.withTransaction(isolation: .readCommitted, retry: .serializationFailures) { c in
                    try existing(key: key, by: recorder, request: request, c) ?? append(c)
                }
            } catch let error as PostgresError where error.violates(keyConstraint) && attempt == 1 {
                continue
            }
        }
        throw StoreError.conflict("key \(key) is being used by another request at this moment; try again")
    }

    /// The entry a key already made in the recorder's key scope: the answer again for the same
    /// request, a conflict for another. An entry made before key scopes existed is found by the
    /// account's name, as it was then, and comes first: it is the sender's own earlier answer.
    static func existing(key: String, by recorder: Recorder, request: RequestFingerprint, _ c: PostgresConnection) throws -> EntryReceipt? {
        guard let row = try c.query(
            """
            SELECT id, points, request FROM ledger_entry
            WHERE idempotency_key = $1 AND (key_scope = $2 OR (key_scope IS NULL AND recorded_by = $3))
            ORDER BY key_scope IS NOT NULL
            LIMIT 1
            """, [key, recorder.keyScope, recorder.name]
        ).first else { return nil }
        let first: String = try row["request"]
        guard request.matches(first) else {
            throw StoreError.conflict("key \(key) was already used for another request (\(RequestFingerprint.readable(first)))")
        }
        return EntryReceipt(entry: try row["id"], points: try row["points"], replayed: true)
    }

    static func insert(
        _ c: PostgresConnection, practitioner: String, kind: EntryKind, points: Points, effective: Day, course: String? = nil,
        version: Int? = nil, category: String? = nil, delivery: Delivery? = nil, reverses: Int64? = nil, reason: String? = nil,
        by recorder: Recorder, key: String, request: String
    ) throws -> Int64 {
        try c.query(
            """
            INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses,
                                      reason, recorded_by, recorded_by_uid, key_scope, idempotency_key, request)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id
            """,
            [practitioner, kind.rawValue, points, effective, course, version, category, delivery?.rawValue, reverses, reason,
             recorder.name, recorder.uid.map(Int64.init), recorder.keyScope, key, request])[0][0]
    }

    static func validated<T>(_ body: () throws(ValidationError) -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError.invalid(error)
        }
    }
}
