/// How a scheme's cycles are laid out in time.
public enum SchemePeriod: Sendable, Equatable {
    /// Cycles of `months` from a fixed date: every year from `start` (month-day) when `months`
    /// divides 12, or from `anchor`, the first cycle's first day, for longer cycles.
    case fixed(months: Int, anchor: Day)
    /// Cycles of `months` from the practitioner's join date.
    case anniversary(months: Int)
    /// The trailing `months` up to the day asked about; the requirement must be held at all times.
    case rolling(months: Int)

    public var months: Int {
        switch self {
        case .fixed(let months, _), .anniversary(let months), .rolling(let months): return months
        }
    }

    public var kind: String {
        switch self {
        case .fixed: return "fixed"
        case .anniversary: return "anniversary"
        case .rolling: return "rolling"
        }
    }

    /// Builds a period from the protocol's words: `period=fixed length=12 start=07-01`,
    /// `period=fixed length=24 start=2025-09-01`, `period=anniversary length=12`, `period=rolling length=36`.
    public init(kind: String, length: Int, start: String?) throws(ValidationError) {
        guard (1...120).contains(length) else { throw ValidationError("length", "must be from 1 to 120 months") }
        switch kind {
        case "fixed":
            guard let start else { throw ValidationError("start", "a fixed period needs start=MM-DD or start=YYYY-MM-DD") }
            if let anchor = Day(parsing: start) {
                self = .fixed(months: length, anchor: anchor)
            } else if start.count == 5, let anchor = Day(parsing: "2000-" + start) {
                guard 12 % length == 0 else {
                    throw ValidationError("start", "MM-DD fits cycles that divide a year; give the first cycle's start as YYYY-MM-DD")
                }
                guard !(anchor.month == 2 && anchor.dayOfMonth == 29) else {
                    throw ValidationError("start", "a yearly cycle cannot start on 29 February")
                }
                self = .fixed(months: length, anchor: anchor)
            } else {
                throw ValidationError("start", "'\(start.prefix(20))' is neither MM-DD nor YYYY-MM-DD")
            }
        case "anniversary":
            guard start == nil else { throw ValidationError("start", "an anniversary period starts on each member's join date") }
            self = .anniversary(months: length)
        case "rolling":
            guard start == nil else { throw ValidationError("start", "a rolling period has no start") }
            self = .rolling(months: length)
        default:
            throw ValidationError("period", "'\(kind.prefix(20))' is not one of fixed, anniversary, rolling")
        }
    }
}

/// What a rule limits: points in one topic category, by one delivery mode, or both at once; or,
/// for a cap, each category (or each delivery mode) on its own.
public enum RuleTarget: Sendable, Hashable {
    case category(String)
    case delivery(Delivery)
    /// Points in one category delivered one way (Florida: hours hands-on, in person).
    case categoryAndDelivery(String, Delivery)
    /// Every category, each on its own: a cap on any single type (CNHC: at most a third of the
    /// year's hours from any one type of activity).
    case everyCategory
    /// Every delivery mode, each on its own.
    case everyDelivery
    /// Courses whose modalities meet the member's own accredited modalities (ANTA: at least half in
    /// the modalities the member is accredited for): a minimum only.
    case accreditedModalities

    /// As the protocol writes it: `category=ethics`, `category=clinical delivery=in_person`, `category=*`.
    public var description: String {
        switch self {
        case .category(let c): return "category=\(c)"
        case .delivery(let d): return "delivery=\(d.rawValue)"
        case .categoryAndDelivery(let c, let d): return "category=\(c) delivery=\(d.rawValue)"
        case .everyCategory: return "category=*"
        case .everyDelivery: return "delivery=*"
        case .accreditedModalities: return "modality=accredited"
        }
    }

    /// A target of each category or each delivery mode takes a cap only.
    public var isEvery: Bool {
        switch self {
        case .everyCategory, .everyDelivery: return true
        case .category, .delivery, .categoryAndDelivery, .accreditedModalities: return false
        }
    }
}

/// A minimum or a cap, absolute or as a share (per cent) of the points required.
public enum RuleBound: Sendable, Equatable {
    case min(Points)
    case max(Points)
    case minShare(percent: Points)
    case maxShare(percent: Points)

    public var isMinimum: Bool {
        switch self {
        case .min, .minShare: return true
        case .max, .maxShare: return false
        }
    }

    /// The bound in points for a cycle that requires `required`.
    public func limit(required: Points) -> Points {
        switch self {
        case .min(let p), .max(let p): return p
        case .minShare(let pct): return required.share(percent: pct, roundingUp: true)
        case .maxShare(let pct): return required.share(percent: pct, roundingUp: false)
        }
    }

    public var description: String {
        switch self {
        case .min(let p): return "min=\(p.compact)"
        case .max(let p): return "max=\(p.compact)"
        case .minShare(let p): return "min_share=\(p.compact)"
        case .maxShare(let p): return "max_share=\(p.compact)"
        }
    }
}

public struct SchemeRule: Sendable, Equatable {
    public var target: RuleTarget
    public var bound: RuleBound
    /// Reported, never enforced: an unmet advisory minimum does not make a member non-compliant or
    /// add to their shortfall, and points over an advisory cap still count (an association's 80/20
    /// clinical target, checked only at audit).
    public var advisory: Bool
    public init(target: RuleTarget, bound: RuleBound, advisory: Bool = false) {
        self.target = target
        self.bound = bound
        self.advisory = advisory
    }
    /// As the protocol shows it: `delivery=in_person min=4`, `category=* max_share=33.33 advisory=yes`.
    public var description: String { "\(target.description) \(bound.description)" + (advisory ? " advisory=yes" : "") }
}

/// How hours are rounded when a scheme counts them from a course's minutes: down to the hundredth,
/// the half hour or the whole hour (NCBTMB counts whole and half hours).
public enum HourRounding: String, Sendable, CaseIterable {
    case hundredth, half, whole
}

/// What a scheme counts: the points a course gives, or hours of `minutesPerHour` minutes (NCBTMB
/// and Florida count a 50-minute hour).
public enum CreditUnit: Sendable, Equatable {
    case points
    case hours(minutesPerHour: Int, rounding: HourRounding)

    public var kind: String {
        switch self {
        case .points: return "points"
        case .hours: return "hours"
        }
    }

    /// A course's credit in this unit: its points; or its minutes in hours of this length, rounded
    /// down (to the hundredth, the half or the whole hour); or, for a course with no minutes, its
    /// hours, rounded the same way. Never negative; rounding never adds what was not done.
    public func credit(for content: CourseContent) -> Points {
        switch self {
        case .points:
            return content.points
        case .hours(let minutesPerHour, let rounding):
            // Hundredths of an hour, rounded down: minutes × 100 / minutes per hour.
            let hundredths = content.minutes.map { Int64($0) * 100 / Int64(max(1, minutesPerHour)) } ?? max(0, content.hours.hundredths)
            switch rounding {
            case .hundredth: return Points(hundredths: hundredths)
            case .half: return Points(hundredths: hundredths / 50 * 50)
            case .whole: return Points(hundredths: hundredths / 100 * 100)
            }
        }
    }
}

/// A scheme: the rules one association (or one licence) sets for its members, as data.
public struct Scheme: Sendable, Equatable {
    public var code: String
    public var title: String
    public var period: SchemePeriod
    public var required: Points
    public var rules: [SchemeRule]
    /// Nil: no carry-over. Otherwise the most points above the requirement that carry into the next cycle.
    public var carryOverMax: Points?
    /// Points a new member starts with, appended to the ledger when they are registered.
    public var openingBalance: Points?
    /// Whether a member's first, partial cycle asks for a share of the requirement by months remaining.
    public var proRataMonthly: Bool
    /// Or: a member's first, partial cycle asks for this many points per month or part of a month
    /// of membership, up to the requirement (Florida's first renewal: one hour per month or part).
    public var proRataPerMonth: Points?
    /// Certificate kinds members must hold, current (first_aid).
    public var certificates: [String]
    /// What a completion is worth under this scheme (`credit(for:)`): computed once, when it is
    /// recorded, and kept in the ledger with the course version it was earned on.
    public var unit: CreditUnit
    /// Nil: the scheme takes no renewals. Otherwise a member renews each closed cycle within this
    /// many days of its end.
    public var renewalDueDays: Int?
    /// What a late renewal costs.
    public var lateRenewal: LateRenewal

    public init(
        code: String, title: String, period: SchemePeriod, required: Points, rules: [SchemeRule] = [],
        carryOverMax: Points? = nil, openingBalance: Points? = nil, proRataMonthly: Bool = false, proRataPerMonth: Points? = nil,
        certificates: [String] = [], unit: CreditUnit = .points, renewalDueDays: Int? = nil, lateRenewal: LateRenewal = .none
    ) throws(ValidationError) {
        if let renewalDueDays {
            guard (0...365).contains(renewalDueDays) else { throw ValidationError("renewal_due_days", "must be from 0 to 365") }
            if case .rolling = period { throw ValidationError("renewal_due_days", "a rolling period has no cycles to renew") }
        }
        guard lateRenewal == .none || renewalDueDays != nil else {
            throw ValidationError("late_renewal", "needs renewal_due_days=, the days after a cycle's end when its renewal is due")
        }
        self.renewalDueDays = renewalDueDays
        self.lateRenewal = lateRenewal
        if case .hours(let minutesPerHour, _) = unit, !(1...120).contains(minutesPerHour) {
            throw ValidationError("minutes_per_hour", "must be from 1 to 120")
        }
        self.unit = unit
        self.code = try Code.validate(code, field: "code")
        self.title = try Prose.validate(title, field: "title", maxLength: 200)
        guard required.isPositive, required <= Points(10_000) else { throw ValidationError("required", "must be more than 0 and at most 10000") }
        if let carryOverMax, !carryOverMax.isPositive { throw ValidationError("carry_over_max", "must be more than 0") }
        if let openingBalance, !openingBalance.isPositive { throw ValidationError("opening", "must be more than 0") }
        if proRataMonthly || proRataPerMonth != nil, case .rolling = period { throw ValidationError("pro_rata", "a rolling period has no first cycle") }
        if let proRataPerMonth {
            guard !proRataMonthly else { throw ValidationError("pro_rata_rate", "goes with pro_rata=per_month, not monthly") }
            guard proRataPerMonth.isPositive, proRataPerMonth <= required else {
                throw ValidationError("pro_rata_rate", "must be more than 0 and at most the \(required) required")
            }
        }
        if carryOverMax != nil, case .rolling = period { throw ValidationError("carry_over_max", "a rolling period has no cycles to carry between") }
        self.period = period
        self.required = required
        self.rules = rules
        self.carryOverMax = carryOverMax
        self.openingBalance = openingBalance
        self.proRataMonthly = proRataMonthly
        self.proRataPerMonth = proRataPerMonth
        self.certificates = certificates
    }

    /// How a member's first, partial cycle is pro-rated, as the protocol says it: `none`, `monthly`, `per_month`.
    public var proRataKind: String { proRataPerMonth != nil ? "per_month" : (proRataMonthly ? "monthly" : "none") }

    /// Checks a new rule against the scheme: one bound of each kind per target, a minimum no larger
    /// than the requirement, a share from 0 to 100 per cent.
    public func validate(_ rule: SchemeRule) throws(ValidationError) {
        if rule.target.isEvery && rule.bound.isMinimum {
            let field = rule.target == .everyCategory ? "category" : "delivery"
            throw ValidationError(field, "* (each \(field) on its own) takes a cap: max= or max_share=")
        }
        if rule.target == .accreditedModalities && !rule.bound.isMinimum {
            throw ValidationError("modality", "accredited takes a minimum: min= or min_share=")
        }
        switch rule.bound {
        case .min(let p), .max(let p):
            guard p.isPositive, p <= required || !rule.bound.isMinimum else {
                throw ValidationError(rule.bound.isMinimum ? "min" : "max", "must be more than 0" + (rule.bound.isMinimum ? " and at most the \(required) required" : ""))
            }
        case .minShare(let pct), .maxShare(let pct):
            guard pct.isPositive, pct <= Points(100) else { throw ValidationError(rule.bound.isMinimum ? "min_share" : "max_share", "must be a percentage above 0 and at most 100") }
        }
        if rules.contains(where: { $0.target == rule.target && $0.bound.isMinimum == rule.bound.isMinimum }) {
            throw ValidationError("scheme", "\(rule.target.description) already has a \(rule.bound.isMinimum ? "minimum" : "cap")")
        }
    }
}

extension Points {
    /// Without trailing zeros, for rule descriptions: `4`, `2.5`, `33.33`.
    public var compact: String {
        var text = description
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
