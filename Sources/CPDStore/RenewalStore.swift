import CPDCore
import Postgres

/// Renewals: a member declares a closed cycle (`renewal.submit`), the registry approves it
/// (`renewal.approve`). Each is done once: the same request again is answered with what was
/// recorded the first time, and changes nothing.
public enum RenewalStore {
    public struct Answer: Sendable, Equatable {
        public var practitioner: String
        public var cycle: Cycle
        public var due: Day
        public var submitted: Day
        public var approved: Day?
        public var late: Bool
        /// True when this request found it already done.
        public var replayed: Bool
    }

    public static func submit(practitioner id: String, cycleDay: Day?, by principal: String, _ c: PostgresConnection) throws -> Answer {
        try c.withTransaction { c in
            let (member, cycle, due) = try renewable(id, cycleDay, waitingFor: "submitted IS NOT NULL", c)
            let inserted = try c.query(
                """
                INSERT INTO renewal (practitioner, cycle_start, cycle_end, submitted, submitted_by) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (practitioner, cycle_start) DO NOTHING
                """, [id, cycle.start, cycle.end, member.today, principal])
            return try answer(id, cycle, due, replayed: inserted.affectedRows == 0, c)
        }
    }

    public static func approve(practitioner id: String, cycleDay: Day?, by principal: String, _ c: PostgresConnection) throws -> Answer {
        try c.withTransaction { c in
            let (member, cycle, due) = try renewable(id, cycleDay, waitingFor: "approved IS NOT NULL", c)
            let updated = try c.query(
                """
                UPDATE renewal SET approved = greatest($3::date, submitted), approved_by = $4
                WHERE practitioner = $1 AND cycle_start = $2 AND approved IS NULL
                """, [id, cycle.start, member.today, principal])
            return try answer(id, cycle, due, replayed: updated.affectedRows == 0, c)
        }
    }

    /// The member, the cycle to renew and its due date; refused when the scheme takes no renewals or
    /// the cycle has not reached its last day. The cycle is the one that holds `cycleDay`; with none,
    /// the last closed cycle, unless that one is done (`done`, an SQL condition on its renewal row)
    /// and today is the current cycle's last day: then the current one.
    static func renewable(_ id: String, _ cycleDay: Day?, waitingFor done: String, _ c: PostgresConnection) throws -> (LedgerStore.Member, Cycle, Day) {
        let member = try LedgerStore.member(id, c)
        let scheme = member.scheme, joined = member.practitioner.joined
        guard scheme.renewalDueDays != nil else {
            throw StoreError.invalid(ValidationError("practitioner", "\(id)'s scheme \(scheme.code) takes no renewals"))
        }
        let current = try scheme.period.cycle(containing: member.today, joined: joined)
        let cycle: Cycle
        if let cycleDay {
            cycle = try scheme.period.cycle(containing: cycleDay, joined: joined)
        } else {
            let previous = try scheme.period.cycle(before: current, joined: joined)
            // `done` is one of two fixed conditions from this file, never a value.
            let previousDone = try !c.query(
                "SELECT 1 FROM renewal WHERE practitioner = $1 AND cycle_start = $2 AND " + done, [id, previous.start]).isEmpty
            cycle = current.end == member.today && (previousDone || previous.end < joined) ? current : previous
        }
        // From the cycle's last day on: a scheme whose renewal is due on that very day (0 days) can
        // be renewed on time.
        guard cycle.end <= member.today else {
            throw StoreError.invalid(ValidationError("cycle", "the cycle \(cycle.start) to \(cycle.end) has not reached its last day; it is renewed from then on"))
        }
        guard cycle.end >= joined else {
            throw StoreError.invalid(ValidationError("cycle", "\(id) joined on \(joined), after the cycle \(cycle.start) to \(cycle.end)"))
        }
        guard let due = scheme.renewalDue(of: cycle) else { throw StoreError.unexpected("renewal: the scheme takes no renewals after all") }
        return (member, cycle, due)
    }

    static func answer(_ id: String, _ cycle: Cycle, _ due: Day, replayed: Bool, _ c: PostgresConnection) throws -> Answer {
        guard let row = try c.query("SELECT submitted, approved FROM renewal WHERE practitioner = $1 AND cycle_start = $2", [id, cycle.start]).first else {
            throw StoreError.notFound("no renewal of \(id) for the cycle \(cycle.start) to \(cycle.end); submit it first")
        }
        let submitted: Day = try row["submitted"]
        return Answer(practitioner: id, cycle: cycle, due: due, submitted: submitted, approved: try row["approved"], late: submitted > due, replayed: replayed)
    }
}
