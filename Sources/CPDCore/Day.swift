import CivilCalendar

/// A calendar day with no time and no zone: when a course was completed, when a member joined.
/// "Today" is decided outside the domain (in the registry's time zone) and passed in.
public struct Day: Hashable, Comparable, Sendable, CustomStringConvertible, Strideable {
    /// Days since 1970-01-01.
    public let ordinal: Int

    public init(ordinal: Int) { self.ordinal = ordinal }

    /// Nil when the three numbers are not a real day.
    public init?(year: Int, month: Int, day: Int) {
        guard CivilCalendar.isValid(year: year, month: month, day: day) else { return nil }
        self.ordinal = Day.ordinal(year: year, month: month, day: day)
    }

    /// Exactly `YYYY-MM-DD`.
    public init?(parsing text: some StringProtocol) {
        guard let (y, m, d) = CivilCalendar.parseISODate(text.utf8) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The same, from the text's bytes.
    public init?(parsingUTF8 bytes: UnsafeRawBufferPointer) {
        guard let (y, m, d) = CivilCalendar.parseISODate(bytes) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var components: (year: Int, month: Int, day: Int) { Day.civil(ordinal) }
    public var year: Int { components.year }
    public var month: Int { components.month }
    public var dayOfMonth: Int { components.day }

    public var description: String {
        let (y, m, d) = components
        return CivilCalendar.isoDate(year: y, month: m, day: d)
    }

    /// The first and last days the registry can name: four-digit years, as the wire format, the
    /// report and the ledger's digest write them. Arithmetic that leaves them throws `DayOutOfRange`.
    public static let earliest = Day(ordinal: CivilCalendar.daysFromCivil(year: 1, month: 1, day: 1))
    public static let latest = Day(ordinal: CivilCalendar.daysFromCivil(year: 9999, month: 12, day: 31))

    /// Days later (or earlier). The result may lie a little outside `earliest...latest` (the day
    /// after a cycle that ends on 9999-12-31); it is compared, never written, and month arithmetic on
    /// it throws.
    public func adding(days: Int) -> Day { Day(ordinal: ordinal + days) }

    /// The same day of the month `months` later (or earlier), or the month's last day when it is
    /// shorter: 31 January plus one month is 28 (or 29) February. Throws when the month it lands in
    /// is outside years 1 to 9999, so that a request at the calendar's edge is refused, not a trap.
    public func adding(months: Int) throws(DayOutOfRange) -> Day {
        let (y, m, d) = components
        let (total, overflow) = (y * 12 + (m - 1)).addingReportingOverflow(months)
        guard !overflow, total >= 12, total < 10_000 * 12 else {
            throw DayOutOfRange("\(self) \(months < 0 ? "minus" : "plus") \(months.magnitude) months is outside 0001-01-01 to 9999-12-31")
        }
        let year = total / 12
        let month = total % 12 + 1
        return Day(ordinal: Day.ordinal(year: year, month: month, day: min(d, Day.daysIn(month: month, year: year))))
    }

    /// Whole months from `self` to `later`, counting a started month as whole (1 January to 2
    /// February is 2), for pro-rata requirements.
    public func monthsStarted(until later: Day) throws(DayOutOfRange) -> Int {
        guard later > self else { return 0 }
        var months = 0
        while try adding(months: months) < later { months += 1 }
        return months
    }

    /// Whether the day is one the registry can name (`earliest...latest`).
    public var isInRange: Bool { Day.earliest <= self && self <= Day.latest }

    public func distance(to other: Day) -> Int { other.ordinal - ordinal }
    public func advanced(by n: Int) -> Day { Day(ordinal: ordinal + n) }
    public static func < (a: Day, b: Day) -> Bool { a.ordinal < b.ordinal }

    public static func isLeap(_ year: Int) -> Bool { CivilCalendar.isLeap(year) }
    public static func daysIn(month: Int, year: Int) -> Int { CivilCalendar.daysIn(month: month, year: year) }
    static func ordinal(year: Int, month: Int, day: Int) -> Int { CivilCalendar.daysFromCivil(year: year, month: month, day: day) }
    static func civil(_ ordinal: Int) -> (Int, Int, Int) { CivilCalendar.civilFromDays(ordinal) }
}

/// A computed day outside `Day.earliest...Day.latest` (a cycle at the calendar's edge): the request
/// that needed it is refused with `invalid_argument`.
public struct DayOutOfRange: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
