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

/// A ledger head published outside the database (each nightly report's `ledger-head.txt`): an entry's
/// number and the hash it had then. Whoever can write to the database can rewrite an entry and
/// recompute every hash after it, and the chain verifies again; but the entry of a head published
/// before the rewrite no longer has the hash that was published. While it does, and the chain
/// verifies through it, nothing up to it has changed.
public struct LedgerAnchor: Hashable, Sendable, CustomStringConvertible {
    public let entry: Int64
    /// SHA-256 as 64 lower-case hex digits, as `ledger.verify` prints a head.
    public let hash: String

    /// Nil unless `entry` is positive and `hash` is 64 hex digits (either case).
    public init?(entry: Int64, hash: String) {
        guard entry > 0, hash.utf8.count == 64, hash.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.entry = entry
        self.hash = hash.lowercased()
    }

    /// `ENTRY:HASH`, as the report publishes it and `ledger.verify anchors=` takes it.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 19, parts[0].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let entry = Int64(parts[0])
        else { return nil }
        self.init(entry: entry, hash: String(parts[1]))
    }

    public var description: String { "\(entry):\(hash)" }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
