import Testing

@testable import CPDCore

/// The compliance rules, as a specification. Figures are worked out by hand in the comments.
@Suite struct CycleTests {
    func cycle(_ scheme: Scheme, on date: String, joined: String = "2020-01-01") -> String {
        let c = try! scheme.period.cycle(containing: day(date), joined: day(joined))
        return "\(c.start)..\(c.end)"
    }

    @Test func aFirstOfJulyCycleTurnsOverAtMidnightOnThirtyJune() {
        #expect(cycle(Schemes.myotherapy, on: "2026-11-21") == "2026-07-01..2027-06-30")
        #expect(cycle(Schemes.myotherapy, on: "2026-06-30") == "2025-07-01..2026-06-30")
        #expect(cycle(Schemes.myotherapy, on: "2026-07-01") == "2026-07-01..2027-06-30")
    }

    @Test func aCalendarYearHoldsTwentyNinthFebruary() {
        #expect(cycle(Schemes.anta, on: "2028-02-29") == "2028-01-01..2028-12-31")
        #expect(cycle(Schemes.anta, on: "2027-12-31") == "2027-01-01..2027-12-31")
    }

    @Test func twoYearCyclesRunFromTheirAnchorBothWays() {
        #expect(cycle(Schemes.florida, on: "2026-11-21") == "2025-09-01..2027-08-31")
        #expect(cycle(Schemes.florida, on: "2027-09-01") == "2027-09-01..2029-08-31")
        #expect(cycle(Schemes.florida, on: "2025-08-31") == "2023-09-01..2025-08-31")
    }

    @Test func anniversaryCyclesStartOnTheJoinDayWithoutDrifting() {
        #expect(cycle(Schemes.cma, on: "2026-11-21", joined: "2026-03-15") == "2026-03-15..2027-03-14")
        // Joined on 29 February: the anniversary falls on 28 February in common years and returns to the 29th.
        #expect(cycle(Schemes.cma, on: "2025-02-27", joined: "2024-02-29") == "2024-02-29..2025-02-27")
        #expect(cycle(Schemes.cma, on: "2025-02-28", joined: "2024-02-29") == "2025-02-28..2026-02-27")
        #expect(cycle(Schemes.cma, on: "2028-03-01", joined: "2024-02-29") == "2028-02-29..2029-02-27")
        // Joined on the 31st: cycles of one month from 31 January go to the 28th and back to the 31st.
        let monthly = try! Scheme(code: "M", title: "M", period: .anniversary(months: 1), required: Points(1))
        #expect(cycle(monthly, on: "2026-03-15", joined: "2026-01-31") == "2026-02-28..2026-03-30")
        #expect(cycle(monthly, on: "2026-03-31", joined: "2026-01-31") == "2026-03-31..2026-04-29")
    }

    @Test func aRollingWindowEndsOnTheDayAsked() {
        #expect(cycle(Schemes.mma, on: "2026-11-21") == "2023-11-22..2026-11-21")
    }
}

@Suite struct StandingTests {
    func standing(_ scheme: Scheme, on date: String, joined: String = "2020-01-01", _ records: [PointsRecord], certificates: [Certificate] = []) -> Standing {
        try! Compliance.standing(scheme: scheme, joined: day(joined), on: day(date), records: records, certificates: certificates)
    }

    // MARK: Pace: on track and at risk

    @Test func theProtocolExampleIsOnTrack() {
        // 8 in person + 3 online = 11 of 20 on 21 Nov, 221 days left. A steady pace earns
        // 20 × 222/365 = 12.17 in the days left (today included); 9 still needed ≤ 12.17: on track.
        let s = standing(Schemes.myotherapy, on: "2026-11-21", [completion("2026-08-01", "8"), completion("2026-10-01", "3", "mental_health", .online)])
        #expect(s.earned == Points(11) && s.counted == Points(11) && s.shortfall == Points(9))
        #expect(s.daysLeft == 221)
        #expect(s.status == .onTrack)
        #expect(s.rules[0].rule.description == "delivery=in_person min=4")
        #expect(s.rules[0].value == Points(8) && s.rules[0].limit == Points(4) && s.rules[0].met)
    }

    @Test func behindASteadyPaceIsAtRisk() {
        // 3 online by 1 March: 17 still needed (and 4 in person), 122 days including today:
        // a steady pace earns 20 × 122/365 = 6.69 < 17.
        let s = standing(Schemes.myotherapy, on: "2027-03-01", [completion("2026-09-01", "3", "clinical", .online)])
        #expect(s.shortfall == Points(17))
        #expect(s.status == .atRisk)
        #expect(!s.rules[0].met && s.rules[0].gap == Points(4))
    }

    @Test func aMemberWhoJoinsMidCycleIsPacedFromTheirJoinDay() {
        // Joined 1 January: 181 days of cycle left, all of them theirs. On the first day a steady pace
        // earns all 20 in time; a day later 20 × 180/181 = 19.89 < 20.
        #expect(standing(Schemes.myotherapy, on: "2027-01-01", joined: "2027-01-01", []).status == .onTrack)
        #expect(standing(Schemes.myotherapy, on: "2027-01-02", joined: "2027-01-01", []).status == .atRisk)
    }

    @Test func shortOnTheLastDayIsNonCompliantAndEnoughIsCompliant() {
        let short = standing(Schemes.myotherapy, on: "2027-06-30", [completion("2026-08-01", "19")])
        #expect(short.daysLeft == 0 && short.status == .nonCompliant && short.shortfall == Points(1))
        let enough = standing(Schemes.myotherapy, on: "2027-06-30", [completion("2026-08-01", "20")])
        #expect(enough.status == .compliant && enough.shortfall == .zero)
        // The first day of the next cycle starts again from nothing.
        #expect(standing(Schemes.myotherapy, on: "2027-07-01", [completion("2026-08-01", "20")]).earned == .zero)
    }

    // MARK: Caps and minimums

    @Test func aCapThatBindsCountsOnlyUpToIt() {
        // 18 online (cap 16) + 4 in person: 22 earned, 20 counted.
        let s = standing(Schemes.myotherapy, on: "2026-12-01", [completion("2026-08-01", "18", "clinical", .online), completion("2026-09-01", "4")])
        #expect(s.earned == Points(22) && s.counted == Points(20) && s.status == .compliant)
        let online = s.rules.first { $0.rule.target == .delivery(.online) }!
        #expect(online.value == Points(18) && online.limit == Points(16) && online.gap == Points(2) && online.met)
    }

    @Test func aCapThatDoesNotBindChangesNothing() {
        let s = standing(Schemes.myotherapy, on: "2026-12-01", [completion("2026-08-01", "10", "clinical", .online), completion("2026-09-01", "10")])
        #expect(s.counted == Points(20) && s.rules.allSatisfy { $0.gap == .zero })
    }

    @Test func aMinimumUnmetKeepsAMemberShortWhateverTheTotal() {
        // 16 online + 4 reading = 20 counted, but none in person: 4 still needed.
        let s = standing(Schemes.myotherapy, on: "2027-06-30", [completion("2026-08-01", "16", "clinical", .online), completion("2026-09-01", "4", "clinical", .reading)])
        #expect(s.counted == Points(20) && s.shortfall == Points(4) && s.status == .nonCompliant)
    }

    @Test func categoryMinimumsAndCapsWorkTogether() {
        // NCBTMB: 20 clinical + 6 self-care (cap 4) + 3 ethics (min 3) = 27 counted of 24.
        let s = standing(Schemes.ncbtmb, on: "2026-06-01", [completion("2025-03-01", "20"), completion("2025-04-01", "6", "self_care"), completion("2025-05-01", "3", "ethics")])
        #expect(s.earned == Points(29) && s.counted == Points(27) && s.status == .compliant)
        // 22 clinical + 2 ethics: the total is there but ethics is 1 short.
        let short = standing(Schemes.ncbtmb, on: "2026-12-31", [completion("2025-03-01", "22"), completion("2025-05-01", "2", "ethics")])
        #expect(short.counted == Points(24) && short.shortfall == Points(1) && short.status == .nonCompliant)
    }

    @Test func sharesAreTakenOfTheRequirement() {
        // CNHC: a third of 15 is 4.99 (a cap rounds down); 10 online + 10 in person count 9.98.
        let s = standing(Schemes.cnhc, on: "2026-12-31", [completion("2026-02-01", "10", "clinical", .online), completion("2026-03-01", "10")])
        #expect(s.counted == pts("9.98") && s.shortfall == pts("5.02"))
        // ANTA-like: half of 20 from clinical topics; 8 clinical + 12 business is 2 short.
        let anta = standing(Schemes.anta, on: "2026-06-01", [completion("2026-02-01", "8"), completion("2026-03-01", "12", "business")])
        #expect(anta.rules[0].limit == Points(10) && anta.rules[0].gap == Points(2) && anta.shortfall == Points(2))
    }

    @Test func categoryAndDeliveryCapsTogetherCountTheMostPossible() throws {
        // self_care ≤ 4 and online ≤ 5. Held: self_care online 6, clinical online 3, self_care in person 2.
        // Best: self_care 2 in person + 2 online, clinical online 3 → 7 (capping one dimension after
        // the other would give less).
        let scheme = try Scheme(
            code: "X", title: "X", period: .fixed(months: 12, anchor: day("2000-01-01")), required: Points(20),
            rules: [SchemeRule(target: .category("self_care"), bound: .max(Points(4))), SchemeRule(target: .delivery(.online), bound: .max(Points(5)))])
        let s = standing(scheme, on: "2026-06-01", [
            completion("2026-01-10", "6", "self_care", .online), completion("2026-01-11", "3", "clinical", .online),
            completion("2026-01-12", "2", "self_care", .inPerson),
        ])
        #expect(s.earned == Points(11) && s.counted == Points(7))
    }

    @Test func aNegativeAdjustmentInACappedCategoryComesOffWhatTheCapLeaves() throws {
        // self_care capped at 4: 10 held, then -3 adjusted in self_care with no delivery. Net 7 in the
        // category, so the cap still binds: 4 count (not 10 capped to 4 minus 3 = 1).
        let scheme = try Scheme(
            code: "X", title: "X", period: .fixed(months: 12, anchor: day("2000-01-01")), required: Points(20),
            rules: [SchemeRule(target: .category("self_care"), bound: .max(Points(4)))])
        let adjustment = PointsRecord(effective: day("2026-02-01"), kind: .adjustment, category: "self_care", delivery: nil, points: Points(-3))
        let s = standing(scheme, on: "2026-06-01", [completion("2026-01-10", "10", "self_care", .online), adjustment, completion("2026-01-11", "5")])
        #expect(s.earned == Points(12) && s.counted == Points(9))
        // With no category or delivery to net against, a negative adjustment comes off the total.
        let loose = PointsRecord(effective: day("2026-02-01"), kind: .adjustment, category: nil, delivery: nil, points: Points(-2))
        #expect(standing(scheme, on: "2026-06-01", [completion("2026-01-11", "5"), loose]).counted == Points(3))
    }

    // MARK: Pro-rata, opening balance, rolling windows

    @Test func aFirstPartialCycleAsksForTheMonthsOfMembership() {
        // Florida: joined 15 March 2026 in the cycle to 31 August 2027: 18 started months of 24 → 18 hours.
        #expect(standing(Schemes.florida, on: "2026-11-21", joined: "2026-03-15", []).required == Points(18))
        #expect(standing(Schemes.florida, on: "2026-11-21", joined: "2025-06-01", []).required == Points(24))
        #expect(standing(Schemes.florida, on: "2027-09-01", joined: "2026-03-15", []).required == Points(24), "the next cycle is full")
    }

    @Test func aRollingBalanceMustBeHeldAndWarnsBeforeItLapses() {
        let certificate = try! Certificate(practitioner: "P-1", kind: "first_aid", issued: day("2025-01-01"), expires: day("2028-12-31"))
        let opening = PointsRecord(effective: day("2025-01-10"), kind: .openingBalance, category: nil, delivery: nil, points: Points(40))
        // The opening 40 leaves the 36-month window on 10 January 2028.
        let now = standing(Schemes.mma, on: "2026-11-21", joined: "2025-01-10", [opening], certificates: [certificate])
        #expect(now.status == .compliant && now.counted == Points(40))
        #expect(now.daysLeft == day("2026-11-21").distance(to: day("2028-01-10")) - 1)
        let soon = standing(Schemes.mma, on: "2027-11-01", joined: "2025-01-10", [opening], certificates: [certificate])
        #expect(soon.daysLeft == 69 && soon.status == .atRisk)
        let lapsed = standing(Schemes.mma, on: "2028-01-10", joined: "2025-01-10", [opening], certificates: [certificate])
        #expect(lapsed.status == .nonCompliant && lapsed.shortfall == Points(40) && lapsed.daysLeft == 0)
        // New points keep the balance up.
        let topped = standing(Schemes.mma, on: "2027-11-01", joined: "2025-01-10", [opening, completion("2027-10-01", "40")], certificates: [certificate])
        #expect(topped.status == .compliant)
    }

    @Test func pointsEarnedAtAMonthEndLeaveARollingWindowOnTheRightDay() throws {
        // 12-month rolling. Earned on 29 February 2024: the window ending 28 February 2025 starts on
        // 29 February 2024 (one month back from the 28th clamps), so the points still count that day
        // and leave on 1 March 2025.
        let scheme = try Scheme(code: "R", title: "R", period: .rolling(months: 12), required: Points(10))
        let leap = [completion("2024-02-29", "10")]
        let lastDay = standing(scheme, on: "2025-02-28", joined: "2024-01-01", leap)
        #expect(lastDay.counted == Points(10) && lastDay.daysLeft == 0 && lastDay.status == .atRisk, "held today, gone tomorrow")
        #expect(standing(scheme, on: "2025-03-01", joined: "2024-01-01", leap).status == .nonCompliant)
        let before = standing(scheme, on: "2024-12-15", joined: "2024-01-01", leap)
        #expect(before.daysLeft == day("2024-12-15").distance(to: day("2025-03-01")) - 1)
        #expect(before.status == .atRisk, "76 days before the points leave")
    }

    @Test func aMissingOrExpiredRequiredCertificateIsNonCompliant() {
        let opening = PointsRecord(effective: day("2025-01-10"), kind: .openingBalance, category: nil, delivery: nil, points: Points(40))
        let missing = standing(Schemes.mma, on: "2026-11-21", joined: "2025-01-10", [opening])
        #expect(missing.status == .nonCompliant && missing.certificates == [CertificateStanding(kind: "first_aid", state: .missing, expires: nil)])
        let expired = try! Certificate(practitioner: "P-1", kind: "first_aid", issued: day("2023-01-01"), expires: day("2026-11-20"))
        #expect(standing(Schemes.mma, on: "2026-11-21", joined: "2025-01-10", [opening], certificates: [expired]).certificates[0].state == .expired)
        let expiring = try! Certificate(practitioner: "P-1", kind: "first_aid", issued: day("2023-01-20"), expires: day("2027-01-19"))
        let s = standing(Schemes.mma, on: "2026-11-21", joined: "2025-01-10", [opening], certificates: [expired, expiring])
        #expect(s.certificates[0].state == .expiring && s.certificates[0].expires == day("2027-01-19") && s.status == .compliant)
    }

    // MARK: Reversals, adjustments, carry-over

    @Test func aReversalCancelsItsEntryAndAdjustmentsCountBothWays() {
        let reversal = PointsRecord(effective: day("2026-08-01"), kind: .reversal, category: "clinical", delivery: .inPerson, points: Points(-8))
        let up = PointsRecord(effective: day("2026-10-01"), kind: .adjustment, category: nil, delivery: nil, points: Points(2))
        let down = PointsRecord(effective: day("2026-10-02"), kind: .adjustment, category: nil, delivery: nil, points: Points(-3))
        let s = standing(Schemes.myotherapy, on: "2026-11-21", [completion("2026-08-01", "8"), reversal, completion("2026-09-01", "6"), up, down])
        #expect(s.earned == Points(5) && s.counted == Points(5))
        #expect(s.rules[0].value == Points(6), "the reversed in-person points no longer count toward the minimum")
    }

    @Test func carryOverIsTheExcessUpToTheCapAndOnlyWhenTheCycleWasMet() throws {
        let previous = Cycle(start: day("2025-03-01"), end: day("2026-02-28"))
        func carry(_ records: [PointsRecord]) -> Points {
            try! Compliance.carryOver(scheme: Schemes.cma, joined: day("2025-03-01"), previous: previous, records: records, certificates: [])
        }
        #expect(carry([completion("2025-05-01", "35")]) == Points(10), "capped at 10")
        #expect(carry([completion("2025-05-01", "25")]) == Points(5))
        #expect(carry([completion("2025-05-01", "15")]) == .zero, "short (late): nothing carries")
        let carriedIn = PointsRecord(effective: day("2025-03-01"), kind: .carryOver, category: nil, delivery: nil, points: Points(10))
        #expect(carry([carriedIn, completion("2025-05-01", "25")]) == Points(5), "carried points never carry twice")
        #expect(try Compliance.carryOver(scheme: Schemes.myotherapy, joined: day("2020-01-01"), previous: Cycle(start: day("2025-07-01"), end: day("2026-06-30")),
                                     records: [completion("2025-08-01", "40")], certificates: []) == .zero, "no carry-over in the scheme")
    }

    // The issue's example: an anniversary scheme (20 a year, at most 10 carried), a member who joined
    // on 1 March 2024 and earned 34 in their first year and 8 in their second.
    let issueRecords = [completion("2024-05-01", "20"), completion("2024-11-01", "14"), completion("2025-06-01", "8")]

    @Test func whatCarriesCountsInTheNextCycleFromItsFirstDayWithNothingWritten() {
        // 34 − 20 = 14 above the requirement, capped at 10: 10 + 8 = 18 of 20, earned and counted.
        let first = standing(Schemes.cma, on: "2025-03-01", joined: "2024-03-01", issueRecords)
        #expect(first.cycle == Cycle(start: day("2025-03-01"), end: day("2026-02-28")))
        #expect(first.carried == Points(10) && first.earned == Points(10) && first.counted == Points(10))
        let later = standing(Schemes.cma, on: "2025-09-01", joined: "2024-03-01", issueRecords)
        #expect(later.carried == Points(10) && later.earned == Points(18) && later.counted == Points(18) && later.shortfall == Points(2))
        // The last day of the first cycle has nothing carried in: it is the member's first cycle.
        let firstCycle = standing(Schemes.cma, on: "2025-02-28", joined: "2024-03-01", issueRecords)
        #expect(firstCycle.carried == .zero && firstCycle.counted == Points(34))
    }

    @Test func carriedPointsNeverCarryAgainAndAShortCycleCarriesNothing() {
        // Second year: 10 carried + 8 = 18, short at its close: nothing carries into the third.
        #expect(standing(Schemes.cma, on: "2026-03-01", joined: "2024-03-01", issueRecords).carried == .zero)
        // Second year with 25 of its own: 10 carried + 25 = 35, but only its own 25 − 20 = 5 carry on.
        let more = issueRecords + [completion("2025-07-01", "17")]
        let third = standing(Schemes.cma, on: "2026-03-01", joined: "2024-03-01", more)
        #expect(third.carried == Points(5) && third.counted == Points(5))
    }

    @Test func capsInThePreviousCycleLimitWhatCarries() {
        // 18 in person + 9 online with online capped at 5: 27 earned, 23 counted, so 3 carry (not 7).
        let capped = try! Scheme(
            code: "CAP", title: "Capped", period: .anniversary(months: 12), required: Points(20),
            rules: [SchemeRule(target: .delivery(.online), bound: .max(Points(5)))], carryOverMax: Points(10))
        let records = [completion("2024-05-01", "18"), completion("2024-06-01", "9", "mental_health", .online)]
        let next = standing(capped, on: "2025-04-01", joined: "2024-03-01", records)
        #expect(next.carried == Points(3) && next.counted == Points(3))
    }

    @Test func aCarryOverEntryInTheLedgerIsNotCountedBesideTheDerivedCarry() {
        // Written by hand or by an older cpdd, for the same 10 or for another figure: the derived 10 count, once.
        for written in ["10", "4"] {
            let entry = PointsRecord(effective: day("2025-03-01"), kind: .carryOver, category: nil, delivery: nil, points: pts(written))
            let s = standing(Schemes.cma, on: "2025-09-01", joined: "2024-03-01", issueRecords + [entry])
            #expect(s.carried == Points(10) && s.earned == Points(18) && s.counted == Points(18), "a \(written) entry")
        }
    }

    @Test func whatAStandingReadsReachesBackToThePreviousCycleOnlyWithCarryOver() throws {
        #expect(try Compliance.firstDayRead(scheme: Schemes.cma, joined: day("2024-03-01"), on: day("2025-09-01")) == day("2024-03-01"))
        #expect(try Compliance.firstDayRead(scheme: Schemes.cma, joined: day("2024-03-01"), on: day("2024-09-01")) == day("2024-03-01"), "the first cycle")
        #expect(try Compliance.firstDayRead(scheme: Schemes.myotherapy, joined: day("2020-01-01"), on: day("2026-11-21")) == day("2026-07-01"))
        #expect(Compliance.monthsRead(scheme: Schemes.cma) == 24 && Compliance.monthsRead(scheme: Schemes.myotherapy) == 12)
    }

    @Test func aStatementsCarriesAreEachCyclesInTheRange() throws {
        let more = issueRecords + [completion("2025-07-01", "17"), completion("2026-04-01", "30")]
        let carries = try Compliance.carriesIn(
            scheme: Schemes.cma, joined: day("2024-03-01"), from: day("2024-03-01"), through: day("2027-03-01"), records: more, certificates: [])
        #expect(carries.map(\.cycle.start) == [day("2025-03-01"), day("2026-03-01"), day("2027-03-01")])
        #expect(carries.map(\.points) == [Points(10), Points(5), Points(10)])
        #expect(carries[0].previous == Cycle(start: day("2024-03-01"), end: day("2025-02-28")))
        let later = try Compliance.carriesIn(
            scheme: Schemes.cma, joined: day("2024-03-01"), from: day("2025-03-02"), through: day("2026-12-31"), records: more, certificates: [])
        #expect(later.map(\.cycle.start) == [day("2026-03-01")], "a cycle that starts before `from` is left out")
    }
}
