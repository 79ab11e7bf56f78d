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
    /// Throws when the cycle would begin or end outside the calendar (`Day.earliest...Day.latest`).
    public func cycle(containing day: Day, joined: Day) throws(DayOutOfRange) -> Cycle {
        let cycle: Cycle
        switch self {
        case .fixed(let months, let anchor):
            cycle = try Self.anchoredCycle(containing: day, anchor: anchor, months: months)
        case .anniversary(let months):
            cycle = try Self.anchoredCycle(containing: max(day, joined), anchor: joined, months: months)
        case .rolling(let months):
            cycle = Cycle(start: try day.adding(months: -months).adding(days: 1), end: day)
        }
        guard cycle.start.isInRange, cycle.end.isInRange else {
            throw DayOutOfRange("the cycle holding \(day) runs outside 0001-01-01 to 9999-12-31")
        }
        return cycle
    }

    /// The cycle before `cycle` (anchored periods only).
    public func cycle(before cycle: Cycle, joined: Day) throws(DayOutOfRange) -> Cycle {
        try self.cycle(containing: cycle.start.adding(days: -1), joined: joined)
    }

    /// Cycles of `months` laid end to end from `anchor`, each start computed from the anchor itself
    /// (never from the previous start), so a cycle from 31 January does not drift to the 28th.
    static func anchoredCycle(containing day: Day, anchor: Day, months: Int) throws(DayOutOfRange) -> Cycle {
        let monthsApart = (day.year - anchor.year) * 12 + (day.month - anchor.month)
        var k = monthsApart >= 0 ? monthsApart / months : -((-monthsApart + months - 1) / months)
        while try anchor.adding(months: k * months) > day { k -= 1 }
        while try anchor.adding(months: (k + 1) * months) <= day { k += 1 }
        return Cycle(start: try anchor.adding(months: k * months), end: try anchor.adding(months: (k + 1) * months).adding(days: -1))
    }
}
