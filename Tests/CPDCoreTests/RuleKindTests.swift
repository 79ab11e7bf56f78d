import Testing

@testable import CPDCore

/// The rule kinds real schemes have beside a minimum or cap on one category or delivery mode
/// (issue 13): a cap on each category or mode on its own, a rule on a category and a mode
/// together, advisory rules. Figures worked by hand; docs/rules.md explains each.
@Suite struct RuleKindTests {
    func standing(_ scheme: Scheme, on date: String, _ records: [PointsRecord]) throws -> Standing {
        try Compliance.standing(scheme: scheme, joined: day("2020-01-01"), on: day(date), records: records, certificates: [])
    }

    func scheme(required: Points, length: Int = 12, start: String = "01-01", _ rules: [SchemeRule]) throws -> Scheme {
        try Scheme(code: "S", title: "S", period: SchemePeriod(kind: "fixed", length: length, start: start), required: required, rules: rules)
    }

    // MARK: Each on its own

    @Test func aCapOnEveryDeliveryModeCapsEachModeOnItsOwn() throws {
        // CNHC: 15 a year, no more than a third from any single type of activity. A third of 15 is
        // 4.99 (a cap rounds down). Held: 8 in person, 6 online, 2 reading = 16 earned; counted
        // 4.99 + 4.99 + 2 = 11.98; 3.02 short.
        let cnhc = try scheme(required: Points(15), [SchemeRule(target: .everyDelivery, bound: .maxShare(percent: pts("33.33")))])
        let s = try standing(cnhc, on: "2026-12-31", [
            completion("2026-02-01", "8"), completion("2026-03-01", "6", "mental_health", .online), completion("2026-04-01", "2", "ethics", .reading),
        ])
        #expect(s.earned == Points(16) && s.counted == pts("11.98") && s.shortfall == pts("3.02") && s.status == .nonCompliant)
        // The rule shows the largest mode's points and what is over the cap in every mode: 3.01 + 1.01.
        #expect(s.rules == [RuleStanding(rule: cnhc.rules[0], value: Points(8), limit: pts("4.99"), met: true, gap: pts("4.02"))])
    }

    @Test func aCapOnEveryModeCountsExactlyAsOneCapPerMode() throws {
        // The same policy as four rules, one per mode (the demo's CNHC before this rule kind), on
        // records drawn at random: the same counted points and shortfall every time.
        let every = try scheme(required: Points(15), [SchemeRule(target: .everyDelivery, bound: .maxShare(percent: pts("33.33")))])
        let perMode = try scheme(required: Points(15), Delivery.allCases.map { SchemeRule(target: .delivery($0), bound: .maxShare(percent: pts("33.33"))) })
        var seed: UInt64 = 0x5eed
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<300 {
            let records = (0..<next(9)).map { _ in
                completion("2026-0\(1 + next(9))-1\(next(9))", "\(next(12) - 2).\(next(10))0", ["clinical", "ethics", "self_care"][next(3)], Delivery.allCases[next(Delivery.allCases.count)])
            }
            let a = try standing(every, on: "2026-12-31", records), b = try standing(perMode, on: "2026-12-31", records)
            #expect(a.counted == b.counted && a.shortfall == b.shortfall && a.status == b.status, "\(records)")
        }
    }

    @Test func aCapOnEveryCategoryMeetsACapOnOneCategoryAtTheLowerOfTheTwo() throws {
        // 20 required; at most 8 from any one category, and at most 3 from self_care. Held: 12
        // clinical, 5 self_care, 4 ethics = 21; counted 8 + 3 + 4 = 15; 5 short.
        let s = try standing(try scheme(required: Points(20), [
            SchemeRule(target: .everyCategory, bound: .max(Points(8))), SchemeRule(target: .category("self_care"), bound: .max(Points(3))),
        ]), on: "2026-06-01", [completion("2026-02-01", "12"), completion("2026-03-01", "5", "self_care"), completion("2026-04-01", "4", "ethics")])
        #expect(s.earned == Points(21) && s.counted == Points(15) && s.shortfall == Points(5))
        #expect(s.rules.map(\.value) == [Points(12), Points(5)] && s.rules.map(\.gap) == [Points(4), Points(2)])
    }

    @Test func eachOnItsOwnTakesACapOnly() throws {
        let s = try scheme(required: Points(20), [SchemeRule(target: .everyDelivery, bound: .max(Points(8)))])
        #expect(throws: ValidationError.self) { try s.validate(SchemeRule(target: .everyCategory, bound: .min(Points(1)))) }
        #expect(throws: ValidationError.self) { try s.validate(SchemeRule(target: .everyDelivery, bound: .minShare(percent: Points(10)))) }
        #expect(throws: ValidationError.self, "a second cap on every mode") { try s.validate(SchemeRule(target: .everyDelivery, bound: .maxShare(percent: Points(10)))) }
        try s.validate(SchemeRule(target: .everyCategory, bound: .maxShare(percent: Points(50))))
    }

    // MARK: A category and a delivery mode together

    @Test func aMinimumOnACategoryDeliveredOneWayCountsOnlyThatCell() throws {
        // Florida: 24 hours in two years from 1 September 2025, at least 2 ethics, and 12 hands-on
        // (clinical) in person. Held: 14 clinical online, 8 clinical in person, 2 ethics by webinar:
        // the total is there, but the in-person clinical hours are 4 short.
        let florida = try scheme(required: Points(24), length: 24, start: "2025-09-01", [
            SchemeRule(target: .category("ethics"), bound: .min(Points(2))),
            SchemeRule(target: .categoryAndDelivery("clinical", .inPerson), bound: .min(Points(12))),
        ])
        var records = [completion("2025-10-01", "14", "clinical", .online), completion("2026-01-10", "8"), completion("2026-03-01", "2", "ethics", .webinar)]
        let short = try standing(florida, on: "2027-08-31", records)
        #expect(short.counted == Points(24) && short.shortfall == Points(4) && short.status == .nonCompliant)
        #expect(short.rules[1] == RuleStanding(rule: florida.rules[1], value: Points(8), limit: Points(12), met: false, gap: Points(4)))
        // In-person hours of another category do not meet it.
        records.append(completion("2027-05-01", "4", "mental_health", .inPerson))
        #expect(try standing(florida, on: "2027-08-31", records).shortfall == Points(4))
        records.append(completion("2027-06-01", "4"))
        let met = try standing(florida, on: "2027-08-31", records)
        #expect(met.shortfall == .zero && met.status == .compliant && met.rules[1].met)
    }

    @Test func aCapOnACategoryDeliveredOneWayCapsOnlyThatCell() throws {
        // 10 required; at most 3 self_care online. Held: 5 self_care online, 2 self_care in person,
        // 4 clinical online = 11; counted 3 + 2 + 4 = 9; 1 short.
        let s = try standing(try scheme(required: Points(10), [
            SchemeRule(target: .categoryAndDelivery("self_care", .online), bound: .max(Points(3))),
        ]), on: "2026-06-01", [
            completion("2026-02-01", "5", "self_care", .online), completion("2026-02-02", "2", "self_care"), completion("2026-02-03", "4", "clinical", .online),
        ])
        #expect(s.earned == Points(11) && s.counted == Points(9) && s.shortfall == Points(1))
        #expect(s.rules[0].value == Points(5) && s.rules[0].gap == Points(2) && s.rules[0].met)
    }

    // MARK: The member's accredited modalities

    @Test func aMinimumOnAccreditedModalitiesCountsOnlyCoursesThatMeetThem() throws {
        // ANTA: 20 a calendar year, half from courses in the member's accredited modalities. Held:
        // 8 from such courses, 12 from others (a Bowen course for a remedial therapist): 20 counted,
        // but 2 short of the 10; no cap may be set on it.
        let anta = try scheme(required: Points(20), [SchemeRule(target: .accreditedModalities, bound: .minShare(percent: Points(50)))])
        var records = [
            PointsRecord(effective: day("2026-02-01"), kind: .completion, category: "clinical", delivery: .inPerson, points: Points(8), accredited: true),
            PointsRecord(effective: day("2026-03-01"), kind: .completion, category: "clinical", delivery: .inPerson, points: Points(12)),
        ]
        let short = try standing(anta, on: "2026-12-31", records)
        #expect(short.counted == Points(20) && short.shortfall == Points(2) && short.status == .nonCompliant)
        #expect(short.rules[0] == RuleStanding(rule: anta.rules[0], value: Points(8), limit: Points(10), met: false, gap: Points(2)))
        records.append(PointsRecord(effective: day("2026-04-01"), kind: .completion, category: "ethics", delivery: .webinar, points: Points(2), accredited: true))
        #expect(try standing(anta, on: "2026-12-31", records).status == .compliant)
        #expect(throws: ValidationError.self) { try anta.validate(SchemeRule(target: .accreditedModalities, bound: .max(Points(5)))) }
        #expect(SchemeRule(target: .accreditedModalities, bound: .minShare(percent: Points(50))).description == "modality=accredited min_share=50")
    }

    // MARK: Hours from minutes

    @Test func aSchemeThatCountsHoursCreditsACourseFromItsMinutes() throws {
        func content(minutes: Int?, hours: String = "2") throws -> CourseContent {
            try CourseContent(title: "T", points: Points(3), hours: pts(hours), category: "clinical", delivery: .inPerson, minutes: minutes)
        }
        // NCBTMB: a 50-minute hour, whole and half hours. 125 minutes are 2.5 hours; 140 are 2.8, so
        // 2.5; by whole hours both are 2; 40 minutes are 0.8, a half hour, and no whole hour.
        let half = CreditUnit.hours(minutesPerHour: 50, rounding: .half), whole = CreditUnit.hours(minutesPerHour: 50, rounding: .whole)
        let m125 = try content(minutes: 125), m140 = try content(minutes: 140), m40 = try content(minutes: 40)
        #expect(half.credit(for: m125) == pts("2.5") && half.credit(for: m140) == pts("2.5"))
        #expect(whole.credit(for: m125) == Points(2) && whole.credit(for: m140) == Points(2))
        #expect(half.credit(for: m40) == pts("0.5") && whole.credit(for: m40) == .zero)
        // A 60-minute hour to the hundredth, rounded down: 125 minutes are 2.08 hours, and 100
        // minutes 1.66 (1.666..., which rounding to the nearest would make 1.67).
        let sixty = CreditUnit.hours(minutesPerHour: 60, rounding: .hundredth)
        let m100 = try content(minutes: 100)
        #expect(sixty.credit(for: m125) == pts("2.08") && sixty.credit(for: m100) == pts("1.66"))
        // A course that gives no minutes is counted by its hours, rounded the same way: 7.5 → 7 whole.
        let noMinutes = try content(minutes: nil, hours: "7.5")
        #expect(whole.credit(for: noMinutes) == Points(7))
        // A scheme of points takes the course's points, whatever its minutes.
        #expect(CreditUnit.points.credit(for: m125) == Points(3))
        #expect(throws: ValidationError.self) { try content(minutes: 0) }
        #expect(throws: ValidationError.self) {
            try Scheme(code: "S", title: "S", period: .rolling(months: 12), required: Points(20), unit: .hours(minutesPerHour: 0, rounding: .half))
        }
    }

    // MARK: Pro-rata at a rate per month

    @Test func aRatePerMonthAsksForThatMuchPerMonthOrPartUpToTheRequirement() throws {
        // 20 a calendar year, 2 per month or part of a month for a first, partial year, at least 2 ethics.
        let s = try Scheme(
            code: "S", title: "S", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(20),
            rules: [SchemeRule(target: .category("ethics"), bound: .min(Points(2)))], proRataPerMonth: Points(2))
        func standing(joined: String, _ records: [PointsRecord] = []) throws -> Standing {
            try Compliance.standing(scheme: s, joined: day(joined), on: day("2026-12-31"), records: records, certificates: [])
        }
        // Joined 10 September: September to December, 4 months started, 8 points.
        #expect(try standing(joined: "2026-09-10").required == Points(8))
        // Joined 1 February: 11 months, 22 points, but never more than the 20 a full year asks.
        #expect(try standing(joined: "2026-02-01").required == Points(20))
        // A mandatory subject still applies in full in a pro-rated cycle: 8 clinical meet the 8
        // required, but the 2 ethics are still missing.
        let short = try standing(joined: "2026-09-10", [completion("2026-10-01", "8")])
        #expect(short.counted == Points(8) && short.shortfall == Points(2) && short.status == .nonCompliant)
        // Florida's 1 hour a month over a 24-month, 24-hour cycle is the same as its share by months.
        let byRate = try Scheme(code: "FL", title: "FL", period: SchemePeriod(kind: "fixed", length: 24, start: "2025-09-01"), required: Points(24), proRataPerMonth: Points(1))
        for joined in ["2025-09-02", "2026-03-15", "2027-08-31"] {
            let rate = try Compliance.standing(scheme: byRate, joined: day(joined), on: day("2027-08-31"), records: [], certificates: [])
            let share = try Compliance.standing(scheme: Schemes.florida, joined: day(joined), on: day("2027-08-31"), records: [], certificates: [])
            #expect(rate.required == share.required, "\(joined)")
        }
        #expect(throws: ValidationError.self) { try Scheme(code: "S", title: "S", period: .rolling(months: 12), required: Points(20), proRataPerMonth: Points(2)) }
        #expect(throws: ValidationError.self) { try Scheme(code: "S", title: "S", period: .anniversary(months: 12), required: Points(20), proRataMonthly: true, proRataPerMonth: Points(2)) }
    }

    // MARK: Advisory

    @Test func anAdvisoryMinimumWarnsWithoutMakingAMemberShort() throws {
        // 20 required, 80% from clinical topics advised (16). Held: 10 clinical, 10 ethics: 20
        // counted, compliant; the advice is 6 short.
        let s = try standing(try scheme(required: Points(20), [
            SchemeRule(target: .category("clinical"), bound: .minShare(percent: Points(80)), advisory: true),
        ]), on: "2026-12-31", [completion("2026-02-01", "10"), completion("2026-03-01", "10", "ethics")])
        #expect(s.counted == Points(20) && s.shortfall == .zero && s.status == .compliant)
        #expect(s.rules[0].limit == Points(16) && s.rules[0].value == Points(10) && !s.rules[0].met && s.rules[0].gap == Points(6))
    }

    @Test func pointsOverAnAdvisoryCapStillCount() throws {
        // 20 required, online advised at most 5. Held: 8 online, 12 in person: all 20 count; the
        // advice is exceeded by 3. Enforced, the same cap leaves 17 counted.
        let records = [completion("2026-02-01", "8", "clinical", .online), completion("2026-03-01", "12")]
        let advised = try standing(try scheme(required: Points(20), [SchemeRule(target: .delivery(.online), bound: .max(Points(5)), advisory: true)]), on: "2026-12-31", records)
        #expect(advised.counted == Points(20) && advised.status == .compliant && !advised.rules[0].met && advised.rules[0].gap == Points(3))
        let enforced = try standing(try scheme(required: Points(20), [SchemeRule(target: .delivery(.online), bound: .max(Points(5)))]), on: "2026-12-31", records)
        #expect(enforced.counted == Points(17) && enforced.shortfall == Points(3) && enforced.rules[0].met)
    }

    @Test func rulesReadAsTheProtocolWritesThem() {
        #expect(SchemeRule(target: .categoryAndDelivery("clinical", .inPerson), bound: .min(Points(12))).description == "category=clinical delivery=in_person min=12")
        #expect(SchemeRule(target: .everyDelivery, bound: .maxShare(percent: pts("33.33"))).description == "delivery=* max_share=33.33")
        #expect(SchemeRule(target: .everyCategory, bound: .max(Points(8))).description == "category=* max=8")
        #expect(SchemeRule(target: .category("clinical"), bound: .minShare(percent: Points(80)), advisory: true).description == "category=clinical min_share=80 advisory=yes")
    }
}

/// Renewals and what lateness costs (issue 13). Figures worked by hand; docs/rules.md explains them.
@Suite struct RenewalTests {
    /// CMA: 20 a membership year, at most 10 carried, a renewal due 30 days after the year ends, and
    /// no carry-over when it is late. Joined 1 March 2024; 34 in the first year.
    let cma = try! Scheme(
        code: "CMA", title: "CMA", period: .anniversary(months: 12), required: Points(20), carryOverMax: Points(10),
        renewalDueDays: 30, lateRenewal: .forfeitCarryOver)
    let firstYear = [completion("2024-04-01", "20"), completion("2024-09-01", "14")]

    func cmaStanding(on date: String, _ renewals: [Renewal]) throws -> Standing {
        try Compliance.standing(scheme: cma, joined: day("2024-03-01"), on: day(date), records: firstYear, certificates: [], renewals: renewals)
    }

    @Test func aLateRenewalForfeitsTheCarryOverWhereTheSchemeSaysSo() throws {
        // The first year ended 28 February 2025; its renewal is due 30 March 2025.
        let onTime = try cmaStanding(on: "2025-06-01", [Renewal(cycleStart: day("2024-03-01"), submitted: day("2025-03-20"))])
        #expect(onTime.carried == Points(10) && onTime.renewal?.late == false && onTime.renewal?.due == day("2025-03-30"))
        let late = try cmaStanding(on: "2025-06-01", [Renewal(cycleStart: day("2024-03-01"), submitted: day("2025-04-05"))])
        #expect(late.carried == .zero && late.renewal?.late == true && late.counted == .zero)
        // Not submitted: the carry stands until the due date passes, then it is forfeit.
        let waiting = try cmaStanding(on: "2025-03-15", [])
        #expect(waiting.carried == Points(10) && waiting.renewal?.submitted == nil && waiting.renewal?.late == false)
        #expect(try cmaStanding(on: "2025-04-01", []).carried == .zero)
        // A renewal submitted after the day asked about is not yet known on it.
        #expect(try cmaStanding(on: "2025-03-15", [Renewal(cycleStart: day("2024-03-01"), submitted: day("2025-04-05"))]).carried == Points(10))
        // A statement's carries say the same.
        let carries = try Compliance.carriesIn(
            scheme: cma, joined: day("2024-03-01"), from: day("2025-03-01"), through: day("2025-06-01"), records: firstYear, certificates: [],
            renewals: [Renewal(cycleStart: day("2024-03-01"), submitted: day("2025-04-05"))])
        #expect(carries.isEmpty)
        // The first year has nothing before it to renew.
        #expect(try cmaStanding(on: "2024-06-01", []).renewal == nil)
    }

    @Test func afterALateRenewalOnlyActivityAfterItsApprovalCounts() throws {
        // NCBTMB-like: 20 a calendar year, the renewal due 31 days after it ends (31 January), and
        // after a late one only what is dated after its approval counts in the new year. Held in
        // 2026: 8 on 10 February, 12 on 1 May.
        let scheme = try Scheme(
            code: "N", title: "N", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(20),
            renewalDueDays: 31, lateRenewal: .countAfterApproval)
        let records = [completion("2026-02-10", "8"), completion("2026-05-01", "12")]
        func earned(_ renewal: Renewal?) throws -> Points {
            try Compliance.standing(scheme: scheme, joined: day("2020-01-01"), on: day("2026-12-31"), records: records, certificates: [],
                                    renewals: renewal.map { [$0] } ?? []).earned
        }
        let year = day("2025-01-01")
        #expect(try earned(Renewal(cycleStart: year, submitted: day("2026-01-20"))) == Points(20), "on time: everything counts")
        #expect(try earned(Renewal(cycleStart: year, submitted: day("2026-03-01"), approved: day("2026-03-15"))) == Points(12))
        #expect(try earned(Renewal(cycleStart: year, submitted: day("2026-03-01"))) == .zero, "late and not yet approved: nothing")
        #expect(try earned(Renewal(cycleStart: year, submitted: day("2026-02-01"), approved: day("2026-02-10"))) == Points(12), "the approval's own day does not count")
    }

    @Test func aRenewalDueOnTheCyclesLastDayIsOnTimeThatDay() throws {
        // Due 0 days after a calendar year: renewed on 31 December, on time; on 1 January, late.
        let scheme = try Scheme(code: "S", title: "S", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(20),
                                renewalDueDays: 0, lateRenewal: .countAfterApproval)
        func late(_ submitted: String) throws -> Bool? {
            try Compliance.standing(scheme: scheme, joined: day("2020-01-01"), on: day("2026-06-01"), records: [], certificates: [],
                                    renewals: [Renewal(cycleStart: day("2025-01-01"), submitted: day(submitted))]).renewal?.late
        }
        #expect(try late("2025-12-31") == false && late("2026-01-01") == true)
    }

    @Test func whatALateRenewalLeftUncountedDoesNotCarryEither() throws {
        // 20 a calendar year, at most 10 carried, renewals due 31 days after the year, and after a
        // late one only activity after its approval counts. 2024 renewed late (1 March 2025,
        // approved 10 March): of 2025's 20 on 1 February and 15 on 1 June only the 15 count, so
        // 2025 closes short and nothing carries into 2026, although 35 were earned.
        let scheme = try Scheme(code: "S", title: "S", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(20),
                                carryOverMax: Points(10), renewalDueDays: 31, lateRenewal: .countAfterApproval)
        let records = [completion("2025-02-01", "20"), completion("2025-06-01", "15")]
        let renewals = [
            Renewal(cycleStart: day("2024-01-01"), submitted: day("2025-03-01"), approved: day("2025-03-10")),
            Renewal(cycleStart: day("2025-01-01"), submitted: day("2026-01-10"), approved: day("2026-01-12")),
        ]
        let s = try Compliance.standing(scheme: scheme, joined: day("2020-01-01"), on: day("2026-06-01"), records: records, certificates: [], renewals: renewals)
        #expect(s.carried == .zero)
        let onTime = [Renewal(cycleStart: day("2024-01-01"), submitted: day("2025-01-20"))] + renewals.dropFirst()
        #expect(try Compliance.standing(scheme: scheme, joined: day("2020-01-01"), on: day("2026-06-01"), records: records, certificates: [],
                                        renewals: onTime).carried == Points(10), "renewed on time, 35 count and 10 carry")
    }

    @Test func renewalsNeedADueDateAndCycles() {
        #expect(throws: ValidationError.self) {
            try Scheme(code: "S", title: "S", period: .anniversary(months: 12), required: Points(20), lateRenewal: .forfeitCarryOver)
        }
        #expect(throws: ValidationError.self) { try Scheme(code: "S", title: "S", period: .rolling(months: 12), required: Points(20), renewalDueDays: 30) }
        #expect(throws: ValidationError.self) { try Scheme(code: "S", title: "S", period: .anniversary(months: 12), required: Points(20), renewalDueDays: 366) }
    }
}
