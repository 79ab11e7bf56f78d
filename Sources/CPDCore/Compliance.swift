/// Where a practitioner stands. See docs/rules.md for the definitions, which the tests specify.
public enum ComplianceStatus: String, Sendable, CaseIterable {
    /// Every requirement met: points, minimums, certificates.
    case compliant
    /// Not there yet, but no further behind than a steady pace through the cycle would be.
    case onTrack = "on_track"
    /// Behind a steady pace (anchored cycles), or about to fall short within 90 days (rolling).
    case atRisk = "at_risk"
    /// Short at the close of the cycle, short now under a rolling scheme, or a required certificate
    /// is missing or expired.
    case nonCompliant = "non_compliant"
}

public struct RuleStanding: Sendable, Equatable {
    public var rule: SchemeRule
    /// Points held in the rule's category, delivery mode, or both, this cycle; for a rule on each
    /// category (or delivery mode) on its own, the largest one's.
    public var value: Points
    /// The rule's bound in points for this cycle (a share is turned into points).
    public var limit: Points
    /// A minimum is met when value ≥ limit; a cap is always met (what exceeds it does not count),
    /// unless it is advisory: then it is met while nothing exceeds it.
    public var met: Bool
    /// For a minimum, the points still missing; for a cap, the points over it (which do not count,
    /// unless the cap is advisory), added up over every category or delivery mode for a rule on each.
    public var gap: Points
}

public struct CertificateStanding: Sendable, Equatable {
    public enum State: String, Sendable {
        case current
        /// Current, but expiring within 60 days.
        case expiring
        case expired
        case missing
    }
    public var kind: String
    public var state: State
    public var expires: Day?
}

public struct Standing: Sendable, Equatable {
    public var scheme: String
    public var cycle: Cycle
    public var required: Points
    /// Every point held in the cycle up to the day asked about, before caps, `carried` included.
    public var earned: Points
    /// What counts after caps, `carried` included.
    public var counted: Points
    /// Points carried in from the cycle before (`Compliance.carriedInto`); zero when none.
    public var carried: Points
    /// The fewest further points that would make the member compliant: the larger of the total still
    /// required and the minimums still unmet (added up per kind of rule).
    public var shortfall: Points
    public var status: ComplianceStatus
    /// Anchored cycles: days after the day asked about until the cycle closes. Rolling: days until the
    /// balance would first fall short if nothing more were earned (0 when already short).
    public var daysLeft: Int
    public var rules: [RuleStanding]
    public var certificates: [CertificateStanding]
    /// The renewal of the cycle before this one, where the scheme takes renewals.
    public var renewal: RenewalStanding? = nil
}

public enum Compliance {
    /// Days before a rolling balance falls short that make a member at risk; also the window in
    /// which a certificate counts as expiring.
    public static let rollingWarningDays = 90
    public static let certificateWarningDays = 60

    /// The standing of a member on `day`.
    /// - Parameters:
    ///   - records: the member's entries with effective days from `firstDayRead` up to `day` (more are
    ///     ignored). Entries of kind `carry_over` count for nothing: what carries in is derived from
    ///     the cycle before (`carriedInto`), so it is never counted twice and never goes stale.
    ///   - certificates: the member's certificates (any kinds; the scheme's kinds are picked out).
    ///   - renewals: the member's renewals; a late one costs what the scheme says (`LateRenewal`).
    public static func standing(
        scheme: Scheme, joined: Day, on day: Day, records: [PointsRecord], certificates: [Certificate], renewals: [Renewal] = []
    ) throws(DayOutOfRange) -> Standing {
        let cycle = try scheme.period.cycle(containing: day, joined: joined)
        let renewal = try renewal(before: cycle, scheme: scheme, joined: joined, renewals: renewals, on: day)
        let late = renewal?.late == true
        var carried = try carriedInto(cycle, scheme: scheme, joined: joined, records: records, certificates: certificates, renewals: renewals)
        if late && scheme.lateRenewal == .forfeitCarryOver { carried = .zero }
        let counting = afterLateRenewal(records, in: cycle, renewal: renewal, scheme: scheme)
        var standing = try standing(scheme: scheme, joined: joined, on: day, cycle: cycle, carried: carried, records: counting, certificates: certificates)
        standing.renewal = renewal
        return standing
    }

    /// The first day whose entries the standing on `day` reads: its cycle's start, or with
    /// carry-over the start of the cycle before (whose entries decide what carries in).
    public static func firstDayRead(scheme: Scheme, joined: Day, on day: Day) throws(DayOutOfRange) -> Day {
        let cycle = try scheme.period.cycle(containing: day, joined: joined)
        guard carries(scheme), cycle.start > joined else { return cycle.start }
        return try scheme.period.cycle(before: cycle, joined: joined).start
    }

    /// At most how many months before a day the entries its standing reads can lie, under any
    /// member's join day: a cycle's length, or two with carry-over.
    public static func monthsRead(scheme: Scheme) -> Int {
        scheme.period.months * (carries(scheme) ? 2 : 1)
    }

    static func carries(_ scheme: Scheme) -> Bool {
        if case .rolling = scheme.period { return false }
        return scheme.carryOverMax != nil
    }

    static func standing(
        scheme: Scheme, joined: Day, on day: Day, cycle: Cycle, carried: Points, records: [PointsRecord], certificates: [Certificate]
    ) throws(DayOutOfRange) -> Standing {
        var inCycle = records.filter { $0.kind != .carryOver && cycle.start <= $0.effective && $0.effective <= day }
        if carried.isPositive {
            inCycle.append(PointsRecord(effective: cycle.start, kind: .carryOver, category: nil, delivery: nil, points: carried))
        }
        let required = try requirement(scheme: scheme, cycle: cycle, joined: joined)
        let tally = Tally(records: inCycle, scheme: scheme, required: required)
        let certificateStandings = certificateStates(scheme: scheme, certificates: certificates, on: day)
        let certificatesOK = certificateStandings.allSatisfy { $0.state == .current || $0.state == .expiring }

        var status: ComplianceStatus
        var daysLeft: Int
        if case .rolling = scheme.period {
            daysLeft = tally.shortfall.isPositive ? 0 : daysUntilShort(scheme: scheme, joined: joined, on: day, records: inCycle, required: required)
            if !certificatesOK || tally.shortfall.isPositive {
                status = .nonCompliant
            } else {
                status = daysLeft < rollingWarningDays ? .atRisk : .compliant
            }
        } else {
            daysLeft = day.distance(to: cycle.end)
            if !certificatesOK {
                status = .nonCompliant
            } else if !tally.shortfall.isPositive {
                status = .compliant
            } else if day < joined {
                // Asked about a day before the member joined: nothing was due yet.
                status = .onTrack
            } else if daysLeft == 0 {
                status = .nonCompliant
            } else {
                // A steady pace through the member's part of the cycle earns required × days / cycle days;
                // on track while what is still needed is no more than that pace earns in the days left
                // (today included).
                let memberStart = max(cycle.start, joined)
                let memberDays = memberStart.distance(to: cycle.end) + 1
                let remaining = day.distance(to: cycle.end) + 1
                // joined ≤ day ≤ cycle end here, so the member has days in the cycle.
                let paceAllows = required.scaled(by: remaining, over: memberDays)
                status = tally.shortfall <= paceAllows ? .onTrack : .atRisk
            }
        }
        return Standing(
            scheme: scheme.code, cycle: cycle, required: required, earned: tally.earned, counted: tally.counted,
            carried: carried, shortfall: tally.shortfall, status: status, daysLeft: daysLeft, rules: tally.rules,
            certificates: certificateStandings)
    }

    /// The points required in `cycle`: the scheme's, or, pro-rated, what a member's first, partial
    /// cycle asks for the months they were a member (a started month counts whole): with `monthly`
    /// that share of the requirement, rounded up; with a rate per month, the rate times the months,
    /// up to the requirement. Minimums and caps in points still apply in full; shares are of this.
    public static func requirement(scheme: Scheme, cycle: Cycle, joined: Day) throws(DayOutOfRange) -> Points {
        guard scheme.proRataMonthly || scheme.proRataPerMonth != nil, cycle.start < joined, joined <= cycle.end else { return scheme.required }
        let months = min(try joined.monthsStarted(until: cycle.end.adding(days: 1)), scheme.period.months)
        if let rate = scheme.proRataPerMonth {
            // At most 120 months of at most 10,000 points: no overflow.
            return min(scheme.required, Points(hundredths: rate.hundredths * Int64(months)))
        }
        return scheme.required.scaled(by: months, over: scheme.period.months)
    }

    /// What carries into `cycle` from the cycle before it: nothing in a member's first cycle (they
    /// were not a member before it), under a rolling period, or in a scheme with no carry-over.
    /// `records` must reach back to the previous cycle's start (`firstDayRead`).
    public static func carriedInto(
        _ cycle: Cycle, scheme: Scheme, joined: Day, records: [PointsRecord], certificates: [Certificate], renewals: [Renewal] = []
    ) throws(DayOutOfRange) -> Points {
        try carry(into: cycle, scheme: scheme, joined: joined, records: records, certificates: certificates, renewals: renewals)?.points ?? .zero
    }

    /// `records` without the entries of `cycle` that a late renewal of the cycle before it leaves
    /// uncounted, where the scheme counts only activity after the approval (none while unapproved).
    static func afterLateRenewal(_ records: [PointsRecord], in cycle: Cycle, renewal: RenewalStanding?, scheme: Scheme) -> [PointsRecord] {
        guard scheme.lateRenewal == .countAfterApproval, let renewal, renewal.late else { return records }
        return records.filter { record in
            record.effective < cycle.start || record.effective > cycle.end || renewal.approved.map { record.effective > $0 } == true
        }
    }

    static func carry(
        into cycle: Cycle, scheme: Scheme, joined: Day, records: [PointsRecord], certificates: [Certificate], renewals: [Renewal] = []
    ) throws(DayOutOfRange) -> Carry? {
        guard carries(scheme), cycle.start > joined else { return nil }
        let previous = try scheme.period.cycle(before: cycle, joined: joined)
        let points = try carryOver(scheme: scheme, joined: joined, previous: previous, records: records, certificates: certificates, renewals: renewals)
        return points.isPositive ? Carry(cycle: cycle, previous: previous, points: points) : nil
    }

    /// What carries from `previous` into the cycle after it: points counted in `previous` above its
    /// requirement, up to the scheme's cap; nothing if the scheme has no carry-over or the member was
    /// not compliant at the close of `previous` (late).
    ///
    /// Only `previous`'s own entries are read: carried points never carry twice. Judging compliance
    /// at its close without what was carried into it changes nothing: carried points have no
    /// category or delivery mode, so they meet no minimum, and they matter to the total only when
    /// the own entries fall short of it, when there is no excess to carry anyway. So the carry into a
    /// cycle depends on the cycle before it alone (its own entries, and, where a late renewal of the
    /// cycle before that leaves some uncounted, which), never on the points of the ones before that.
    public static func carryOver(
        scheme: Scheme, joined: Day, previous: Cycle, records: [PointsRecord], certificates: [Certificate], renewals: [Renewal] = []
    ) throws(DayOutOfRange) -> Points {
        guard let cap = scheme.carryOverMax, previous.end >= joined else { return .zero }
        // What `previous` counted at its close: without what a late renewal before it left uncounted.
        let renewalBefore = try renewal(before: previous, scheme: scheme, joined: joined, renewals: renewals, on: previous.end)
        let counted = afterLateRenewal(records, in: previous, renewal: renewalBefore, scheme: scheme)
        let atClose = try standing(
            scheme: scheme, joined: joined, on: previous.end, cycle: previous, carried: .zero, records: counted, certificates: certificates)
        guard atClose.status == .compliant else { return .zero }
        let excess = atClose.counted - atClose.required
        return excess.isPositive ? min(excess, cap) : .zero
    }

    /// One cycle's carry: into `cycle`, from `previous`.
    public struct Carry: Sendable, Equatable {
        public var cycle: Cycle
        public var previous: Cycle
        public var points: Points
    }

    /// For a statement: the carry into each cycle that starts from `from` through `through`, where
    /// something carries. `records` must reach back to `firstDayRead(on: from)`.
    public static func carriesIn(
        scheme: Scheme, joined: Day, from: Day, through: Day, records: [PointsRecord], certificates: [Certificate], renewals: [Renewal] = []
    ) throws(DayOutOfRange) -> [Carry] {
        guard carries(scheme) else { return [] }
        var found: [Carry] = []
        var cycle = try scheme.period.cycle(containing: max(from, joined), joined: joined)
        while cycle.start <= through {
            if cycle.start >= from,
               let carry = try carry(into: cycle, scheme: scheme, joined: joined, records: records, certificates: certificates, renewals: renewals) {
                // A late renewal of the cycle before forfeits it, where the scheme says so: judged as
                // the cycle's standing judges it (at its close, for a cycle closed by `through`).
                let late = try renewal(before: cycle, scheme: scheme, joined: joined, renewals: renewals, on: min(through, cycle.end))?.late == true
                if !(late && scheme.lateRenewal == .forfeitCarryOver) { found.append(carry) }
            }
            // The calendar's last cycle has no next one.
            guard let next = try? scheme.period.cycle(containing: cycle.end.adding(days: 1), joined: joined) else { break }
            cycle = next
        }
        return found
    }

    static func certificateStates(scheme: Scheme, certificates: [Certificate], on day: Day) -> [CertificateStanding] {
        scheme.certificates.map { kind in
            let latest = certificates.filter { $0.kind == kind && $0.issued <= day }.max { $0.expires < $1.expires }
            guard let latest else { return CertificateStanding(kind: kind, state: .missing, expires: nil) }
            let state: CertificateStanding.State =
                latest.expires < day ? .expired : (day.distance(to: latest.expires) <= certificateWarningDays ? .expiring : .current)
            return CertificateStanding(kind: kind, state: state, expires: latest.expires)
        }
    }

    /// Rolling schemes: how many days from `day` the balance stays sufficient if nothing new is earned,
    /// as older entries leave the window.
    static func daysUntilShort(scheme: Scheme, joined: Day, on day: Day, records: [PointsRecord], required: Points) -> Int {
        // The balance changes only on days when some entry leaves the window: the first day whose
        // window starts after the entry's day. That is near the entry's day plus the window's length,
        // but month ends clamp (a window ending 28 February 2025 still starts on 29 February 2024),
        // so step forward from there until the entry is out.
        let months = scheme.period.months
        // An entry that would leave only after 9999-12-31 never leaves within the calendar.
        let never = Day.latest.adding(days: 1)
        func leaves(_ effective: Day) -> Day {
            do {
                var date = try effective.adding(months: months)
                while try scheme.period.cycle(containing: date, joined: joined).start <= effective { date = date.adding(days: 1) }
                return date
            } catch {
                return never
            }
        }
        // Walk the days on which entries leave, oldest first, taking the leavers out of running sums
        // (not tallying the whole window again each time).
        let byLeaving = records.map { (leaves: leaves($0.effective), record: $0) }.sorted { $0.leaves < $1.leaves }
        var sums = Tally.Sums()
        for item in byLeaving where item.leaves > day { sums.add(item.record) }
        var next = byLeaving.firstIndex { $0.leaves > day } ?? byLeaving.endIndex
        while next < byLeaving.endIndex, byLeaving[next].leaves < never {
            let date = byLeaving[next].leaves
            while next < byLeaving.endIndex, byLeaving[next].leaves == date {
                sums.remove(byLeaving[next].record)
                next += 1
            }
            if Tally(sums: sums, scheme: scheme, required: required).shortfall.isPositive {
                return day.distance(to: date) - 1
            }
        }
        return Int(Int32.max)
    }
}

/// The sums one cycle's records make under a scheme's rules.
struct Tally {
    var earned = Points.zero
    var counted = Points.zero
    var shortfall = Points.zero
    var rules: [RuleStanding] = []

    /// The points of some records per cell, category and delivery mode; records can be taken out again.
    struct Sums {
        var earned = Points.zero
        var cells: [PointsAllocation.Cell: Points] = [:]
        var byCategory: [String: Points] = [:]
        var byDelivery: [Delivery: Points] = [:]
        var accredited = Points.zero

        mutating func add(_ record: PointsRecord) { add(record.points, record) }
        mutating func remove(_ record: PointsRecord) { add(.zero - record.points, record) }

        private mutating func add(_ points: Points, _ record: PointsRecord) {
            earned = earned + points
            cells[PointsAllocation.Cell(category: record.category, delivery: record.delivery), default: .zero] += points
            if let category = record.category { byCategory[category, default: .zero] += points }
            if let delivery = record.delivery { byDelivery[delivery, default: .zero] += points }
            if record.accredited { accredited += points }
        }
    }

    init(records: [PointsRecord], scheme: Scheme, required: Points) {
        var sums = Sums()
        for record in records { sums.add(record) }
        self.init(sums: sums, scheme: scheme, required: required)
    }

    init(sums: Sums, scheme: Scheme, required: Points) {
        earned = sums.earned
        let cells = sums.cells, byCategory = sums.byCategory, byDelivery = sums.byDelivery
        var categoryCaps: [String: Points] = [:]
        var deliveryCaps: [Delivery: Points] = [:]
        var cellCaps: [PointsAllocation.Cell: Points] = [:]
        // Deficits are added up per kind of rule; the shortfall is the largest of them (a point can
        // meet a category's minimum and a delivery mode's at once, so the kinds are not added).
        var categoryDeficits = Points.zero
        var deliveryDeficits = Points.zero
        var cellDeficits = Points.zero
        var accreditedDeficits = Points.zero
        for rule in scheme.rules {
            let limit = rule.bound.limit(required: required)
            let value: Points
            switch rule.target {
            case .category(let c): value = byCategory[c] ?? .zero
            case .delivery(let d): value = byDelivery[d] ?? .zero
            case .categoryAndDelivery(let c, let d): value = cells[PointsAllocation.Cell(category: c, delivery: d)] ?? .zero
            // The largest single category (or delivery mode): the one nearest its cap.
            case .everyCategory: value = byCategory.values.max() ?? .zero
            case .everyDelivery: value = byDelivery.values.max() ?? .zero
            case .accreditedModalities: value = sums.accredited
            }
            if rule.bound.isMinimum {
                let deficit = value < limit ? limit - value : .zero
                if !rule.advisory {
                    switch rule.target {
                    case .category: categoryDeficits += deficit
                    case .delivery: deliveryDeficits += deficit
                    case .categoryAndDelivery: cellDeficits += deficit
                    case .accreditedModalities: accreditedDeficits += deficit
                    case .everyCategory, .everyDelivery: break  // refused by Scheme.validate
                    }
                }
                rules.append(RuleStanding(rule: rule, value: value, limit: limit, met: !deficit.isPositive, gap: deficit))
            } else {
                let over: Points
                switch rule.target {
                case .everyCategory: over = byCategory.values.reduce(Points.zero) { $0 + ($1 > limit ? $1 - limit : .zero) }
                case .everyDelivery: over = byDelivery.values.reduce(Points.zero) { $0 + ($1 > limit ? $1 - limit : .zero) }
                default: over = value > limit ? value - limit : .zero
                }
                if !rule.advisory {
                    switch rule.target {
                    case .category(let c): categoryCaps[c] = min(categoryCaps[c] ?? limit, limit)
                    case .delivery(let d): deliveryCaps[d] = min(deliveryCaps[d] ?? limit, limit)
                    case .categoryAndDelivery(let c, let d):
                        let cell = PointsAllocation.Cell(category: c, delivery: d)
                        cellCaps[cell] = min(cellCaps[cell] ?? limit, limit)
                    case .everyCategory:
                        for c in byCategory.keys { categoryCaps[c] = min(categoryCaps[c] ?? limit, limit) }
                    case .everyDelivery:
                        for d in byDelivery.keys { deliveryCaps[d] = min(deliveryCaps[d] ?? limit, limit) }
                    case .accreditedModalities: break  // refused by Scheme.validate
                    }
                }
                // An enforced cap is always met (what exceeds it does not count); an advisory one is
                // met while nothing exceeds it.
                rules.append(RuleStanding(rule: rule, value: value, limit: limit, met: !rule.advisory || !over.isPositive, gap: over))
            }
        }
        counted = PointsAllocation.counted(cells: cells, categoryCaps: categoryCaps, deliveryCaps: deliveryCaps, cellCaps: cellCaps)
        let total = counted < required ? required - counted : .zero
        shortfall = max(total, categoryDeficits, deliveryDeficits, cellDeficits, accreditedDeficits)
    }
}
