import CPDCore
import Crypto
import Postgres

/// Audits: the sample drawn for a scheme's cycle, and each audit's life (`Audit.applying` decides
/// every step; this file keeps the result and its history).
public enum AuditStore {
    public struct Sample: Sendable, Equatable {
        public var id: Int64
        public var scheme: String
        /// The month whose cycle ends are audited (its first day).
        public var month: Day
        /// The moment the seed is taken: the start of this day (the next month's first) in `timeZone`.
        public var momentDay: Day
        public var timeZone: String
        public var share: Points
        public var announcedBy: String
        /// Nil until drawn.
        public var draw: Draw?
        /// True when this request found it announced (or drawn) already.
        public var replayed: Bool
    }

    public struct Draw: Sendable, Equatable {
        /// The ledger's head at the moment: its last entry (0: none) and that entry's hash.
        public var headEntry: Int64
        public var seed: String
        public var considered: Int
        /// Considered and not skipped: the members the share is taken of.
        public var eligible: Int
        public var selected: Int
        public var drawnBy: String
    }

    /// A member the draw considered.
    public struct Drawn: Sendable, Equatable {
        public var practitioner: String
        public var cycle: Cycle
        public var key: String
        /// selected, not_selected, exempt (skipped: an exemption open on a day of the cycle, granted
        /// before the moment) or drawn_before (skipped: a rolling window overlapping one drawn before).
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
        /// The number of the request waiting (`audit.answer request=`), while one does.
        public var pendingRequest: Int64?
        public var today: Day
        /// True when the step that answered it had been done already.
        public var replayed: Bool
    }

    public struct Event: Sendable, Equatable {
        /// Its number; an ask's is the request's number (`pending_request`).
        public var id: Int64
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
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Array("\(seed):\(practitioner)".utf8)) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    // MARK: - Drawing

    /// What `audit.draw` did.
    public enum DrawAnswer: Sendable {
        /// The share announced, to be drawn from the moment on.
        case announced(Sample)
        case drawn(Sample, [Drawn])
    }

    /// `audit.draw`: before `month` begins (in the registry's time zone), announces the audit of the
    /// scheme's cycles that end in it at `share` percent; from the moment (the first day of the next
    /// month) on, draws the sample the announcement asked for, once the
    /// ledger has an entry recorded from the moment on (which settles the head). An audit is not
    /// drawn unannounced: a share chosen once the seed can be known could steer the sample. The same
    /// request again is answered as before; another share is a conflict.
    public static func draw(scheme code: String, month: Day, share: Points, by principal: String, _ c: PostgresConnection) throws -> DrawAnswer {
        guard share.hundredths > 0, share.hundredths <= 10_000 else {
            throw StoreError.invalid(ValidationError("share", "is a percentage above 0, at most 100"))
        }
        let next = try month.adding(months: 1)
        return try c.withTransaction { c in
            // One draw of a scheme at a time: the skips read what earlier draws wrote.
            try c.query("SELECT pg_advisory_xact_lock(hashtextextended('cpd audit.draw ' || $1, 0))", [code])
            let scheme = try SchemeStore.scheme(code, c)
            if let announced = try sample(scheme: code, month: month, c) {
                guard announced.share == share else {
                    throw StoreError.conflict("the audit of \(code) for cycles ending in \(monthText(month)) was announced at \(announced.share)% (sample \(announced.id))")
                }
                if announced.draw != nil {
                    var replay = announced
                    replay.replayed = true
                    return .drawn(replay, try members(of: announced.id, c))
                }
                let passed: Bool = try c.query("SELECT now() >= moment FROM audit_sample WHERE id = $1", [announced.id])[0][0]
                guard passed else {
                    var replay = announced
                    replay.replayed = true
                    return .announced(replay)
                }
                // In order: a month is drawn once every earlier month announced for the scheme is, so
                // that no one can leave a month undrawn for the sake of the next one's seed.
                if let earlier = try c.query(
                    "SELECT month FROM audit_sample WHERE scheme = $1 AND month < $2 AND drawn_at IS NULL ORDER BY month LIMIT 1", [code, month]).first {
                    let undrawn: Day = try earlier["month"]
                    throw StoreError.conflict("the audit of \(code) for \(monthText(undrawn)) is announced and not drawn; months are drawn in order")
                }
                return try drawNow(announced, scheme: scheme, by: principal, c)
            }
            guard let row = try c.query(
                """
                INSERT INTO audit_sample (scheme, month, moment_day, time_zone, moment, share, announced_by)
                SELECT $1, $2, $3, r.time_zone, ($3::date::timestamp AT TIME ZONE r.time_zone), $4, $5 FROM registry r
                WHERE now() < ($2::date::timestamp AT TIME ZONE r.time_zone)
                RETURNING id
                """, [code, month, next, share, principal]).first
            else {
                throw StoreError.conflict(
                    "the audit of \(code) for cycles ending in \(monthText(month)) was not announced before \(month) began; an audit's share is announced a month before its seed exists")
            }
            guard let announced = try sample(id: try row["id"], c) else { throw StoreError.unexpected("the audit just announced is missing") }
            return .announced(announced)
        }
    }

    static func monthText(_ month: Day) -> String { String(month.description.prefix(7)) }

    /// Each member's cycle that ends in `month` (for a rolling scheme, the window ending on its last
    /// day), of the members registered before the moment of `sample`: someone registered since, with a
    /// past join day, could be chosen for the key their id gives. Members who joined after their
    /// cycle ended are left out.
    static func cycles(endingIn month: Day, scheme: Scheme, sample: Int64, _ c: PostgresConnection) throws -> [(practitioner: String, cycle: Cycle)] {
        let last = try month.adding(months: 1).adding(days: -1)
        var cycles: [(practitioner: String, cycle: Cycle)] = []
        for row in try c.query(
            "SELECT id, joined FROM practitioner WHERE scheme = $1 AND created_at < (SELECT moment FROM audit_sample WHERE id = $2) ORDER BY id",
            [scheme.code, sample]) {
            let id: String = try row["id"], joined: Day = try row["joined"]
            let cycle: Cycle
            if case .rolling = scheme.period {
                cycle = try scheme.period.cycle(containing: last, joined: joined)
            } else {
                cycle = try scheme.period.cycle(containing: month, joined: joined)
            }
            if cycle.end >= month, cycle.end <= last, joined <= cycle.end { cycles.append((id, cycle)) }
        }
        return cycles
    }

    static func drawNow(_ announced: Sample, scheme: Scheme, by principal: String, _ c: PostgresConnection) throws -> DrawAnswer {
        // The head at the moment: what the first entry recorded from then on chains to. Its id and
        // hash settle once it exists (ids are given in commit order, under the chain's lock).
        guard let first = try c.query(
            """
            SELECT e.id, encode(e.prev_hash, 'hex') AS seed FROM ledger_entry e
            WHERE e.id = (SELECT min(id) FROM ledger_entry WHERE recorded_at >= (SELECT moment FROM audit_sample WHERE id = $1))
            """, [announced.id]).first
        else {
            throw StoreError.conflict(
                "no ledger entry has been recorded since \(announced.momentDay) began; the head at that moment, the draw's seed, is settled by the first one after it")
        }
        let headEntry = (try first["id"] as Int64) - 1
        let seed: String = try first["seed"]
        let today = try Registry.today(c)
        let cycles = try cycles(endingIn: announced.month, scheme: scheme, sample: announced.id, c)
        let ids = TextArray(cycles.map(\.practitioner))
        // Skipped: an exemption granted before the moment and open on a day of the member's cycle;
        // a cycle overlapping one an earlier draw of the scheme drew from (rolling windows).
        var exemptions: [String: [(from: Day, until: Day)]] = [:]
        for row in try c.query(
            """
            SELECT practitioner, exempt_from, exempt_until FROM audit
            WHERE practitioner = ANY($1::text[]) AND state = 'exempt' AND exempt_from < $2
            """, [ids, announced.momentDay]) {
            exemptions[try row["practitioner"], default: []].append((try row["exempt_from"], try row["exempt_until"]))
        }
        var earlier: [String: [Cycle]] = [:]
        for row in try c.query(
            """
            SELECT d.practitioner, d.cycle_start, d.cycle_end FROM audit_draw d JOIN audit_sample s ON s.id = d.sample
            WHERE s.scheme = $1 AND s.month < $3 AND d.practitioner = ANY($2::text[]) AND d.outcome IN ('selected', 'not_selected')
            """, [scheme.code, ids, announced.month]) {
            earlier[try row["practitioner"], default: []].append(Cycle(start: try row["cycle_start"], end: try row["cycle_end"]))
        }
        var drawn: [Drawn] = []
        drawn.reserveCapacity(cycles.count)
        for (id, cycle) in cycles {
            let outcome: String
            if exemptions[id, default: []].contains(where: { $0.from <= cycle.end && $0.until >= cycle.start }) {
                outcome = "exempt"
            } else if earlier[id, default: []].contains(where: { $0.start <= cycle.end && $0.end >= cycle.start }) {
                outcome = "drawn_before"
            } else {
                outcome = "not_selected"
            }
            drawn.append(Drawn(practitioner: id, cycle: cycle, key: drawKey(seed: seed, practitioner: id), outcome: outcome, audit: nil))
        }
        let eligible = drawn.filter { $0.outcome == "not_selected" }
        let chosen = AuditDraw.select(eligible.map { ($0.practitioner, $0.key) }, share: announced.share)
        for index in drawn.indices where chosen.contains(drawn[index].practitioner) { drawn[index].outcome = "selected" }
        try c.query(
            """
            UPDATE audit_sample SET drawn_by = $2, drawn_at = now(), head_entry = $3, seed = $4, considered = $5, eligible = $6, selected = $7
            WHERE id = $1
            """, [announced.id, principal, headEntry, seed, drawn.count, eligible.count, chosen.count])
        try c.query(
            """
            INSERT INTO audit_draw (sample, practitioner, cycle_start, cycle_end, draw_key, outcome)
            SELECT $1, d.p, d.s::date, d.e::date, d.k, d.o FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS d(p, s, e, k, o)
            """, [announced.id, ids, TextArray(drawn.map(\.cycle.start.description)), TextArray(drawn.map(\.cycle.end.description)),
                  TextArray(drawn.map(\.key)), TextArray(drawn.map(\.outcome))])
        try c.query(
            """
            WITH opened AS (
                INSERT INTO audit (sample, practitioner, cycle_start, cycle_end, state)
                SELECT sample, practitioner, cycle_start, cycle_end, 'selected' FROM audit_draw WHERE sample = $1 AND outcome = 'selected'
                RETURNING id
            )
            INSERT INTO audit_event (audit, event, day, by_whom, detail) SELECT id, 'selected', $2, $3, 'sample ' || $1 FROM opened
            """, [announced.id, today, principal])
        guard let made = try sample(id: announced.id, c) else { throw StoreError.unexpected("the sample just drawn is missing") }
        return .drawn(made, try members(of: announced.id, c))
    }

    static let sampleColumns = """
        s.id, s.scheme, s.month, s.moment_day, s.time_zone, s.share, s.announced_by, s.drawn_by, s.head_entry, s.seed, s.considered, s.eligible, s.selected
        """

    static func sample(scheme: String, month: Day, _ c: PostgresConnection) throws -> Sample? {
        try c.query("SELECT \(sampleColumns) FROM audit_sample s WHERE s.scheme = $1 AND s.month = $2", [scheme, month]).first.map(decodeSample)
    }

    static func sample(id: Int64, _ c: PostgresConnection) throws -> Sample? {
        try c.query("SELECT \(sampleColumns) FROM audit_sample s WHERE s.id = $1", [id]).first.map(decodeSample)
    }

    static func decodeSample(_ row: PostgresRow) throws -> Sample {
        var draw: Draw? = nil
        if let drawnBy = try row["drawn_by"] as String? {
            draw = Draw(
                headEntry: try row["head_entry"], seed: try row["seed"], considered: Int(try row["considered"] as Int64),
                eligible: Int(try row["eligible"] as Int64), selected: Int(try row["selected"] as Int64), drawnBy: drawnBy)
        }
        return Sample(
            id: try row["id"], scheme: try row["scheme"], month: try row["month"], momentDay: try row["moment_day"], timeZone: try row["time_zone"],
            share: try row["share"], announcedBy: try row["announced_by"], draw: draw, replayed: false)
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

    /// The audit announced (and drawn) for the scheme's cycles ending in `month`, with every member
    /// it considered, lowest key first (none before it is drawn).
    public static func sample(scheme code: String, month: Day, _ c: PostgresConnection) throws -> (Sample, [Drawn]) {
        guard let sample = try sample(scheme: code, month: month, c) else {
            _ = try SchemeStore.scheme(code, c)
            throw StoreError.notFound("no audit of \(code) was announced for cycles ending in \(monthText(month))")
        }
        return (sample, try members(of: sample.id, c))
    }

    // MARK: - An audit's life

    static let rowColumns = """
        a.id, a.sample, p.scheme, a.practitioner, a.cycle_start, a.cycle_end, a.state, a.due, a.pending, a.pending_until, a.pending_reason,
        a.exempt_from, a.exempt_until, a.decided, a.note,
        (SELECT count(*) FROM audit_evidence v WHERE v.audit = a.id) AS evidence,
        CASE WHEN a.pending IS NOT NULL THEN
            (SELECT max(e.id) FROM audit_event e WHERE e.audit = a.id AND e.event IN ('extension_asked', 'exemption_asked')) END AS pending_request,
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
            state: state, due: try row["due"], pending: pending, exemptFrom: try row["exempt_from"],
            exemptUntil: try row["exempt_until"], decided: try row["decided"], note: try row["note"])
        return Row(
            id: try row["id"], sample: try row["sample"], scheme: try row["scheme"], practitioner: try row["practitioner"],
            cycle: Cycle(start: try row["cycle_start"], end: try row["cycle_end"]), audit: audit, evidence: Int(try row["evidence"] as Int64),
            pendingRequest: try row["pending_request"], today: try row["today"], replayed: false)
    }

    /// One audit; a practitioner (`owner`) may see only their own. With `lock`, the row is locked for
    /// a step, once the owner is known to be the one asking.
    public static func audit(_ id: Int64, owner: String?, _ c: PostgresConnection, lock: Bool = false) throws -> Row {
        if let owner {
            guard let row = try c.query("SELECT practitioner FROM audit WHERE id = $1", [id]).first else { throw StoreError.notFound("no audit \(id)") }
            guard try row["practitioner"] as String == owner else {
                throw StoreError.permissionDenied("a practitioner sees and answers only their own audits")
            }
        }
        guard let row = try c.query(
            "SELECT \(rowColumns) FROM audit a JOIN practitioner p ON p.id = a.practitioner WHERE a.id = $1" + (lock ? " FOR UPDATE OF a" : ""), [id]).first
        else { throw StoreError.notFound("no audit \(id)") }
        return try decodeRow(row)
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
        let events = try c.query("SELECT id, day, event, by_whom, detail FROM audit_event WHERE audit = $1 ORDER BY id", [id]).map { row in
            Event(id: try row["id"], day: try row["day"], event: try row["event"], by: try row["by_whom"], detail: try row["detail"])
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
        case answer(request: Int64, granted: Bool, note: String?)
    }

    /// Takes one step in audit `id`'s life, recorded with its event; `owner` is the practitioner a
    /// practitioner's principal names (they may step only their own audits). A step already in the
    /// audit's history changes nothing and is answered with `replayed`.
    public static func step(_ id: Int64, _ action: Action, owner: String?, by principal: String, _ c: PostgresConnection) throws -> Row {
        try c.withTransaction { c in
            var row = try audit(id, owner: owner, c, lock: true)
            let step: Audit.Step
            switch action {
            case .request(let due): step = .request(due: due)
            case .submit(let sha256, let description):
                let known = try !c.query("SELECT 1 FROM audit_evidence WHERE audit = $1 AND sha256 = $2", [id, sha256]).isEmpty
                step = .submit(sha256: sha256, description: description, known: known)
            case .review(let note): step = .review(note: note)
            case .decide(let passed, let note): step = .decide(passed: passed, note: note)
            case .ask(let ask, let until, let reason): step = .ask(ask, until: until, reason: reason)
            case .answer(let request, let granted, let note): step = .answer(request: request, granted: granted, note: note)
            }
            let history = try c.query("SELECT id, event, detail FROM audit_event WHERE audit = $1 ORDER BY id", [id]).map { row in
                AuditEvent(try row["event"], try row["detail"], id: try row["id"])
            }
            let event = row.audit.answerEvent(step)
            let next: (audit: Audit, replayed: Bool)
            do {
                next = try row.audit.applying(step, on: row.today, history: history)
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
                UPDATE audit SET state = $2, due = $3, pending = $4, pending_until = $5, pending_reason = $6,
                                 exempt_from = $7, exempt_until = $8, decided = $9, note = $10
                WHERE id = $1
                """,
                [id, a.state.rawValue, a.due, a.pending?.ask.rawValue, a.pending?.until, a.pending?.reason,
                 a.exemptFrom, a.exemptUntil, a.decided, a.note])
            try c.query("INSERT INTO audit_event (audit, event, day, by_whom, detail) VALUES ($1, $2, $3, $4, $5)",
                        [id, event.event, row.today, principal, event.detail])
            return try audit(id, owner: nil, c)
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
