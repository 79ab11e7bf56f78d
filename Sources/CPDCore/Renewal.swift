/// What a scheme does with a renewal that comes after its due date.
public enum LateRenewal: String, Sendable, CaseIterable {
    case none
    /// Nothing carries over into the next cycle (CMA: no carry-over if the evidence arrives after
    /// the due date).
    case forfeitCarryOver = "forfeit_carry_over"
    /// In the next cycle, only activity dated after the late renewal's approval counts (NCBTMB).
    case countAfterApproval = "count_after_approval"
}

/// A member's renewal (declaration) for one closed cycle: when they submitted it, and when the
/// registry approved it.
public struct Renewal: Sendable, Equatable {
    public var cycleStart: Day
    public var submitted: Day
    public var approved: Day?

    public init(cycleStart: Day, submitted: Day, approved: Day? = nil) {
        self.cycleStart = cycleStart
        self.submitted = submitted
        self.approved = approved
    }
}

/// The renewal of the cycle before the one a standing is in, as known on the day asked about.
public struct RenewalStanding: Sendable, Equatable {
    /// The cycle renewed.
    public var cycle: Cycle
    /// Its due date: the cycle's last day plus the scheme's days.
    public var due: Day
    /// Nil while not submitted (on the day asked about).
    public var submitted: Day?
    public var approved: Day?
    /// Submitted after the due date, or not submitted and the due date has passed.
    public var late: Bool
}

extension Compliance {
    /// The renewal of the cycle before `cycle` as known on `day`: nil when the scheme tracks no
    /// renewals, or `cycle` is the member's first (there was nothing of theirs to renew).
    public static func renewal(
        before cycle: Cycle, scheme: Scheme, joined: Day, renewals: [Renewal], on day: Day
    ) throws(DayOutOfRange) -> RenewalStanding? {
        guard scheme.renewalDueDays != nil, cycle.start > joined else { return nil }
        let previous = try scheme.period.cycle(before: cycle, joined: joined)
        guard previous.end >= joined, let due = scheme.renewalDue(of: previous) else { return nil }
        let found = renewals.first { $0.cycleStart == previous.start && $0.submitted <= day }
        let approved = found?.approved.flatMap { $0 <= day ? $0 : nil }
        let late = found.map { $0.submitted > due } ?? (day > due)
        return RenewalStanding(cycle: previous, due: due, submitted: found?.submitted, approved: approved, late: late)
    }
}

extension Compliance {
    /// Whether an entry dated `effective` is left uncounted by a late renewal of the cycle before
    /// its own: under a scheme that counts only activity after a late renewal's approval, an entry of
    /// that cycle dated on or before the approval (or any, while unapproved). The renewal is judged as
    /// the standing of the entry's cycle judges it: as known on `day`, or, for a cycle closed by then,
    /// on its last day (the standing at its close, and what it carries, see it so).
    public static func leftUncountedByLateRenewal(
        _ effective: Day, scheme: Scheme, joined: Day, renewals: [Renewal], on day: Day
    ) throws(DayOutOfRange) -> Bool {
        guard scheme.lateRenewal == .countAfterApproval else { return false }
        let cycle = try scheme.period.cycle(containing: effective, joined: joined)
        guard let renewal = try renewal(before: cycle, scheme: scheme, joined: joined, renewals: renewals, on: min(day, cycle.end)),
              renewal.late else { return false }
        return renewal.approved.map { effective <= $0 } ?? true
    }
}

extension Scheme {
    /// When the renewal of `cycle` is due: its last day plus the scheme's days (the calendar's last
    /// day at the latest); nil when the scheme takes no renewals.
    public func renewalDue(of cycle: Cycle) -> Day? {
        guard let dueDays = renewalDueDays else { return nil }
        return cycle.end.ordinal > Day.latest.ordinal - dueDays ? Day.latest : cycle.end.adding(days: dueDays)
    }
}
