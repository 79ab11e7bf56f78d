/// Why points changed. Every change is an appended entry of one of these kinds; nothing in the
/// ledger is ever updated or deleted.
public enum EntryKind: String, Sendable, CaseIterable {
    /// A course completed: the course version's points, category and delivery.
    case completion
    /// Cancels an earlier entry (recorded in error): its points negated, in its category, delivery and cycle.
    case reversal
    /// A manual change by an admin, positive or negative, with a reason.
    case adjustment
    /// What a new member of a scheme with an opening balance starts with, dated their join day.
    case openingBalance = "opening_balance"
    /// Points above the requirement carried from one cycle into the next, up to the scheme's cap.
    case carryOver = "carry_over"
}

/// What a completion must satisfy before it is appended; each failure names its reason.
public enum CompletionRules {
    public static func check(completed: Day, today: Day, joined: Day, courseStatus: CourseStatus, course: String) throws(ValidationError) {
        guard completed <= today else { throw ValidationError("completed", "\(completed) is in the future (today is \(today))") }
        guard completed >= joined else { throw ValidationError("completed", "\(completed) is before the practitioner joined (\(joined))") }
        guard courseStatus == .published else { throw ValidationError("course", "\(course) is \(courseStatus.rawValue), not published") }
    }
}
