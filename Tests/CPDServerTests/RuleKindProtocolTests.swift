import AdminClient
import CPDCore
import Foundation
import Testing
import TestSupport

/// The rule kinds of issue 13 end to end: `scheme.rule` over the socket, `scheme.show`, and the
/// `points` answer they shape, against a real database.
@Suite(.serialized) struct RuleKindProtocolTests {
    @Test func rulesOnEachModeOnACellAndAdvisoryOnesWorkOverTheSocket() async throws {
        try await CPDServerTests.withRegistry(label: "rulekinds") { path, _ in
            let c = try AdminClient(socketPath: path)
            func ok(_ line: String, _ expected: String = "OK") throws -> [String] { try answered(c, line, expected) }
            func refused(_ line: String) throws -> String? { try c.request(line).errorCode }
            for line in [
                "provider.add code=P name=P",
                "course.add provider=P code=C-ON title=Online points=8 hours=8 category=clinical delivery=online",
                "course.add provider=P code=C-IN title=Hands points=8 hours=8 category=clinical delivery=in_person",
                "course.add provider=P code=C-ETH title=Ethics points=3 hours=3 category=ethics delivery=webinar",
            ] { _ = try c.request(line) }
            for code in ["C-ON", "C-IN", "C-ETH"] { _ = try ok("course.publish code=\(code)", "OK published") }
            _ = try ok("scheme.add code=CNHC title=CNHC period=fixed length=12 start=01-01 required=15")
            _ = try ok("scheme.rule scheme=CNHC delivery=* max_share=33.33")
            _ = try ok("scheme.rule scheme=CNHC category=ethics min_share=80 advisory=yes")
            _ = try ok("scheme.rule scheme=CNHC category=clinical delivery=in_person min=2")
            _ = try ok("scheme.rule scheme=CNHC delivery=webinar max=1 advisory=yes")
            // Refused, each changing nothing: a minimum on each category, * beside the other target,
            // a second cap on each mode, neither target, an advisory that is not yes or no.
            #expect(try refused("scheme.rule scheme=CNHC category=* min=1") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=CNHC category=* delivery=online max=1") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=CNHC delivery=* max=3") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=CNHC max=3") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=CNHC category=self_care max=3 advisory=maybe") == "invalid_argument")
            #expect(try ok("scheme.show code=CNHC").dropFirst() == [
                #"kind=rule rule="delivery=* max_share=33.33""#,
                #"kind=rule rule="category=ethics min_share=80 advisory=yes""#,
                #"kind=rule rule="category=clinical delivery=in_person min=2""#,
                #"kind=rule rule="delivery=webinar max=1 advisory=yes""#,
            ])

            _ = try ok("practitioner.add id=P-1 name=Pat scheme=CNHC joined=2020-01-01")
            _ = try ok("completion.record practitioner=P-1 course=C-ON completed=2026-02-01 key=k1", "OK entry=1 points=8.00")
            _ = try ok("completion.record practitioner=P-1 course=C-IN completed=2026-03-01 key=k2", "OK entry=2 points=8.00")
            _ = try ok("completion.record practitioner=P-1 course=C-ETH completed=2026-04-01 key=k3", "OK entry=3 points=3.00")
            // 19 earned. A third of 15 is 4.99 per mode: 4.99 online + 4.99 in person + 3 by webinar =
            // 12.98 counted, 2.02 short. The advisory minimum on ethics (12 of 15) is 9 short, and the
            // advisory cap on webinars is exceeded by 2, but neither changes the shortfall or the count.
            #expect(try ok("points practitioner=P-1 on=2026-12-31") == [
                "kind=summary practitioner=P-1 scheme=CNHC cycle_start=2026-01-01 cycle_end=2026-12-31 required=15.00 earned=19.00 counted=12.98 carried=0.00 shortfall=2.02 status=non_compliant days_left=0",
                #"kind=rule rule="delivery=* max_share=33.33" value=8.00 limit=4.99 met=yes uncounted=6.02"#,
                #"kind=rule rule="category=ethics min_share=80 advisory=yes" value=3.00 limit=12.00 met=no missing=9.00"#,
                #"kind=rule rule="category=clinical delivery=in_person min=2" value=8.00 limit=2.00 met=yes"#,
                #"kind=rule rule="delivery=webinar max=1 advisory=yes" value=3.00 limit=1.00 met=no over=2.00"#,
            ])

            // A first, partial cycle pro-rated at 2 points per month or part of a month.
            _ = try ok("scheme.add code=RATE title=Rate period=fixed length=12 start=01-01 required=20 pro_rata=per_month pro_rata_rate=2")
            #expect(try ok("scheme.show code=RATE") == [
                #"kind=scheme code=RATE title=Rate period=fixed length=12 start=01-01 required=20.00 pro_rata=per_month pro_rata_rate=2.00"#,
            ])
            #expect(try refused("scheme.add code=RATE2 title=R period=fixed length=12 start=01-01 required=20 pro_rata=per_month") == "invalid_argument")
            #expect(try refused("scheme.add code=RATE2 title=R period=fixed length=12 start=01-01 required=20 pro_rata=monthly pro_rata_rate=2") == "invalid_argument")
            #expect(try refused("scheme.add code=RATE2 title=R period=rolling length=12 required=20 pro_rata=per_month pro_rata_rate=2") == "invalid_argument")
            _ = try ok("practitioner.add id=P-2 name=Sam scheme=RATE joined=2026-09-10")
            #expect(try ok("points practitioner=P-2 on=2026-12-31").first?.contains(" required=8.00 ") == true, "September to December: 4 months, 8 points")

            // Half from courses in the member's accredited modalities: a remedial therapist's Bowen
            // course counts toward the total, not toward the half.
            for line in [
                "course.add provider=P code=C-REM title=Remedial points=6 hours=6 category=clinical delivery=in_person modalities=remedial,myotherapy",
                "course.add provider=P code=C-BOW title=Bowen points=10 hours=10 category=clinical delivery=in_person modalities=bowen",
            ] { _ = try c.request(line) }
            for code in ["C-REM", "C-BOW"] { _ = try ok("course.publish code=\(code)", "OK published") }
            _ = try ok("scheme.add code=ANTA title=ANTA period=fixed length=12 start=01-01 required=20")
            _ = try ok("scheme.rule scheme=ANTA modality=accredited min_share=50")
            #expect(try refused("scheme.rule scheme=ANTA modality=accredited max=5") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=ANTA modality=bowen min=5") == "invalid_argument")
            #expect(try refused("scheme.rule scheme=ANTA modality=accredited category=clinical min=5") == "invalid_argument")
            _ = try ok("practitioner.add id=P-3 name=Rem scheme=ANTA joined=2020-01-01 modalities=remedial")
            _ = try ok("completion.record practitioner=P-3 course=C-REM completed=2026-02-01 key=k4", "OK entry=4 points=6.00")
            _ = try ok("completion.record practitioner=P-3 course=C-BOW completed=2026-03-01 key=k5", "OK entry=5 points=10.00")
            #expect(try ok("points practitioner=P-3 on=2026-06-30").dropFirst() == [
                #"kind=rule rule="modality=accredited min_share=50" value=6.00 limit=10.00 met=no missing=4.00"#,
            ])

            // Hours from minutes: NCBTMB counts 50-minute hours, whole and half. A 125-minute course
            // is 2.5 of its hours, recorded as such; the same course is 2 points under a points scheme.
            _ = try ok("course.add provider=P code=C-MIN title=Minutes points=2 hours=2 minutes=125 category=ethics delivery=webinar", "OK course C-MIN version 1 (draft)")
            _ = try ok("course.add provider=P code=C-SHORT title=Short points=1 hours=0.5 minutes=20 category=ethics delivery=webinar", "OK course C-SHORT version 1 (draft)")
            for code in ["C-MIN", "C-SHORT"] { _ = try ok("course.publish code=\(code)", "OK published") }
            #expect(try ok("course.show code=C-MIN").first?.contains(" hours=2.00 minutes=125 ") == true)
            _ = try ok("scheme.add code=NCBTMB title=NCBTMB period=fixed length=24 start=2025-01-01 required=24 unit=hours minutes_per_hour=50 rounding=half")
            #expect(try ok("scheme.show code=NCBTMB").first == "kind=scheme code=NCBTMB title=NCBTMB period=fixed length=24 start=2025-01-01 required=24.00 pro_rata=none unit=hours minutes_per_hour=50 rounding=half")
            #expect(try refused("scheme.add code=X1 title=X period=rolling length=12 required=5 unit=hours rounding=quarter") == "invalid_argument")
            #expect(try refused("scheme.add code=X1 title=X period=rolling length=12 required=5 minutes_per_hour=50") == "invalid_argument")
            #expect(try refused("scheme.add code=X1 title=X period=rolling length=12 required=5 unit=days") == "invalid_argument")
            #expect(try refused("course.add provider=P code=C-BAD title=B points=1 hours=1 minutes=0 category=ethics delivery=webinar") == "invalid_argument")
            _ = try ok("practitioner.add id=P-4 name=Nat scheme=NCBTMB joined=2020-01-01")
            _ = try ok("completion.record practitioner=P-4 course=C-MIN completed=2026-02-01 key=k6", "OK entry=6 points=2.50")
            _ = try ok("completion.record practitioner=P-1 course=C-MIN completed=2026-02-01 key=k7", "OK entry=7 points=2.00")
            // 20 minutes are no half hour of 50 minutes: refused, and nothing is written.
            #expect(try c.request("completion.record practitioner=P-4 course=C-SHORT completed=2026-02-01 key=k8").final
                == "ERR invalid_argument course: C-SHORT is worth no credit in the hours of P-4's scheme (20 minutes)")
            #expect(try ok("statement practitioner=P-4", "OK 1 entries").first?.contains(" points=2.50 course=C-MIN version=1 ") == true)
            // The worth was computed once: after the course changes, the same request again is
            // answered with what was recorded. minutes=none makes a version whose hours count.
            _ = try ok("course.update code=C-MIN minutes=250", "OK version=2")
            _ = try ok("completion.record practitioner=P-4 course=C-MIN completed=2026-02-01 key=k6", "OK entry=6 points=2.50")
            _ = try ok("course.update code=C-MIN minutes=none hours=3", "OK version=3")
            #expect(try ok("course.show code=C-MIN").first?.contains(" minutes=") == false)
            _ = try ok("completion.record practitioner=P-4 course=C-MIN completed=2026-02-02 key=k9", "OK entry=8 points=3.00")
        }
    }
}

/// Renewals over the socket: submitted and approved once each, late or on time by the real today,
/// and their place in `points`.
@Suite(.serialized) struct RenewalProtocolTests {
    @Test func renewalsAreSubmittedAndApprovedOnceAndALateOneCostsTheCarryOver() async throws {
        // Dates from today (the registry's time zone may differ from UTC by a day: margins of days).
        let today = try todayUTC()
        // P-R1's first membership year ended 10 days ago: its renewal, due in 30 days, is on time.
        let recent = try today.adding(days: -9).adding(months: -12)
        // P-R2's ended about two years ago: its renewal is late whenever it comes now.
        let old = try today.adding(months: -30)
        try await CPDServerTests.withRegistry(label: "renewals") { path, _ in
            let c = try AdminClient(socketPath: path)
            func ok(_ line: String, _ expected: String = "OK") throws -> [String] { try answered(c, line, expected) }
            for line in [
                "provider.add code=P name=P", "course.add provider=P code=BIG title=Big points=30 hours=30 category=clinical delivery=in_person",
                "course.publish code=BIG",
                "scheme.add code=CMA title=CMA period=anniversary length=12 required=20 carry_over_max=10 renewal_due_days=30 late_renewal=forfeit_carry_over",
                "scheme.add code=PLAIN title=Plain period=anniversary length=12 required=20",
                "practitioner.add id=P-R1 name=Ren scheme=CMA joined=\(recent)", "practitioner.add id=P-R2 name=Old scheme=CMA joined=\(old)",
                "practitioner.add id=P-R3 name=None scheme=PLAIN joined=\(old)",
                "completion.record practitioner=P-R1 course=BIG completed=\(recent.adding(days: 5)) key=r1",
                "completion.record practitioner=P-R2 course=BIG completed=\(old.adding(days: 5)) key=r2",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            #expect(try ok("scheme.show code=CMA").first?.hasSuffix(" renewal_due_days=30 late_renewal=forfeit_carry_over") == true)

            // Before anything is submitted, P-R1's due date is still ahead: 10 carry in (30 earned, 20 required).
            let waiting = try ok("points practitioner=P-R1")
            #expect(waiting.first?.contains(" carried=10.00 ") == true, "\(waiting)")
            let recentEnd = try recent.adding(months: 12).adding(days: -1)
            #expect(waiting.contains("kind=renewal cycle_start=\(recent) cycle_end=\(recentEnd) due=\(recentEnd.adding(days: 30)) late=no"), "\(waiting)")

            // Submitted on time, once; approved, once.
            let submitted = try ok("renewal.submit practitioner=P-R1", "OK submitted")
            // Submitted today (the server's today, which a run across midnight may see as the next day).
            #expect(submitted.count == 1 && submitted[0].hasPrefix(
                "kind=renewal practitioner=P-R1 cycle_start=\(recent) cycle_end=\(recentEnd) due=\(recentEnd.adding(days: 30)) submitted=")
                && submitted[0].hasSuffix(" late=no"), "\(submitted)")
            _ = try ok("renewal.submit practitioner=P-R1", "OK already submitted")
            #expect(try ok("renewal.approve practitioner=P-R1", "OK approved").first?.contains(" approved=") == true)
            _ = try ok("renewal.approve practitioner=P-R1", "OK already approved")
            #expect(try ok("points practitioner=P-R1").first?.contains(" carried=10.00 ") == true)

            // P-R2's first year: as of 3 days into the second, its renewal is not yet due and 10 carry;
            // as of 40 days in, it is overdue and nothing carries. Renewed now, two years late, it
            // stays late.
            let secondYear = try old.adding(months: 12)
            #expect(try ok("points practitioner=P-R2 on=\(secondYear.adding(days: 3))").first?.contains(" carried=10.00 ") == true)
            #expect(try ok("points practitioner=P-R2 on=\(secondYear.adding(days: 40))").first?.contains(" carried=0.00 ") == true)
            #expect(try ok("renewal.submit practitioner=P-R2 cycle=\(old.adding(days: 1))", "OK submitted").first?.hasSuffix(" late=yes") == true)
            let lateStanding = try ok("points practitioner=P-R2 on=\(secondYear.adding(days: 40))")
            #expect(lateStanding.first?.contains(" carried=0.00 ") == true && lateStanding.contains { $0.hasSuffix(" late=yes") }, "\(lateStanding)")

            // Refused, changing nothing: a scheme with no renewals, a cycle not yet closed, an
            // approval with nothing submitted.
            #expect(try c.request("renewal.submit practitioner=P-R3").errorCode == "invalid_argument")
            #expect(try c.request("renewal.submit practitioner=P-R1 cycle=\(today)").errorCode == "invalid_argument")
            #expect(try c.request("renewal.approve practitioner=P-R2 cycle=\(try old.adding(months: 13))").errorCode == "not_found")
            #expect(try c.request("renewal.submit").errorCode == "invalid_argument", "an admin names the practitioner")
        }
    }
}

extension RenewalProtocolTests {
    /// The nightly report lists each renewal of a last closed cycle not yet approved: due, overdue,
    /// or awaiting approval; an approved one is not listed.
    @Test func theReportListsRenewalsDueOverdueAndAwaitingApproval() async throws {
        let today = try todayUTC()
        let recent = try today.adding(days: -9).adding(months: -12)  // its first year closed 10 days ago
        let old = try today.adding(days: -70).adding(months: -12)  // closed 71 days ago, due 41 days ago
        try await CPDServerTests.withRegistry(label: "renewal-report") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in [
                "scheme.add code=CMA title=CMA period=anniversary length=12 required=20 renewal_due_days=30",
                "practitioner.add id=P-A name=Approved scheme=CMA joined=\(recent)", "practitioner.add id=P-B name=Waiting scheme=CMA joined=\(recent)",
                "practitioner.add id=P-C name=Due scheme=CMA joined=\(recent)", "practitioner.add id=P-D name=Overdue scheme=CMA joined=\(old)",
                "renewal.submit practitioner=P-A", "renewal.approve practitioner=P-A", "renewal.submit practitioner=P-B",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            let response = try c.request("report.nightly")
            let rows = response.data.filter { $0.hasPrefix("section=renewals ") }
            let states = rows.map { row in
                row.split(separator: " ").filter { $0.hasPrefix("practitioner=") || $0.hasPrefix("state=") || $0.hasPrefix("late=") }.joined(separator: " ")
            }
            #expect(states == [
                "practitioner=P-B state=awaiting_approval late=no", "practitioner=P-C state=due late=no", "practitioner=P-D state=overdue late=yes",
            ], "\(response.data)")
            // On the last day of a member's current cycle, with the cycle before it not yet renewed, a
            // renewal with no cycle= is of the cycle before; once that one is done, of the current one.
            let lastDay = try today.adding(days: 1).adding(months: -24)
            #expect(try c.request("practitioner.add id=P-E name=Edge scheme=CMA joined=\(lastDay)").isOK)
            let second = try lastDay.adding(months: 12)
            #expect(try c.request("renewal.submit practitioner=P-E").data.first?.contains(" cycle_start=\(lastDay) ") == true)
            #expect(try c.request("renewal.submit practitioner=P-E").data.first?.contains(" cycle_start=\(second) ") == true)
            #expect(try c.request("renewal.approve practitioner=P-E").data.first?.contains(" cycle_start=\(lastDay) ") == true)
            #expect(try c.request("renewal.approve practitioner=P-E").data.first?.contains(" cycle_start=\(second) ") == true)
            // As a registry admin runs it: cpdctl's one-shot form.
            let (status, said) = try ChildProcess.run([Checkout.product("cpdctl"), "renewal", "approve", "--practitioner", "P-B", "--socket", path])
            #expect(status == 0 && said.hasSuffix("OK approved\n"), "\(said)")
        }
    }
}

/// The data lines of the answer to `line`, its final line checked against `expected`.
private func answered(_ c: AdminClient, _ line: String, _ expected: String) throws -> [String] {
    let response = try c.request(line)
    #expect(response.final == expected, "\(line)")
    return response.data
}

extension RenewalProtocolTests {
    /// Under `late_renewal=count_after_approval`, `statement` marks `counted=no` on the entries a
    /// late renewal leaves uncounted, so that a cycle's counted lines are what `points` counts.
    @Test func theStatementMarksWhatALateRenewalLeavesUncounted() async throws {
        let year = try todayUTC().year
        try await CPDServerTests.withRegistry(label: "renewal-statement") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in [
                "provider.add code=P name=P", "course.add provider=P code=C6 title=Six points=6 hours=6 category=ethics delivery=online",
                "course.publish code=C6",
                "scheme.add code=NCB title=N period=fixed length=12 start=01-01 required=24 renewal_due_days=0 late_renewal=count_after_approval",
                "practitioner.add id=P-N name=N scheme=NCB joined=\(year - 2)-01-01",
                "completion.record practitioner=P-N course=C6 completed=\(year - 2)-03-01 key=n1",
                "completion.record practitioner=P-N course=C6 completed=\(year - 1)-02-10 key=n2",
                "completion.record practitioner=P-N course=C6 completed=\(year - 1)-05-01 key=n3",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            // The cycle of year - 2 was never renewed: late, and unapproved, so nothing of year - 1
            // counts; the entry of year - 2, the member's first cycle, does.
            let lines = try c.request("statement practitioner=P-N").data
            let counted = lines.map { !$0.contains(" counted=no") }
            #expect(counted == [true, false, false], "\(lines)")
            #expect(try c.request("points practitioner=P-N on=\(year - 1)-12-31").data.first?.contains(" earned=0.00 ") == true)
            // Renewed and approved today, still late: every entry of year - 1 is before the approval.
            #expect(try c.request("renewal.submit practitioner=P-N cycle=\(year - 2)-06-01").isOK)
            #expect(try c.request("renewal.approve practitioner=P-N cycle=\(year - 2)-06-01").isOK)
            #expect(try c.request("statement practitioner=P-N").data.map { !$0.contains(" counted=no") } == [true, false, false])
        }
    }

    /// A renewal due after the next cycle has closed: at that cycle's close it was not late yet, so
    /// its standing counted the cycle's entries, and the statement does not mark them.
    @Test func aPastCyclesEntriesAreMarkedAsItsStandingAtItsCloseCountedThem() async throws {
        let year = try todayUTC().year
        try await CPDServerTests.withRegistry(label: "renewal-statement-close") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in [
                "provider.add code=P name=P", "course.add provider=P code=C8 title=Eight points=8 hours=8 category=ethics delivery=online",
                "course.publish code=C8",
                "scheme.add code=Q title=Q period=fixed length=3 start=01-01 required=5 renewal_due_days=120 late_renewal=count_after_approval",
                "practitioner.add id=P-Q name=Q scheme=Q joined=\(year - 2)-01-01",
                "completion.record practitioner=P-Q course=C8 completed=\(year - 2)-05-10 key=q1",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            // The renewal of January to March is due on 29 July, after April to June has closed; it was
            // never made, so it is late today, but was not at 30 June.
            #expect(try c.request("points practitioner=P-Q on=\(year - 2)-06-30").data.first?.contains(" earned=8.00 ") == true)
            let lines = try c.request("statement practitioner=P-Q").data
            #expect(lines.count == 1 && !lines[0].contains("counted=no"), "\(lines)")
        }
    }

    /// The same for what a late renewal forfeits: a carry a past cycle's standing counted at its
    /// close is on the statement, though the renewal is late today.
    @Test func aPastCyclesCarryIsOnTheStatementAsItsStandingAtItsCloseHadIt() async throws {
        let year = try todayUTC().year
        try await CPDServerTests.withRegistry(label: "renewal-carry-close") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in [
                "provider.add code=P name=P", "course.add provider=P code=C12 title=Twelve points=12 hours=12 category=ethics delivery=online",
                "course.publish code=C12",
                "scheme.add code=Q title=Q period=fixed length=3 start=01-01 required=5 carry_over_max=10 renewal_due_days=120 late_renewal=forfeit_carry_over",
                "practitioner.add id=P-Q name=Q scheme=Q joined=\(year - 2)-01-01",
                "completion.record practitioner=P-Q course=C12 completed=\(year - 2)-02-10 key=q1",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            // 12 of 5 in January to March: 7 carry into April, the renewal due on 29 July not late at 30 June.
            #expect(try c.request("points practitioner=P-Q on=\(year - 2)-06-30").data.first?.contains(" carried=7.00 ") == true)
            let lines = try c.request("statement practitioner=P-Q from=\(year - 2)-04-01").data
            #expect(lines == ["kind=carry_over date=\(year - 2)-04-01 points=7.00 reason=\"carried from the cycle \(year - 2)-01-01 to \(year - 2)-03-31\""], "\(lines)")
        }
    }
}
