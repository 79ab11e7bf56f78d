import CPDCore
import Crypto
import Postgres

/// Audits: the sample drawn for a scheme's cycle, and each audit's life (`Audit.applying` decides
/// every step; this file keeps the result and its history).
public enum AuditStore {
    public struct Sample: Sendable, Equatable {
        public var id: Int64
        public var scheme: String
        public var cycleDay: Day
        /// The moment the seed was taken: the start of this day in the registry's time zone.
        public var momentDay: Day
        public var timeZone: String
        public var share: Points
        /// The ledger's head at the moment: its last entry (0: none) and that entry's hash.
        public var headEntry: Int64
        public var seed: String
        public var considered: Int
        public var selected: Int
        public var drawnBy: String
        /// True when this request found it drawn already.
        public var replayed: Bool
    }

    /// A member the draw considered.
    public struct Drawn: Sendable, Equatable {
        public var practitioner: String
        public var cycle: Cycle
        public var key: String
        /// selected, not_selected, exempt (skipped: an exemption open then) or audited (skipped:
        /// that cycle is in an earlier sample).
        public var outcome: String
        /// The audit opened for a selected member.
        public var audit: Int64?
    }

    public struct Row: Sendable, Equatable {
        public var id: Int64
        public var sample: Int64
        public var scheme: String
        public var practitioner: String
        public var cycle: Cycle
        public var audit: Audit
        public var evidence: Int
        public var today: Day
        /// True when the step that answered it had been done already.
        public var replayed: Bool
    }

    public struct Event: Sendable, Equatable {
        public var day: Day
        public var event: String
        public var by: String
        public var detail: String?
    }

    public struct Evidence: Sendable, Equatable {
        public var sha256: String
        public var description: String
        public var submitted: Day
        public var by: String
    }

    /// The key that ranks a member in a draw: SHA-256 of `seed:practitioner` (UTF-8), in lower-case
    /// hex. Anyone can compute it again (`printf '%s:%s' SEED ID | sha256sum`).
    public static func drawKey(seed: String, practitioner: String) -> String {
        SHA256.hash(data: Array("\(seed):\(practitioner)".utf8)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]], as: UTF8.self)
        }.joined()
    }

    // MARK: - Drawing

    /// Draws the sample of `share` percent of the scheme's members for the cycle that holds `day`
    /// (each member's own, in an anniversary scheme). Refused until the moment has passed and the
    /// ledger has an entry from it on, which settles the head; drawn once: the same request again
    /// is answered with the first draw, another share is a conflict.
    public static func draw(scheme code: String, day: Day, share: Points, by principal: String, _ c: PostgresConnection) throws -> (Sample, [Drawn]) {
        guard share.hundredths > 0, share.hundredths <= 10_000 else {
            throw StoreError.invalid(ValidationError("share", "is a percentage above 0, at most 100"))
        }
        return try c.withTransaction { c in
            let today = try Registry.today(c)
            let (cycles, lastEnd, momentDay) = try audited(scheme: code, day: day, c)
            guard momentDay <= today else {
                throw StoreError.invalid(ValidationError("cycle", "the cycle holding \(day) ends on \(lastEnd); its sample is drawn from \(momentDay) on"))
            }
            if let drawn = try sample(scheme: code, momentDay: momentDay, c) {
                guard drawn.share == share else {
                    throw StoreError.conflict("the sample of \(code) for this cycle was drawn already, at \(drawn.share)% (sample \(drawn.id))")
                }
                var replay = drawn
                replay.replayed = true
                return (replay, try members(of: drawn.id, c))
            }
            // The head at the moment: what the first entry recorded from then on chains to. Its id and
            // hash settle once it exists (ids are given in commit order, under the chain's lock).
            guard let first = try c.query(
                """
                SELECT e.id, encode(e.prev_hash, 'hex') AS seed FROM ledger_entry e
                WHERE e.id = (SELECT min(id) FROM ledger_entry WHERE recorded_at >= ($1::date::timestamp AT TIME ZONE (SELECT time_zone FROM registry)))
                """, [momentDay]).first
            else {
                throw StoreError.conflict("no ledger entry has been recorded since \(momentDay) began; the head at that moment, the draw's seed, is settled by the first one after it")
            }
            let headEntry = (try first["id"] as Int64) - 1
            let seed: String = try first["seed"]
            let ids = TextArray(cycles.map(\.practitioner))
            // Skipped: members with an exemption granted before the moment and open on a day of the
            // cycle audited or later, and members whose cycle is in an earlier sample.
            let exemptUntil: [String: Day] = try Dictionary(uniqueKeysWithValues: c.query(
                """
                SELECT a.practitioner, max(a.exempt_until) AS until FROM audit a
                WHERE a.practitioner = ANY($1::text[]) AND a.state = 'exempt' AND a.exempt_from < $2
                GROUP BY a.practitioner
                """, [ids, momentDay]).map { (try $0["practitioner"] as String, try $0["until"] as Day) })
            var audited: Set<String> = []
            for row in try c.query("SELECT practitioner, cycle_start FROM audit WHERE practitioner = ANY($1::text[])", [ids]) {
                audited.insert("\(try row["practitioner"] as String) \(try row["cycle_start"] as Day)")
            }
            var drawn: [Drawn] = []
            drawn.reserveCapacity(cycles.count)
            for (id, cycle) in cycles {
                let outcome: String
                if let until = exemptUntil[id], until >= cycle.start {
                    outcome = "exempt"
                } else if audited.contains("\(id) \(cycle.start)") {
                    outcome = "audited"
                } else {
                    outcome = "not_selected"
                }
                drawn.append(Drawn(practitioner: id, cycle: cycle, key: drawKey(seed: seed, practitioner: id), outcome: outcome, audit: nil))
            }
            let eligible = drawn.filter { $0.outcome == "not_selected" }
            let chosen = AuditDraw.select(eligible.map { ($0.practitioner, $0.key) }, share: share)
            for index in drawn.indices where chosen.contains(drawn[index].practitioner) { drawn[index].outcome = "selected" }
            guard let inserted = try c.query(
                """
                INSERT INTO audit_sample (scheme, cycle_day, moment, share, head_entry, seed, considered, selected, drawn_by)
                VALUES ($1, $2, ($3::date::timestamp AT TIME ZONE (SELECT time_zone FROM registry)), $4, $5, $6, $7, $8, $9)
                ON CONFLICT (scheme, moment) DO NOTHING RETURNING id
                """, [code, day, momentDay, share, headEntry, seed, eligible.count, chosen.count, principal]).first
            else {
                throw StoreError.conflict("the sample of \(code) for this cycle was drawn at the same time by another request; ask for it again")
            }
            let sampleID: Int64 = try inserted["id"]
            try c.query(
                """
                INSERT INTO audit_draw (sample, practitioner, cycle_start, cycle_end, draw_key, outcome)
                SELECT $1, d.p, d.s::date, d.e::date, d.k, d.o FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS d(p, s, e, k, o)
                """, [sampleID, ids, TextArray(drawn.map(\.cycle.start.description)), TextArray(drawn.map(\.cycle.end.description)),
                      TextArray(drawn.map(\.key)), TextArray(drawn.map(\.outcome))])
            try c.query(
                """
                WITH opened AS (
                    INSERT INTO audit (sample, practitioner, cycle_start, cycle_end, state)
                    SELECT sample, practitioner, cycle_start, cycle_end, 'selected' FROM audit_draw WHERE sample = $1 AND outcome = 'selected'
                    RETURNING id
                )
                INSERT INTO audit_event (audit, event, day, by_whom, detail) SELECT id, 'selected', $2, $3, 'sample ' || $1 FROM opened
                """, [sampleID, today, principal])
            guard let made = try sample(id: sampleID, c) else { throw StoreError.unexpected("the sample just drawn is missing") }
            return (made, try members(of: sampleID, c))
        }
    }

    /// Each member's cycle that holds `day` (members who joined after it ended left out), the last
    /// day of the latest, and the day after it: the moment's day.
    static func audited(scheme code: String, day: Day, _ c: PostgresConnection) throws -> ([(practitioner: String, cycle: Cycle)], Day, Day) {
        let scheme = try SchemeStore.scheme(code, c)
        var cycles: [(practitioner: String, cycle: Cycle)] = []
        for row in try c.query("SELECT id, joined FROM practitioner WHERE scheme = $1 ORDER BY id", [code]) {
            let id: String = try row["id"], joined: Day = try row["joined"]
            let cycle = try scheme.period.cycle(containing: day, joined: joined)
            if cycle.contains(day), joined <= cycle.end { cycles.append((id, cycle)) }
        }
        guard let lastEnd = cycles.map(\.cycle.end).max() else {
            throw StoreError.notFound("scheme \(code) had no members in a cycle holding \(day)")
        }
        return (cycles, lastEnd, lastEnd.adding(days: 1))
    }

    static let sampleColumns = """
        s.id, s.scheme, s.cycle_day, (s.moment AT TIME ZONE r.time_zone)::date AS moment_day, r.time_zone, s.share, s.head_entry, s.seed,
        s.considered, s.selected, s.drawn_by
        """

    static func sample(scheme: String, momentDay: Day, _ c: PostgresConnection) throws -> Sample? {
        try c.query(
            "SELECT \(sampleColumns) FROM audit_sample s, registry r WHERE s.scheme = $1 AND s.moment = ($2::date::timestamp AT TIME ZONE r.time_zone)",
            [scheme, momentDay]).first.map(decodeSample)
    }

    static func sample(id: Int64, _ c: PostgresConnection) throws -> Sample? {
        try c.query("SELECT \(sampleColumns) FROM audit_sample s, registry r WHERE s.id = $1", [id]).first.map(decodeSample)
    }

    static func decodeSample(_ row: PostgresRow) throws -> Sample {
        Sample(
            id: try row["id"], scheme: try row["scheme"], cycleDay: try row["cycle_day"], momentDay: try row["moment_day"], timeZone: try row["time_zone"],
            share: try row["share"], headEntry: try row["head_entry"], seed: try row["seed"], considered: Int(try row["considered"] as Int64),
            selected: Int(try row["selected"] as Int64), drawnBy: try row["drawn_by"], replayed: false)
    }

    static func members(of sample: Int64, _ c: PostgresConnection) throws -> [Drawn] {
        try c.query(
            """
            SELECT d.practitioner, d.cycle_start, d.cycle_end, d.draw_key, d.outcome, a.id AS audit
            FROM audit_draw d LEFT JOIN audit a ON a.sample = d.sample AND a.practitioner = d.practitioner
            WHERE d.sample = $1 ORDER BY d.draw_key
            """, [sample]
        ).map { row in
            Drawn(practitioner: try row["practitioner"], cycle: Cycle(start: try row["cycle_start"], end: try row["cycle_end"]),
                  key: try row["draw_key"], outcome: try row["outcome"], audit: try row["audit"])
        }
    }

    /// The sample drawn for the cycle holding `day` (found by its moment, as `draw` finds it), with
    /// every member it considered, lowest key first.
    public static func sample(scheme code: String, day: Day, _ c: PostgresConnection) throws -> (Sample, [Drawn]) {
        let (_, lastEnd, momentDay) = try audited(scheme: code, day: day, c)
        // A moment past the calendar's end cannot have been drawn (nor written as a date).
        guard momentDay <= Day.latest, let sample = try sample(scheme: code, momentDay: momentDay, c) else {
            throw StoreError.notFound("no sample of \(code) has been drawn for the cycle holding \(day) (to \(lastEnd))")
        }
        return (sample, try members(of: sample.id, c))
    }

    // MARK: - An audit's life

    static let rowColumns = """
        a.id, a.sample, p.scheme, a.practitioner, a.cycle_start, a.cycle_end, a.state, a.due, a.pending, a.pending_until, a.pending_reason,
        a.last_answer, a.exempt_from, a.exempt_until, a.decided, a.note,
        (SELECT count(*) FROM audit_evidence v WHERE v.audit = a.id) AS evidence,
        (SELECT (now() AT TIME ZONE time_zone)::date FROM registry) AS today
        """

    static func decodeRow(_ row: PostgresRow) throws -> Row {
        let stateText: String = try row["state"]
        guard let state = AuditState(rawValue: stateText) else { throw StoreError.unexpected("audit state '\(stateText)' is unknown") }
        var pending: (ask: AuditAsk, until: Day, reason: String)? = nil
        if let askText = try row["pending"] as String? {
            guard let ask = AuditAsk(rawValue: askText) else { throw StoreError.unexpected("audit request '\(askText)' is unknown") }
            pending = (ask, try row["pending_until"], try row["pending_reason"])
        }
        let audit = Audit(
            state: state, due: try row["due"], pending: pending, lastAnswer: try row["last_answer"], exemptFrom: try row["exempt_from"],
            exemptUntil: try row["exempt_until"], decided: try row["decided"], note: try row["note"])
        return Row(
            id: try row["id"], sample: try row["sample"], scheme: try row["scheme"], practitioner: try row["practitioner"],
            cycle: Cycle(start: try row["cycle_start"], end: try row["cycle_end"]), audit: audit, evidence: Int(try row["evidence"] as Int64),
            today: try row["today"], replayed: false)
    }

    /// One audit; a practitioner (`owner`) may see only their own.
    public static func audit(_ id: Int64, owner: String?, _ c: PostgresConnection, lock: Bool = false) throws -> Row {
        guard let row = try c.query(
            "SELECT \(rowColumns) FROM audit a JOIN practitioner p ON p.id = a.practitioner WHERE a.id = $1" + (lock ? " FOR UPDATE OF a" : ""), [id]).first
        else { throw StoreError.notFound("no audit \(id)") }
        let audit = try decodeRow(row)
        if let owner, owner != audit.practitioner {
            throw StoreError.permissionDenied("a practitioner sees and answers only their own audits")
        }
        return audit
    }

    /// Audits, newest first, narrowed by practitioner, scheme and state.
    public static func list(practitioner: String?, scheme: String?, state: AuditState?, _ c: PostgresConnection) throws -> [Row] {
        try c.query(
            """
            SELECT \(rowColumns) FROM audit a JOIN practitioner p ON p.id = a.practitioner
            WHERE ($1::text IS NULL OR a.practitioner = $1) AND ($2::text IS NULL OR p.scheme = $2) AND ($3::text IS NULL OR a.state = $3)
            ORDER BY a.id DESC LIMIT 1000
            """, [practitioner, scheme, state?.rawValue]
        ).map(decodeRow)
    }

    /// An audit's history and evidence, oldest first.
    public static func history(_ id: Int64, _ c: PostgresConnection) throws -> ([Event], [Evidence]) {
        let events = try c.query("SELECT day, event, by_whom, detail FROM audit_event WHERE audit = $1 ORDER BY id", [id]).map { row in
            Event(day: try row["day"], event: try row["event"], by: try row["by_whom"], detail: try row["detail"])
        }
        let evidence = try c.query("SELECT sha256, description, submitted, submitted_by FROM audit_evidence WHERE audit = $1 ORDER BY submitted, sha256", [id]).map { row in
            Evidence(sha256: try row["sha256"], description: try row["description"], submitted: try row["submitted"], by: try row["submitted_by"])
        }
        return (events, evidence)
    }

    /// What a step is, as a command asks for it (the evidence's hash is checked against what is on file).
    public enum Action: Sendable, Equatable {
        case request(due: Day)
        case submit(sha256: String, description: String)
        case review(note: String?)
        case decide(passed: Bool, note: String)
        case ask(AuditAsk, until: Day, reason: String)
        case answer(AuditAsk, granted: Bool, note: String?)
    }

    /// Takes one step in audit `id`'s life, recorded with its event; `owner` is the practitioner a
    /// practitioner's principal names (they may step only their own audits). The same step again
    /// changes nothing and is answered with `replayed`.
    public static func step(_ id: Int64, _ action: Action, owner: String?, by principal: String, _ c: PostgresConnection) throws -> Row {
        try c.withTransaction { c in
            var row = try audit(id, owner: owner, c, lock: true)
            let step: Audit.Step
            var event: (name: String, detail: String?)
            switch action {
            case .request(let due):
                step = .request(due: due)
                event = ("requested", "due \(due)")
            case .submit(let sha256, let description):
                let known = try !c.query("SELECT 1 FROM audit_evidence WHERE audit = $1 AND sha256 = $2", [id, sha256]).isEmpty
                step = .submit(known: known)
                event = ("submitted", "\(sha256) \(description)")
            case .review(let note):
                step = .review
                event = ("reviewed", note)
            case .decide(let passed, let note):
                step = .decide(passed: passed, note: note)
                event = (passed ? "passed" : "failed", note)
            case .ask(let ask, let until, let reason):
                step = .ask(ask, until: until, reason: reason)
                event = ("\(ask.rawValue)_asked", "until \(until): \(reason)")
            case .answer(let ask, let granted, let note):
                step = .answer(ask, granted: granted, note: note)
                event = ("\(ask.rawValue)_\(granted ? "granted" : "refused")", note)
            }
            let next: (audit: Audit, replayed: Bool)
            do {
                next = try row.audit.applying(step, on: row.today)
            } catch let refusal as AuditRefusal {
                switch refusal.kind {
                case .conflict: throw StoreError.conflict("audit \(id): \(refusal.message)")
                case .invalid: throw StoreError.invalid(ValidationError(invalidField(action), refusal.message))
                }
            }
            guard !next.replayed else {
                row.replayed = true
                return row
            }
            if case .submit(let sha256, let description) = action {
                try c.query(
                    "INSERT INTO audit_evidence (audit, sha256, description, submitted, submitted_by) VALUES ($1, $2, $3, $4, $5)",
                    [id, sha256, description, row.today, principal])
            }
            let a = next.audit
            try c.query(
                """
                UPDATE audit SET state = $2, due = $3, pending = $4, pending_until = $5, pending_reason = $6, last_answer = $7,
                                 exempt_from = $8, exempt_until = $9, decided = $10, note = $11
                WHERE id = $1
                """,
                [id, a.state.rawValue, a.due, a.pending?.ask.rawValue, a.pending?.until, a.pending?.reason, a.lastAnswer,
                 a.exemptFrom, a.exemptUntil, a.decided, a.note])
            try c.query("INSERT INTO audit_event (audit, event, day, by_whom, detail) VALUES ($1, $2, $3, $4, $5)",
                        [id, event.name, row.today, principal, event.detail])
            var stepped = try audit(id, owner: nil, c)
            stepped.replayed = false
            return stepped
        }
    }

    static func invalidField(_ action: Action) -> String {
        switch action {
        case .request: "due"
        case .ask: "until"
        default: "audit"
        }
    }
}
