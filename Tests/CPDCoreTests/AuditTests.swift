import Testing

@testable import CPDCore

/// An audit's life as `Audit.applying` rules it, and the sample's size, with figures worked by hand.
struct AuditTests {
    static let today = Day(year: 2026, month: 11, day: 29)!
    static var due: Day { today.adding(days: 30) }

    /// An audit and its history, as the store keeps them: a step applied leaves its event.
    struct Life {
        var audit = Audit(state: .selected)
        var history: [AuditEvent] = []
        var files: Set<String> = []
        /// The request waiting, as the audit shows it (`pending_request`).
        var waiting: Int64 { Audit.pendingRequest(in: history) ?? 0 }

        /// Applies `step` (on `day`, today by default) and returns whether it was a replay.
        @discardableResult
        mutating func step(_ step: Audit.Step, on day: Day = AuditTests.today) throws(AuditRefusal) -> Bool {
            let (next, replayed) = try audit.applying(step, on: day, history: history)
            if !replayed {
                var event = audit.answerEvent(step)
                event.id = Int64(history.count + 1)
                audit = next
                history.append(event)
            }
            return replayed
        }

        mutating func submit(_ file: String) throws(AuditRefusal) -> Bool {
            let replayed = try step(.submit(sha256: file, description: "evidence", known: files.contains(file)))
            files.insert(file)
            return replayed
        }
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
        var life = Life()
        let due = Self.due
        // Nothing but a request while selected.
        #expect(throws: AuditRefusal.self) { var l = life; _ = try l.submit("a") }
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.review(note: nil)) }
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: true, note: "n")) }
        #expect(throws: AuditRefusal(.invalid, "due 2026-11-28 is before today (2026-11-29)")) { var l = life; try l.step(.request(due: Self.today.adding(days: -1))) }
        #expect(try !life.step(.request(due: due)))
        #expect(life.audit.state == .requested && life.audit.due == due)
        #expect(try life.step(.request(due: due)), "the same request again")
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.request(due: due.adding(days: 1))) }
        #expect(try !life.submit("a") && life.audit.state == .submitted)
        #expect(try life.submit("a"), "the same file again")
        #expect(try !life.submit("b"), "a second file")
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: true, note: "n")) }
        #expect(try !life.step(.review(note: "seen")))
        #expect(try life.step(.review(note: "seen")))
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.review(note: "another note")) }
        #expect(throws: AuditRefusal.self) { var l = life; _ = try l.submit("c") }
        #expect(try life.submit("a"), "a file supplied before is still a replay")
        #expect(try !life.step(.decide(passed: true, note: "Certificates match")))
        #expect(life.audit.state == .passed && life.audit.decided == Self.today && life.audit.note == "Certificates match")
        #expect(try life.step(.decide(passed: true, note: "Certificates match")))
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: true, note: "another note")) }
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: false, note: "n")) }
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.ask(.exemption, until: due, reason: "r")) }
        // Steps done before are replays still: the request, the review.
        #expect(try life.step(.request(due: due)) && life.step(.review(note: "seen")))
    }

    @Test func anAuditFailsWithoutEvidenceOnlyOnceOverdue() throws {
        var life = Life()
        try life.step(.request(due: Self.today))
        #expect(!life.audit.isOverdue(on: Self.today) && life.audit.isOverdue(on: Self.today.adding(days: 1)))
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: false, note: "n")) }
        let tomorrow = Self.today.adding(days: 1)
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.decide(passed: true, note: "n"), on: tomorrow) }
        try life.step(.decide(passed: false, note: "No evidence"), on: tomorrow)
        #expect(life.audit.state == .failed)
    }

    @Test func extensionsMoveTheDueDateAndExemptionsCloseTheAudit() throws {
        let due = Self.due, later = due.adding(days: 14)
        #expect(throws: AuditRefusal.self) { var l = Life(); try l.step(.ask(.extension, until: later, reason: "r")) }  // nothing requested
        var life = Life()
        try life.step(.request(due: due))
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.ask(.extension, until: due, reason: "r")) }  // not later
        try life.step(.ask(.extension, until: later, reason: "Away"))
        let first = life.waiting
        #expect(try life.step(.ask(.extension, until: later, reason: "Away")))
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.ask(.exemption, until: later, reason: "Leave")) }  // one at a time
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.answer(request: first + 1, granted: true, note: nil)) }  // not that request

        var refused = life
        try refused.step(.answer(request: first, granted: false, note: nil))
        #expect(refused.audit.due == due && refused.audit.pending == nil)
        #expect(try refused.step(.answer(request: first, granted: false, note: nil)))
        #expect(throws: AuditRefusal(.conflict, "request \(first) was refused already")) { var l = refused; try l.step(.answer(request: first, granted: true, note: nil)) }
        #expect(try refused.step(.ask(.extension, until: later, reason: "Away")), "asked and answered: the same ask again is a replay")
        #expect(refused.audit.pending == nil)
        // Asked again with another reason, it is a new request, answered on its own.
        try refused.step(.ask(.extension, until: later, reason: "Away, with a letter"))
        let second = refused.waiting
        #expect(second != first && refused.audit.pending != nil)
        #expect(try refused.step(.answer(request: first, granted: false, note: nil)), "the first answer again is a replay, not an answer to the second")
        #expect(refused.audit.pending != nil)
        try refused.step(.answer(request: second, granted: false, note: nil))
        #expect(refused.audit.pending == nil && refused.history.last?.event == "extension_refused")

        try life.step(.answer(request: first, granted: true, note: nil))
        #expect(life.audit.due == later && life.audit.state == .requested && life.history.last?.event == "extension_granted")
        #expect(try life.step(.request(due: due)), "the first request, sent again after the extension")
        // A second extension, granted too; the first answer sent again is still a replay.
        let latest = later.adding(days: 7)
        try life.step(.ask(.extension, until: latest, reason: "Still away"))
        let third = life.waiting
        #expect(try life.step(.answer(request: first, granted: true, note: nil)))
        #expect(life.audit.pending?.until == latest)
        try life.step(.answer(request: third, granted: true, note: nil))
        #expect(life.audit.due == latest)

        let until = Self.today.adding(days: 200)
        try life.step(.ask(.exemption, until: until, reason: "Parental leave"))
        try life.step(.answer(request: life.waiting, granted: true, note: nil))
        #expect(life.audit.state == .exempt && life.audit.exemptFrom == Self.today && life.audit.exemptUntil == until && life.audit.note == "Parental leave")
        #expect(life.history.last?.event == "exemption_granted")
        #expect(throws: AuditRefusal.self) { var l = life; _ = try l.submit("x") }
        #expect(throws: AuditRefusal.self) { var l = life; try l.step(.ask(.exemption, until: due, reason: "r")) }
        #expect(throws: AuditRefusal.self) { var l = Life(); try l.step(.ask(.exemption, until: Self.today.adding(days: -1), reason: "r")) }
    }
}
