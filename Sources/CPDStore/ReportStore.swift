import CPDCore
import Foundation
import Postgres

/// The nightly report's SQL: every section from set-based queries in one snapshot (never a query
/// per member), and the record of runs that makes "since the previous run" exact.
///
/// The report may be read from a replica (`make` only reads); runs are recorded on the primary.
/// Since ledger entries are numbered in commit order, entries new to a run are those above the
/// previous run's head; course events and rejected writes are new when their transaction was not
/// visible in the previous run's snapshot (sql/migrations/0007_report.sql).
public enum ReportStore {
    /// The run a report follows: the newest successful run for an earlier date.
    public struct PreviousRun: Sendable, Equatable {
        public var id: Int64
        public var date: Day
        public var ledgerHead: Int64
        public var snapshot: String
    }

    /// What a report saw, for its run record.
    public struct Made: Sendable {
        public var date: Day
        public var ledgerHead: Int64
        public var snapshot: String
        public var startedAt: String
        /// How long each part took, for the log.
        public var timings: [(part: String, took: Duration)]
    }

    /// Today in the registry's time zone: the default date of a report.
    public static func today(_ c: PostgresConnection) throws -> Day { try Registry.today(c) }

    public static func previousRun(before date: Day, _ c: PostgresConnection) throws -> PreviousRun? {
        guard let row = try c.query(
            """
            SELECT id, report_date, ledger_head, snapshot::text AS snapshot FROM report_run
            WHERE status = 'ok' AND report_date < $1 ORDER BY report_date DESC, id DESC LIMIT 1
            """, [date]
        ).first else { return nil }
        return PreviousRun(id: try row["id"], date: try row["report_date"], ledgerHead: try row["ledger_head"], snapshot: try row["snapshot"])
    }

    /// Records a run; a failed one (with its problem) does not move the next report's starting point.
    @discardableResult
    public static func recordRun(_ made: Made, since previous: PreviousRun?, problem: String?, by principal: String, _ c: PostgresConnection) throws -> Int64 {
        try c.query(
            """
            INSERT INTO report_run (report_date, status, since_run, ledger_head, snapshot, problem, requested_by, started_at)
            VALUES ($1, $2, $3, $4, $5::text::pg_snapshot, $6, $7, $8::text::timestamptz) RETURNING id
            """,
            [made.date, problem == nil ? "ok" : "failed", previous?.id, made.ledgerHead, made.snapshot, problem, principal, made.startedAt]
        )[0][0]
    }

    /// The snapshot a report reads in, exported so that a second connection can read in it too.
    public struct SharedSnapshot: Sendable {
        public var id: String
        public var ledgerHead: Int64
    }

    /// The checks over the whole ledger: the hash chain and the totals.
    public struct Checks: Sendable {
        public var integrity: LedgerStore.Verification
        public var reconciles: Bool
        public var timings: [(part: String, took: Duration)]
    }

    /// Makes the report for `date` in one REPEATABLE READ, READ ONLY transaction on `c` (the primary
    /// or a replica), handing each row to `emit` as it is ready. Its snapshot is exported and handed
    /// to `shared` first, so that `check(in:)` can verify the ledger on another connection, in the
    /// same snapshot, at the same time: the two longest parts of the report then overlap.
    /// `beforeCommit` is called last, inside the transaction: the exported snapshot can be imported
    /// only while its transaction is open, so the caller waits there until the other connection has.
    public static func make(
        date: Day, since previous: PreviousRun?, _ c: PostgresConnection, shared: (SharedSnapshot) -> Void,
        beforeCommit: () -> Void = {}, emit: (ReportRow) throws -> Void
    ) throws -> Made {
        try c.withTransaction(isolation: .repeatableRead, readOnly: true) { c in
            let head = try c.query(
                """
                SELECT pg_current_snapshot()::text AS snapshot, now()::text AS started_at, pg_export_snapshot() AS exported,
                       to_char(now() AT TIME ZONE r.time_zone, 'YYYY-MM-DD"T"HH24:MI:SS') AS generated_at, r.name, r.time_zone,
                       coalesce((SELECT max(id) FROM ledger_entry), 0) AS head
                FROM registry r
                """)[0]
            let ledgerHead: Int64 = try head["head"]
            shared(SharedSnapshot(id: try head["exported"], ledgerHead: ledgerHead))
            let since = previous?.ledgerHead ?? 0
            try emit(ReportRow(.run, [
                date.description, try head["generated_at"], try head["name"], try head["time_zone"], "",
                previous.map { String($0.id) } ?? "", previous?.date.description ?? "", String(since), String(max(0, ledgerHead - since)),
            ]))
            var timings: [(part: String, took: Duration)] = []
            try timed("standings", &timings) { try standings(on: date, c, emit: emit) }
            try timed("audits", &timings) { try audits(on: date, since: previous?.snapshot, c, emit: emit) }
            try timed("completions", &timings) { try completions(after: since, upTo: ledgerHead, c, emit: emit) }
            try timed("course_events", &timings) { try courseEvents(since: previous?.snapshot, c, emit: emit) }
            try timed("rejected_writes", &timings) { try rejectedWrites(since: previous?.snapshot, c, emit: emit) }
            try timed("points_per_day", &timings) { try pointsPerDay(endingOn: date, c, emit: emit) }
            beforeCommit()
            return Made(
                date: date, ledgerHead: ledgerHead, snapshot: try head["snapshot"], startedAt: try head["started_at"], timings: timings)
        }
    }

    /// Verifies the hash chain and the totals in a snapshot `make` exported (on another connection,
    /// while `make` runs: the exporting transaction must still be open).
    public static func check(
        in snapshot: SharedSnapshot, _ c: PostgresConnection, imported: () -> Void = {}, emit: (ReportRow) throws -> Void
    ) throws -> Checks {
        // SET TRANSACTION SNAPSHOT takes no parameter. The id is the server's own, and is checked to
        // be nothing but the hex digits and dashes such ids are made of before it is written here.
        guard snapshot.id.range(of: "^[0-9A-F]+(-[0-9A-F]+)+$", options: .regularExpression) != nil else {
            throw StoreError.invalid(ValidationError("snapshot", "'\(snapshot.id)' is not an exported snapshot's id"))
        }
        return try c.withTransaction(isolation: .repeatableRead, readOnly: true) { c in
            try c.execute(script: "SET TRANSACTION SNAPSHOT '\(snapshot.id)'")
            imported()
            var timings: [(part: String, took: Duration)] = []
            let integrity = try timed("integrity", &timings) { try self.integrity(c, emit: emit) }
            let reconciles = try timed("totals", &timings) { try totals(c, emit: emit) }
            return Checks(integrity: integrity, reconciles: reconciles, timings: timings)
        }
    }

    static func timed<T>(_ part: String, _ timings: inout [(part: String, took: Duration)], _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { timings.append((part, ContinuousClock.now - start)) }
        return try body()
    }

    // MARK: - Sections

    /// Every member's standing, from `LedgerStore.allStandings` (one streamed pass over the members
    /// and the ledger): the at-risk list, the certificates to chase, and the counts per status.
    static func standings(on date: Day, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        let titles = try c.query("SELECT code, title FROM scheme ORDER BY code").map { (try $0["code"] as String, try $0["title"] as String) }
        var counts: [String: [ComplianceStatus: Int]] = [:]
        var members: [String: Int] = [:]
        var atRisk: [ReportRow] = [], certificates: [ReportRow] = [], renewals: [ReportRow] = []
        try LedgerStore.allStandings(on: date, c) { member in
            let s = member.standing
            let code = member.scheme.code
            counts[code, default: [:]][s.status, default: 0] += 1
            members[code, default: 0] += 1
            if s.status == .atRisk || s.status == .nonCompliant {
                atRisk.append(ReportRow(.atRisk, [
                    code, member.practitioner.id, member.practitioner.name, s.status.rawValue, s.required.description,
                    s.counted.description, s.shortfall.description, s.cycle.end.description, String(s.daysLeft),
                    DeadlineFlag.flag(daysLeft: s.daysLeft).map(String.init) ?? "", s.carried.description,
                ]))
            }
            if let renewal = s.renewal, renewal.approved == nil {
                let state = renewal.submitted != nil ? "awaiting_approval" : (date > renewal.due ? "overdue" : "due")
                renewals.append(ReportRow(.renewals, [
                    code, member.practitioner.id, member.practitioner.name, renewal.cycle.start.description, renewal.cycle.end.description,
                    renewal.due.description, renewal.submitted?.description ?? "", state, renewal.late ? "yes" : "no",
                ]))
            }
            for certificate in s.certificates where certificate.state != .current {
                certificates.append(ReportRow(.certificates, [
                    code, member.practitioner.id, member.practitioner.name, certificate.kind, certificate.state.rawValue,
                    certificate.expires?.description ?? "", certificate.expires.map { String(date.distance(to: $0)) } ?? "",
                ]))
            }
        }
        // Per scheme, then per member (the pass above is in member order).
        func byScheme(_ a: ReportRow, _ b: ReportRow) -> Bool { a.values[0] != b.values[0] ? a.values[0] < b.values[0] : a.values[1] < b.values[1] }
        for row in atRisk.sorted(by: byScheme) { try emit(row) }
        for row in certificates.sorted(by: byScheme) { try emit(row) }
        for row in renewals.sorted(by: byScheme) { try emit(row) }
        for (code, title) in titles {
            let count = counts[code] ?? [:]
            try emit(ReportRow(.schemeStatus, [code, title, String(members[code] ?? 0)] + ComplianceStatus.allCases.map { String(count[$0, default: 0]) }))
        }
    }

    /// Every audit announced and due to be drawn (`flag=to_draw`), every open audit with what it
    /// waits for (`flag`), and every audit decided since the previous run, by scheme, earliest due first.
    static func audits(on date: Day, since snapshot: String?, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        // Audits announced whose moment has passed and that nobody has drawn: one row each, before
        // the audits (no member yet; the month's days; due, the moment's day).
        for row in try c.query(
            """
            SELECT s.id, s.scheme, s.month, s.moment_day, s.share FROM audit_sample s
            WHERE s.drawn_at IS NULL AND s.moment_day <= $1
            ORDER BY s.scheme, s.month
            """, [date])
        {
            let month: Day = try row["month"], momentDay: Day = try row["moment_day"], share: Points = try row["share"]
            try emit(ReportRow(.audits, [
                try row["scheme"], "", "", "", month.description, momentDay.adding(days: -1).description, "announced", momentDay.description,
                "to_draw", "", "sample \(try row["id"] as Int64) at \(share)%",
            ]))
        }
        for row in try c.query(
            """
            SELECT p.scheme, a.practitioner, p.name, a.id, a.cycle_start, a.cycle_end, a.state, a.due, a.pending, a.decided, a.note
            FROM audit a JOIN practitioner p ON p.id = a.practitioner
            WHERE a.state NOT IN ('passed', 'failed', 'exempt')
               OR EXISTS (SELECT 1 FROM audit_event e WHERE e.audit = a.id AND e.event IN ('passed', 'failed', 'exemption_granted') AND \(newSince("e")))
            ORDER BY p.scheme, a.due NULLS FIRST, a.id
            """, [snapshot])
        {
            let stateText: String = try row["state"]
            let due: Day? = try row["due"]
            let pending: String? = try row["pending"]
            let flag: String
            switch AuditState(rawValue: stateText) {
            case _ where pending != nil: flag = "\(pending ?? "")_asked"
            case .selected?: flag = "not_requested"
            case .requested?: flag = due.map { date > $0 } == true ? "overdue" : "due"
            case .submitted?: flag = "to_review"
            case .reviewed?: flag = "to_decide"
            default: flag = "decided"
            }
            try emit(ReportRow(.audits, [
                try row["scheme"], try row["practitioner"], try row["name"], String(try row["id"] as Int64), (try row["cycle_start"] as Day).description,
                (try row["cycle_end"] as Day).description, stateText, due?.description ?? "", flag, (try row["decided"] as Day?)?.description ?? "",
                try row["note"] as String? ?? "",
            ]))
        }
    }

    /// Completions and reversals of entries numbered after `since`, per course, then per provider.
    static func completions(after since: Int64, upTo head: Int64, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        var byProvider: [String: (completions: Int64, points: Points, reversals: Int64, reversed: Points)] = [:]
        for row in try c.query(
            """
            SELECT e.course, c.provider,
                   count(*) FILTER (WHERE e.kind = 'completion') AS completions,
                   coalesce(sum(e.points) FILTER (WHERE e.kind = 'completion'), 0) AS points,
                   count(*) FILTER (WHERE e.kind = 'reversal') AS reversals,
                   coalesce(-sum(e.points) FILTER (WHERE e.kind = 'reversal'), 0) AS reversed
            FROM ledger_entry e JOIN course c ON c.code = e.course
            WHERE e.id > $1 AND e.id <= $2 AND e.course IS NOT NULL
            GROUP BY e.course, c.provider ORDER BY e.course
            """, [since, head])
        {
            let provider: String = try row["provider"]
            let completions: Int64 = try row["completions"], reversals: Int64 = try row["reversals"]
            let points: Points = try row["points"], reversed: Points = try row["reversed"]
            try emit(ReportRow(.completionsByCourse, [
                try row["course"], provider, String(completions), points.description, String(reversals), reversed.description,
            ]))
            var total = byProvider[provider, default: (0, .zero, 0, .zero)]
            total.completions += completions
            total.points = total.points + points
            total.reversals += reversals
            total.reversed = total.reversed + reversed
            byProvider[provider] = total
        }
        for (provider, total) in byProvider.sorted(by: { $0.key < $1.key }) {
            try emit(ReportRow(.completionsByProvider, [
                provider, String(total.completions), total.points.description, String(total.reversals), total.reversed.description,
            ]))
        }
    }

    /// The condition "written by a transaction the previous run's snapshot did not see" ($1 is that
    /// snapshot as text, or NULL for the first run); the index on `tx` finds the candidates.
    static func newSince(_ table: String) -> String {
        "($1::text IS NULL OR (\(table).tx >= pg_snapshot_xmin($1::text::pg_snapshot) AND NOT pg_visible_in_snapshot(\(table).tx, $1::text::pg_snapshot)))"
    }

    static func courseEvents(since snapshot: String?, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        for row in try c.query(
            """
            SELECT e.course, c.provider, e.event, e.version, e.recorded_by,
                   to_char(e.recorded_at AT TIME ZONE (SELECT time_zone FROM registry), 'YYYY-MM-DD"T"HH24:MI:SS') AS recorded_at
            FROM course_event e JOIN course c ON c.code = e.course
            WHERE \(newSince("e"))
            ORDER BY e.recorded_at, e.id
            """, [snapshot])
        {
            try emit(ReportRow(.courseEvents, [
                try row["course"], try row["provider"], try row["event"], String(try row["version"] as Int), try row["recorded_by"],
                try row["recorded_at"],
            ]))
        }
    }

    static func rejectedWrites(since snapshot: String?, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        for row in try c.query(
            """
            SELECT r.command, r.code, r.reason, count(*) AS n FROM rejected_write r
            WHERE \(newSince("r"))
            GROUP BY r.command, r.code, r.reason ORDER BY n DESC, r.command, r.code, r.reason
            """, [snapshot])
        {
            try emit(ReportRow(.rejectedWrites, [try row["command"], try row["code"], try row["reason"], String(try row["n"] as Int64)]))
        }
        // Refusals past a principal's bound for the day were counted, not kept: one row per principal
        // and day, with the day's count, when it changed since the previous run.
        for row in try c.query(
            """
            SELECT o.day, o.principal, o.dropped FROM rejected_write_overflow o
            WHERE \(newSince("o"))
            ORDER BY o.day, o.principal
            """, [snapshot])
        {
            let day: Day = try row["day"]
            let principal: String = try row["principal"]
            try emit(ReportRow(.rejectedWrites, [
                "*", "not_kept", "refusals of \(principal) on \(day) past the day's bound: counted, not kept (the day's count)",
                String(try row["dropped"] as Int64),
            ]))
        }
    }

    /// Points recorded on each of the 30 days up to `date`, days reckoned in the registry's time zone.
    static func pointsPerDay(endingOn date: Day, _ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws {
        for row in try c.query(
            """
            WITH zone AS (SELECT time_zone FROM registry),
            days AS (SELECT d::date AS day FROM generate_series($1::date - 29, $1::date, interval '1 day') d)
            SELECT d.day,
                   count(e.id) FILTER (WHERE e.kind = 'completion') AS completions,
                   coalesce(sum(e.points) FILTER (WHERE e.kind = 'completion'), 0) AS points,
                   coalesce(-sum(e.points) FILTER (WHERE e.kind = 'reversal'), 0) AS reversed
            FROM days d CROSS JOIN zone z
            LEFT JOIN ledger_entry e ON e.recorded_at >= (d.day::timestamp AT TIME ZONE z.time_zone)
                                    AND e.recorded_at < ((d.day + 1)::timestamp AT TIME ZONE z.time_zone)
            GROUP BY d.day ORDER BY d.day
            """, [date])
        {
            let day: Day = try row["day"]
            let points: Points = try row["points"], reversed: Points = try row["reversed"]
            try emit(ReportRow(.pointsPerDay, [day.description, String(try row["completions"] as Int64), points.description, reversed.description]))
        }
    }

    /// The hash chain recomputed over every entry (`LedgerStore.verify`, in the report's snapshot).
    static func integrity(_ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws -> LedgerStore.Verification {
        let verification = try LedgerStore.verification(c)
        switch verification {
        case .broken(let id, let problem):
            let entries: Int64 = try c.query("SELECT count(*) FROM ledger_entry")[0][0]
            try emit(ReportRow(.integrity, ["broken", String(entries), "", String(id), problem]))
        case .intact(let entries, let head):
            try emit(ReportRow(.integrity, ["verified", String(entries), head, "", ""]))
        }
        return verification
    }

    /// Points recorded (every entry but reversals) minus points reversed, against the sum of every
    /// member's balance; two different groupings of the same snapshot that must agree.
    static func totals(_ c: PostgresConnection, emit: (ReportRow) throws -> Void) throws -> Bool {
        let row = try c.query(
            """
            WITH by_kind AS (
                SELECT coalesce(sum(points) FILTER (WHERE kind <> 'reversal'), 0) AS recorded,
                       coalesce(-sum(points) FILTER (WHERE kind = 'reversal'), 0) AS reversed
                FROM ledger_entry
            ), balances AS (
                SELECT count(*) AS members, coalesce(sum(balance), 0) AS total
                FROM (SELECT practitioner, sum(points) AS balance FROM ledger_entry GROUP BY practitioner) b
            )
            SELECT k.recorded, k.reversed, b.total, b.members FROM by_kind k, balances b
            """)[0]
        let recorded: Points = try row["recorded"], reversed: Points = try row["reversed"], balances: Points = try row["total"]
        let reconciles = recorded - reversed == balances
        try emit(ReportRow(.totals, [
            recorded.description, reversed.description, (recorded - reversed).description, balances.description,
            String(try row["members"] as Int64), reconciles ? "yes" : "no",
        ]))
        return reconciles
    }

    // MARK: - Rejected writes

    public struct Rejection: Sendable, Equatable {
        public var command: String
        public var code: String
        public var reason: String
        public var principal: String
        public init(command: String, code: String, reason: String, principal: String) {
            self.command = command
            self.code = code
            self.reason = reason
            self.principal = principal
        }
    }

    /// How the rejected-writes log is bounded: rows kept per principal per day (the registry's day;
    /// the rest are counted in `rejected_write_overflow`), and days a row is kept.
    public struct RejectionBounds: Sendable, Equatable {
        public var perPrincipalPerDay: Int
        public var retentionDays: Int
        public init(perPrincipalPerDay: Int = 1000, retentionDays: Int = 90) {
            self.perPrincipalPerDay = perPrincipalPerDay
            self.retentionDays = retentionDays
        }
    }

    /// What `logRejections` did with a batch.
    public struct LoggedRejections: Sendable, Equatable {
        public var kept = 0
        /// Over the day's bound for their principal: counted, not kept.
        public var counted = 0
        /// Refused by the database even alone; logged by the caller.
        public var failed = 0
    }

    /// Appends refused writes, many in one statement, within `bounds`: rows older than the retention
    /// are deleted, and past a principal's rows for the day the rest are only counted. Text is made
    /// storable first (no NUL, which the database layer refuses; reasons cut at 500 code points), and
    /// should the one statement fail all the same, the rows are written one at a time, so that one row
    /// the database refuses never loses the others. The commit need not wait for the disk: this is a
    /// log for the report, not the ledger.
    @discardableResult
    public static func logRejections(
        _ rejections: [Rejection], bounds: RejectionBounds = RejectionBounds(), _ c: PostgresConnection
    ) throws -> LoggedRejections {
        guard !rejections.isEmpty else { return LoggedRejections() }
        return try c.withTransaction { c in
            try c.execute(script: "SET LOCAL synchronous_commit = off")
            let clock = try c.query(
                """
                SELECT (now() AT TIME ZONE time_zone)::date AS day,
                       ((now() AT TIME ZONE time_zone)::date::timestamp AT TIME ZONE time_zone)::text AS day_start
                FROM registry
                """)[0]
            let day: Day = try clock["day"]
            let dayStart: String = try clock["day_start"]
            try c.query("DELETE FROM rejected_write WHERE at < now() - make_interval(days => $1::int)", [Int32(bounds.retentionDays)])
            try c.query("DELETE FROM rejected_write_overflow WHERE day < $1::date - $2::int", [day, Int32(bounds.retentionDays)])

            let rows = rejections.map(storable)
            var today: [String: Int] = [:]
            for row in try c.query(
                """
                SELECT principal, count(*) AS n FROM rejected_write
                WHERE principal = ANY($1::text[]) AND at >= $2::text::timestamptz GROUP BY principal
                """, [TextArray(Array(Set(rows.map(\.principal)))), dayStart])
            {
                today[try row["principal"]] = Int(try row["n"] as Int64)
            }
            var kept: [Rejection] = []
            var over: [String: Int] = [:]
            for row in rows {
                if today[row.principal, default: 0] < bounds.perPrincipalPerDay {
                    today[row.principal, default: 0] += 1
                    kept.append(row)
                } else {
                    over[row.principal, default: 0] += 1
                }
            }
            var outcome = LoggedRejections(kept: 0, counted: over.values.reduce(0, +), failed: 0)
            if !kept.isEmpty {
                do {
                    try c.execute(script: "SAVEPOINT rejections")
                    try insertRejections(kept, c)
                    try c.execute(script: "RELEASE SAVEPOINT rejections")
                    outcome.kept = kept.count
                } catch let error as PostgresError where !error.isConnectionLoss {
                    try c.execute(script: "ROLLBACK TO SAVEPOINT rejections")
                    for row in kept {
                        do {
                            try c.execute(script: "SAVEPOINT rejection")
                            try insertRejections([row], c)
                            try c.execute(script: "RELEASE SAVEPOINT rejection")
                            outcome.kept += 1
                        } catch let error as PostgresError where !error.isConnectionLoss {
                            try c.execute(script: "ROLLBACK TO SAVEPOINT rejection")
                            outcome.failed += 1
                        }
                    }
                }
            }
            if !over.isEmpty {
                let counts = over.sorted { $0.key < $1.key }
                try c.query(
                    """
                    INSERT INTO rejected_write_overflow (day, principal, dropped)
                    SELECT $1, p, n::bigint FROM unnest($2::text[], $3::text[]) AS o (p, n)
                    ON CONFLICT (day, principal) DO UPDATE
                    SET dropped = rejected_write_overflow.dropped + excluded.dropped, tx = pg_current_xact_id()
                    """, [day, TextArray(counts.map(\.key)), TextArray(counts.map { String($0.value) })])
            }
            return outcome
        }
    }

    static func insertRejections(_ rows: [Rejection], _ c: PostgresConnection) throws {
        try c.query(
            """
            INSERT INTO rejected_write (command, code, reason, principal)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
            """,
            [TextArray(rows.map(\.command)), TextArray(rows.map(\.code)), TextArray(rows.map(\.reason)), TextArray(rows.map(\.principal))])
    }

    /// The row as the table can take it: NUL replaced (libpq takes C strings), each text cut to a
    /// bounded number of code points (as PostgreSQL counts them).
    static func storable(_ rejection: Rejection) -> Rejection {
        func clean(_ text: String, _ limit: Int) -> String {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars.prefix(limit) { scalars.append(scalar == "\u{0}" ? "\u{FFFD}" : scalar) }
            return String(scalars)
        }
        return Rejection(
            command: clean(rejection.command, 64), code: clean(rejection.code, 64), reason: clean(rejection.reason, 500),
            principal: clean(rejection.principal, 200))
    }
}
