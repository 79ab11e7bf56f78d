/// One cycle of a scheme: the days whose points count together, first and last day included.
public struct Cycle: Sendable, Equatable {
    public var start: Day
    public var end: Day

    public init(start: Day, end: Day) {
        self.start = start
        self.end = end
    }

    public var days: Int { start.distance(to: end) + 1 }
    public func contains(_ day: Day) -> Bool { start <= day && day <= end }
}

extension SchemePeriod {
    /// The cycle that holds `day` for a member who joined on `joined`. For a rolling period it is
    /// the trailing window that ends on `day`.
    public func cycle(containing day: Day, joined: Day) -> Cycle {
        switch self {
        case .fixed(let months, let anchor):
            return Self.anchoredCycle(containing: day, anchor: anchor, months: months)
        case .anniversary(let months):
            return Self.anchoredCycle(containing: max(day, joined), anchor: joined, months: months)
        case .rolling(let months):
            return Cycle(start: day.adding(months: -months).adding(days: 1), end: day)
        }
    }

    /// The cycle before `cycle` (anchored periods only).
    public func cycle(before cycle: Cycle, joined: Day) -> Cycle {
        self.cycle(containing: cycle.start.adding(days: -1), joined: joined)
    }

    /// Cycles of `months` laid end to end from `anchor`, each start computed from the anchor itself
    /// (never from the previous start), so a cycle from 31 January does not drift to the 28th.
    static func anchoredCycle(containing day: Day, anchor: Day, months: Int) -> Cycle {
        let monthsApart = (day.year - anchor.year) * 12 + (day.month - anchor.month)
        var k = Int((Double(monthsApart) / Double(months)).rounded(.down))
        while anchor.adding(months: k * months) > day { k -= 1 }
        while anchor.adding(months: (k + 1) * months) <= day { k += 1 }
        return Cycle(start: anchor.adding(months: k * months), end: anchor.adding(months: (k + 1) * months).adding(days: -1))
    }
}
