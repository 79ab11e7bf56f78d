import Testing

@testable import CPDCore

@Suite struct PointsAndDayTests {
    @Test func pointsParseAtMostTwoPlacesAndPrintTwo() {
        #expect(Points(parsing: "3")?.description == "3.00")
        #expect(Points(parsing: "2.5")?.hundredths == 250)
        #expect(Points(parsing: "-1.25")?.hundredths == -125)
        for bad in ["", "1.234", "1e2", "abc", ".5", "5.", "1,5", "9999999999", " 3"] {
            #expect(Points(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func pointsHaveOneGrammarFromBytesWithinABound() {
        let stored = Points(hundredths: .max)
        func read(_ text: String, within bound: Points = .limit) -> Int64? {
            Array(text.utf8).withUnsafeBytes { Points(parsingUTF8: $0, within: bound)?.hundredths }
        }
        #expect(read("3") == 300)
        #expect(read("2.5") == 250)
        #expect(read("-0.07") == -7)
        #expect(read("+1.50") == 150)
        #expect(read("1.005", within: stored) == nil, "a third place is refused, not rounded")
        #expect(read("12.500", within: stored) == nil, "a third place is refused even when it is a zero")
        for bad in ["", "-", "+", "1.2.3", "1e3", ".5", "5.", " 3", "3 ", "--1", "1.-5", "٣"] {
            #expect(read(bad, within: stored) == nil, "\(bad)")
        }
        #expect(read("999999.99") == 99_999_999 && read("-999999.99") == -99_999_999)
        #expect(read("1000000") == nil, "past the limit")
        #expect(read("1000000", within: stored) == 100_000_000, "a stored sum may pass the limit")
        #expect(read("92233720368547758.07", within: stored) == .max)
        #expect(read("92233720368547758.08", within: stored) == nil, "overflow is refused")
        #expect(read("99999999999999999999", within: stored) == nil)
    }

    @Test func sharesRoundUpForMinimumsAndDownForCaps() {
        #expect(Points(15).share(percent: pts("33.33"), roundingUp: false) == pts("4.99"))
        #expect(Points(15).share(percent: pts("33.33"), roundingUp: true) == pts("5.00"))
        #expect(Points(20).share(percent: Points(50), roundingUp: true) == Points(10))
    }

    @Test func addingMonthsClampsToTheEndOfShorterMonths() throws {
        #expect(try day("2026-01-31").adding(months: 1) == day("2026-02-28"))
        #expect(try day("2024-01-31").adding(months: 1) == day("2024-02-29"))
        #expect(try day("2024-02-29").adding(months: 12) == day("2025-02-28"))
        #expect(try day("2026-03-31").adding(months: -1) == day("2026-02-28"))
        #expect(try day("2026-11-21").adding(months: -36) == day("2023-11-21"))
    }

    @Test func monthsStartedCountsAPartMonthAsWhole() throws {
        #expect(try day("2026-03-15").monthsStarted(until: day("2027-09-01")) == 18)
        #expect(try day("2026-03-01").monthsStarted(until: day("2027-09-01")) == 18)
        #expect(try day("2026-03-02").monthsStarted(until: day("2027-09-01")) == 18)
        #expect(try day("2027-08-31").monthsStarted(until: day("2027-09-01")) == 1)
    }

    @Test func aLedgerAnchorIsAnEntryNumberAColonAnd64HexDigits() {
        let hash = String(repeating: "0a", count: 32)
        #expect(LedgerAnchor(parsing: "13:\(hash)")?.entry == 13)
        #expect(LedgerAnchor(parsing: "13:\(hash.uppercased())")?.description == "13:\(hash)", "read in either case, written lower-case")
        for bad in ["", "13", "13:", ":\(hash)", "0:\(hash)", "-1:\(hash)", "+1:\(hash)", "13:\(hash)0", "13:\(hash.dropLast())g",
                    "99999999999999999999:\(hash)", " 13:\(hash)", "13:\(hash):1"] {
            #expect(LedgerAnchor(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func daysRejectImpossibleDates() {
        #expect(Day(parsing: "2026-02-29") == nil)
        #expect(Day(parsing: "2028-02-29") != nil)
        #expect(Day(parsing: "2026-13-01") == nil)
        #expect(Day(parsing: "26-01-01") == nil)
    }

    @Test func leapDaysFollowTheGregorianCenturyRule() {
        #expect(Day(year: 2024, month: 2, day: 29) != nil)
        #expect(Day(year: 2026, month: 2, day: 29) == nil)
        #expect(Day(year: 1900, month: 2, day: 29) == nil)
        #expect(Day(year: 2000, month: 2, day: 29) != nil)
        #expect(Day(parsing: "2026-04-31") == nil)
    }

    @Test func everyDayOfTheCalendarRoundTripsThroughItsText() {
        #expect(Day(parsing: "2000-03-01")?.ordinal == 11_017)
        for ordinal in stride(from: Day.earliest.ordinal, through: Day.latest.ordinal, by: 997) {
            let day = Day(ordinal: ordinal)
            #expect(Day(parsing: day.description) == day, "\(ordinal)")
        }
        #expect(Day(parsing: Day.latest.description) == Day.latest)
    }

    @Test func daysParseExactlyTenASCIIBytes() {
        #expect(Day(parsing: "2026-11-22")?.description == "2026-11-22")
        #expect(Day(parsing: "0001-01-01")?.description == "0001-01-01")
        #expect(Day(parsing: "9999-12-31")?.description == "9999-12-31")
        #expect(Day(parsing: "1970-01-01")?.ordinal == 0)
        #expect(Day(parsing: "2026-11-22"[...]) == Day(year: 2026, month: 11, day: 22))
        for bad in ["", "2026-1-22", "2026-011-2", "2026/11/22", " 2026-11-22", "2026-11-22 ", "+026-11-22", "2026-11-2x",
                    "２０２６-11-22", "2026-١١-22", "0000-01-01", "2026-00-10", "2026-11-00", "20261122", "2026-11-22T00"] {
            #expect(Day(parsing: bad) == nil, "\(bad)")
        }
    }
}

@Suite struct ValidationTests {
    @Test func codesAreUpperCaseLettersDigitsDashesAndUnderscores() throws {
        #expect(try Code.validate("P-1001", field: "id") == "P-1001")
        for bad in ["", "p-1001", "-X", "A B", "Ä", String(repeating: "A", count: 33)] {
            #expect(throws: ValidationError.self) { try Code.validate(bad, field: "id") }
        }
    }

    @Test func courseContentRefusesNonsense() {
        #expect(throws: ValidationError.self) { try CourseContent(title: "", points: Points(1), hours: Points(1), category: "clinical", delivery: .online) }
        #expect(throws: ValidationError.self) { try CourseContent(title: "T", points: .zero, hours: Points(1), category: "clinical", delivery: .online) }
        #expect(throws: ValidationError.self) { try CourseContent(title: "T", points: Points(1), hours: Points(-1), category: "clinical", delivery: .online) }
        #expect(throws: ValidationError.self) { try CourseContent(title: "T", points: Points(1), hours: Points(1), category: "Clinical", delivery: .online) }
        #expect(throws: ValidationError.self) { try CourseContent(title: "T\u{7}", points: Points(1), hours: Points(1), category: "clinical", delivery: .online) }
    }

    @Test func theLifecycleOnlyMovesForward() throws {
        #expect(try CourseLifecycle.transition(from: .draft, to: .published) == .published)
        #expect(try CourseLifecycle.transition(from: .published, to: .retired) == .retired)
        #expect(throws: ValidationError.self) { try CourseLifecycle.transition(from: .retired, to: .published) }
        #expect(throws: ValidationError.self) { try CourseLifecycle.transition(from: .published, to: .published) }
    }

    @Test func periodsAreCheckedAsTheyAreDefined() {
        #expect(throws: ValidationError.self) { try SchemePeriod(kind: "fixed", length: 24, start: "09-01") }
        #expect(throws: ValidationError.self) { try SchemePeriod(kind: "fixed", length: 12, start: "02-29") }
        #expect(throws: ValidationError.self) { try SchemePeriod(kind: "fixed", length: 12, start: nil) }
        #expect(throws: ValidationError.self) { try SchemePeriod(kind: "rolling", length: 0, start: nil) }
        #expect(throws: ValidationError.self) { try SchemePeriod(kind: "weekly", length: 1, start: nil) }
        #expect(throws: ValidationError.self) { try Scheme(code: "X", title: "X", period: .rolling(months: 12), required: Points(1), proRataMonthly: true) }
    }

    @Test func aSchemeTakesOneMinimumAndOneCapPerTarget() throws {
        let scheme = Schemes.myotherapy
        #expect(throws: ValidationError.self) { try scheme.validate(SchemeRule(target: .delivery(.inPerson), bound: .minShare(percent: Points(10)))) }
        #expect(throws: ValidationError.self) { try scheme.validate(SchemeRule(target: .category("ethics"), bound: .min(Points(21)))) }
        #expect(throws: ValidationError.self) { try scheme.validate(SchemeRule(target: .category("ethics"), bound: .maxShare(percent: Points(101)))) }
        try scheme.validate(SchemeRule(target: .delivery(.inPerson), bound: .max(Points(18))))
    }

    @Test func completionsMustBePublishedDatedAndAfterJoining() throws {
        let today = day("2026-11-21"), joined = day("2025-01-01")
        try CompletionRules.check(completed: today, today: today, joined: joined, courseStatus: .published, course: "C")
        #expect(throws: ValidationError.self) { try CompletionRules.check(completed: day("2026-11-22"), today: today, joined: joined, courseStatus: .published, course: "C") }
        #expect(throws: ValidationError.self) { try CompletionRules.check(completed: day("2024-12-31"), today: today, joined: joined, courseStatus: .published, course: "C") }
        #expect(throws: ValidationError.self) { try CompletionRules.check(completed: today, today: today, joined: joined, courseStatus: .draft, course: "C") }
        #expect(throws: ValidationError.self) { try CompletionRules.check(completed: today, today: today, joined: joined, courseStatus: .retired, course: "C") }
    }
}

@Suite struct CalendarEdgeTests {
    @Test func monthArithmeticThatLeavesTheCalendarThrows() throws {
        let last = try #require(Day(parsing: "9999-12-31"))
        let first = try #require(Day(parsing: "0001-01-01"))
        #expect(throws: DayOutOfRange.self) { try last.adding(months: 1) }
        #expect(throws: DayOutOfRange.self) { try first.adding(months: -1) }
        #expect(throws: DayOutOfRange.self) { try first.adding(months: Int.max) }
        #expect(throws: DayOutOfRange.self) { try last.adding(months: Int.min) }
        #expect(try last.adding(months: -1).description == "9999-11-30")
        #expect(try first.adding(months: 1).description == "0001-02-01")
    }

    @Test func aCycleThatLeavesTheCalendarThrows() throws {
        let last = try #require(Day(parsing: "9999-12-31"))
        let joined = try #require(Day(parsing: "2025-01-01"))
        #expect(throws: DayOutOfRange.self) { try SchemePeriod.anniversary(months: 12).cycle(containing: last, joined: joined) }
        #expect(throws: DayOutOfRange.self) { try SchemePeriod.rolling(months: 12).cycle(containing: Day.earliest, joined: joined) }
        #expect(try SchemePeriod.rolling(months: 12).cycle(containing: last, joined: joined).start.description == "9999-01-01")
    }
}
