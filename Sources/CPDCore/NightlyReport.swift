/// The nightly report's shape: its sections and their columns, the one definition that the store
/// (which fills them), the protocol (`report.nightly` data lines carry `section=` and these columns)
/// and the report's files (a CSV per section) share. Pure: it knows no SQL and no files.
public enum ReportSection: String, CaseIterable, Sendable, Comparable {
    /// One row: the report's date, when it was made, and the previous successful run it follows.
    case run
    /// Members at risk or non-compliant, per scheme, with their shortfall and days left (`counted`
    /// includes what `carried` in from the previous cycle).
    case atRisk = "at_risk"
    /// Required certificates that are missing, expired, or expire within 60 days.
    case certificates
    /// Renewals of the last closed cycle not yet approved: due, overdue, or awaiting approval.
    case renewals
    /// Audits announced and due to be drawn, audits waiting on someone (evidence not yet requested,
    /// due, overdue, to review, to decide, a request to answer), and audits decided since the
    /// previous run.
    case audits
    /// Per scheme, how many members stand where.
    case schemeStatus = "scheme_status"
    /// Completions and reversals recorded since the previous run, per course and per provider.
    case completionsByCourse = "completions_by_course"
    case completionsByProvider = "completions_by_provider"
    /// Courses added, updated, published or retired since the previous run.
    case courseEvents = "course_events"
    /// Writes refused since the previous run: counts per command, code and reason.
    case rejectedWrites = "rejected_writes"
    /// Points recorded per day over the 30 days up to the report's date.
    case pointsPerDay = "points_per_day"
    /// The hash chain verified, the number of entries, the head hash.
    case integrity
    /// Points recorded minus points reversed, against the sum of every member's balance.
    case totals

    public var columns: [String] {
        switch self {
        case .run:
            ["date", "generated_at", "registry", "time_zone", "run", "since_run", "since_date", "since_entry", "entries_since"]
        case .atRisk:
            ["scheme", "practitioner", "name", "status", "required", "counted", "shortfall", "cycle_end", "days_left", "flag", "carried"]
        case .certificates:
            ["scheme", "practitioner", "name", "certificate", "state", "expires", "days_left"]
        case .renewals:
            ["scheme", "practitioner", "name", "cycle_start", "cycle_end", "due", "submitted", "state", "late"]
        case .audits:
            ["scheme", "practitioner", "name", "audit", "cycle_start", "cycle_end", "state", "due", "flag", "decided", "note"]
        case .schemeStatus:
            ["scheme", "title", "members", "compliant", "on_track", "at_risk", "non_compliant"]
        case .completionsByCourse:
            ["course", "provider", "completions", "points", "reversals", "reversed_points"]
        case .completionsByProvider:
            ["provider", "completions", "points", "reversals", "reversed_points"]
        case .courseEvents:
            ["course", "provider", "event", "version", "recorded_by", "recorded_at"]
        case .rejectedWrites:
            ["command", "code", "reason", "count"]
        case .pointsPerDay:
            ["day", "completions", "points", "reversed_points"]
        case .integrity:
            ["status", "entries", "head", "broken_entry", "problem"]
        case .totals:
            ["recorded", "reversed", "net", "balances", "members_with_entries", "reconciles"]
        }
    }

    public var title: String {
        switch self {
        case .run: "Run"
        case .atRisk: "Members at risk or non-compliant"
        case .certificates: "Required certificates missing, expired or expiring"
        case .renewals: "Renewals due, overdue or awaiting approval"
        case .audits: "Audits to draw, open, overdue, or decided since the previous run"
        case .schemeStatus: "Compliance status per scheme"
        case .completionsByCourse: "Completions since the previous run, per course"
        case .completionsByProvider: "Completions since the previous run, per provider"
        case .courseEvents: "Course changes since the previous run"
        case .rejectedWrites: "Writes rejected since the previous run"
        case .pointsPerDay: "Points recorded per day, last 30 days"
        case .integrity: "Ledger integrity"
        case .totals: "Totals"
        }
    }

    public static func < (a: ReportSection, b: ReportSection) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One row of a section: its values in the order of `section.columns` ("" where there is none).
public struct ReportRow: Sendable, Equatable {
    public var section: ReportSection
    public var values: [String]

    public init(_ section: ReportSection, _ values: [String]) {
        precondition(values.count == section.columns.count, "a \(section.rawValue) row has \(section.columns.count) values, not \(values.count)")
        self.section = section
        self.values = values
    }

    public subscript(_ column: String) -> String? {
        section.columns.firstIndex(of: column).map { values[$0] }
    }
}

/// How close a member's deadline is: the report flags members 90, 60 and 30 days before their
/// period closes (for a rolling scheme, before their balance would fall short).
public enum DeadlineFlag {
    public static let thresholds = [30, 60, 90]

    /// The tightest threshold `daysLeft` is within, or nil when it is further off than all of them.
    public static func flag(daysLeft: Int) -> Int? {
        thresholds.first { daysLeft <= $0 }
    }
}
