import Testing

@testable import CPDCore

/// An audit's life as `Audit.applying` rules it, and the sample's size, with figures worked by hand.
struct AuditTests {
    let today = Day(year: 2026, month: 11, day: 29)!
    var due: Day { today.adding(days: 30) }

    func step(_ audit: Audit, _ step: Audit.Step, on day: Day? = nil) throws -> (audit: Audit, replayed: Bool) {
        try audit.applying(step, on: day ?? today)
    }

    @Test func aSampleIsTheShareRoundedUpToWholeMembers() {
        // 20 members at 10%: 2. 21 at 10%: 2.1, so 3. 3 at 0.01%: 1. None: 0. 7 at 100%: 7.
        #expect(AuditDraw.size(of: 20, share: Points(10)) == 2)
        #expect(AuditDraw.size(of: 21, share: Points(10)) == 3)
        #expect(AuditDraw.size(of: 3, share: Points(hundredths: 1)) == 1)
        #expect(AuditDraw.size(of: 0, share: Points(50)) == 0)
        #expect(AuditDraw.size(of: 7, share: Points(100)) == 7)
        #expect(AuditDraw.size(of: 1_000_000, share: Points(hundredths: 3_333)) == 333_300)
    }

    @Test func theLowestKeysAreSelected() {
        let keyed = [("P-1", "c0"), ("P-2", "0a"), ("P-3", "ff"), ("P-4", "09")]
        #expect(AuditDraw.select(keyed.map { ($0.0, $0.1) }, share: Points(50)) == ["P-4", "P-2"])
    }

    @Test func theLifeRunsInOrderAndEachStepOnce() throws {
        var audit = Audit(state: .selected)
        // Nothing but a request while selected.
        #expect(throws: AuditRefusal.self) { try step(audit, .submit(known: false)) }
        #expect(throws: AuditRefusal.self) { try step(audit, .review) }
        #expect(throws: AuditRefusal.self) { try step(audit, .decide(passed: true, note: "n")) }
        #expect(throws: AuditRefusal(.invalid, "due 2026-11-28 is before today (2026-11-29)")) { try step(audit, .request(due: today.adding(days: -1))) }
        audit = try step(audit, .request(due: due)).audit
        #expect(audit.state == .requested && audit.due == due)
        #expect(try step(audit, .request(due: due)).replayed)
        #expect(throws: AuditRefusal.self) { try step(audit, .request(due: due.adding(days: 1))) }
        audit = try step(audit, .submit(known: false)).audit
        #expect(audit.state == .submitted)
        #expect(try step(audit, .submit(known: true)).replayed)
        audit = try step(audit, .submit(known: false)).audit  // a second file
        #expect(throws: AuditRefusal.self) { try step(audit, .decide(passed: true, note: "n")) }
        audit = try step(audit, .review).audit
        #expect(try step(audit, .review).replayed)
        #expect(throws: AuditRefusal.self) { try step(audit, .submit(known: false)) }
        audit = try step(audit, .decide(passed: true, note: "Certificates match")).audit
        #expect(audit.state == .passed && audit.decided == today && audit.note == "Certificates match")
        #expect(try step(audit, .decide(passed: true, note: "again")).replayed)
        #expect(throws: AuditRefusal.self) { try step(audit, .decide(passed: false, note: "n")) }
        #expect(throws: AuditRefusal.self) { try step(audit, .ask(.exemption, until: due, reason: "r")) }
    }

    @Test func anAuditFailsWithoutEvidenceOnlyOnceOverdue() throws {
        let requested = try step(Audit(state: .selected), .request(due: today)).audit
        #expect(!requested.isOverdue(on: today) && requested.isOverdue(on: today.adding(days: 1)))
        #expect(throws: AuditRefusal.self) { try step(requested, .decide(passed: false, note: "n")) }
        let tomorrow = today.adding(days: 1)
        #expect(throws: AuditRefusal.self) { try step(requested, .decide(passed: true, note: "n"), on: tomorrow) }
        #expect(try step(requested, .decide(passed: false, note: "No evidence"), on: tomorrow).audit.state == .failed)
    }

    @Test func extensionsMoveTheDueDateAndExemptionsCloseTheAudit() throws {
        let requested = try step(Audit(state: .selected), .request(due: due)).audit
        #expect(throws: AuditRefusal.self) { try step(requested, .ask(.extension, until: due, reason: "r")) }  // not later
        #expect(throws: AuditRefusal.self) { try step(Audit(state: .selected), .ask(.extension, until: due, reason: "r")) }
        let later = due.adding(days: 14)
        let asked = try step(requested, .ask(.extension, until: later, reason: "Away")).audit
        #expect(try step(asked, .ask(.extension, until: later, reason: "Away")).replayed)
        #expect(throws: AuditRefusal.self) { try step(asked, .ask(.exemption, until: later, reason: "Leave")) }  // one at a time
        #expect(throws: AuditRefusal.self) { try step(asked, .answer(.exemption, granted: true, note: nil)) }  // not that kind
        let refused = try step(asked, .answer(.extension, granted: false, note: nil)).audit
        #expect(refused.due == due && refused.pending == nil && refused.lastAnswer == "extension:refused")
        #expect(try step(refused, .answer(.extension, granted: false, note: nil)).replayed)
        let granted = try step(asked, .answer(.extension, granted: true, note: nil)).audit
        #expect(granted.due == later && granted.state == .requested)

        let exemption = try step(granted, .ask(.exemption, until: today.adding(days: 200), reason: "Parental leave")).audit
        let exempt = try step(exemption, .answer(.exemption, granted: true, note: nil)).audit
        #expect(exempt.state == .exempt && exempt.exemptFrom == today && exempt.exemptUntil == today.adding(days: 200) && exempt.note == "Parental leave")
        #expect(throws: AuditRefusal.self) { try step(exempt, .submit(known: false)) }
        #expect(throws: AuditRefusal.self) { try step(exempt, .ask(.exemption, until: due, reason: "r")) }
        #expect(throws: AuditRefusal.self) { try step(Audit(state: .selected), .ask(.exemption, until: today.adding(days: -1), reason: "r")) }
    }
}
