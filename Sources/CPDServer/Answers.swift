import AdminProtocol
import CPDCore
import CPDStore

/// The data lines of the runner's answers, from the domain's values.
extension CommandRunner {
    static func receiptLine(_ receipt: EntryReceipt) -> String {
        ResponseLine.ok("entry=\(receipt.entry) points=\(receipt.points)")
    }

    static func courseRecord(_ course: Course, withSummary: Bool) -> Record {
        var record = Record()
        record.add("code", course.code)
        record.add("title", course.content.title)
        record.add("provider", course.provider)
        record.add("points", course.content.points.description)
        record.add("hours", course.content.hours.description)
        record.add("minutes", course.content.minutes.map(String.init))
        record.add("category", course.content.category)
        record.add("delivery", course.content.delivery.rawValue)
        record.add("modalities", course.content.modalities.joined(separator: ","))
        record.add("status", course.status.rawValue)
        record.add("version", String(course.version))
        if withSummary { record.add("summary", course.content.summary) }
        return record
    }

    static func renewalRecord(_ renewal: RenewalStore.Answer) -> Record {
        var record = Record()
        record.add("kind", "renewal")
        record.add("practitioner", renewal.practitioner)
        record.add("cycle_start", renewal.cycle.start.description)
        record.add("cycle_end", renewal.cycle.end.description)
        record.add("due", renewal.due.description)
        record.add("submitted", renewal.submitted.description)
        record.add("approved", renewal.approved?.description)
        record.add("late", renewal.late ? "yes" : "no")
        return record
    }

    static func sampleRecord(_ sample: AuditStore.Sample) -> Record {
        var record = Record()
        record.add("kind", "sample")
        record.add("sample", String(sample.id))
        record.add("scheme", sample.scheme)
        record.add("month", String(sample.month.description.prefix(7)))
        record.add("share", sample.share.description)
        record.add("moment", "\(sample.momentDay)T00:00")
        record.add("time_zone", sample.timeZone)
        record.add("announced_by", sample.announcedBy)
        record.add("state", sample.draw == nil ? "announced" : "drawn")
        if let draw = sample.draw {
            record.add("head_entry", String(draw.headEntry))
            record.add("seed", draw.seed)
            record.add("method", "key=sha256(seed:practitioner); lowest keys first; ceil(eligible*share/100) selected")
            record.add("considered", String(draw.considered))
            record.add("eligible", String(draw.eligible))
            record.add("selected", String(draw.selected))
            record.add("drawn_by", draw.drawnBy)
        }
        return record
    }

    static func drawnRecord(_ drawn: AuditStore.Drawn) -> Record {
        var record = Record()
        record.add("kind", "member")
        record.add("practitioner", drawn.practitioner)
        record.add("cycle_start", drawn.cycle.start.description)
        record.add("cycle_end", drawn.cycle.end.description)
        record.add("key", drawn.key)
        record.add("outcome", drawn.outcome)
        record.add("audit", drawn.audit.map(String.init))
        return record
    }

    static func auditRecord(_ row: AuditStore.Row) -> Record {
        let a = row.audit
        var record = Record()
        record.add("kind", "audit")
        record.add("audit", String(row.id))
        record.add("sample", String(row.sample))
        record.add("scheme", row.scheme)
        record.add("practitioner", row.practitioner)
        record.add("cycle_start", row.cycle.start.description)
        record.add("cycle_end", row.cycle.end.description)
        record.add("state", a.state.rawValue)
        record.add("due", a.due?.description)
        record.add("overdue", a.isOverdue(on: row.today) ? "yes" : "no")
        record.add("evidence", String(row.evidence))
        record.add("pending", a.pending?.ask.rawValue)
        record.add("pending_until", a.pending?.until.description)
        record.add("pending_request", row.pendingRequest.map(String.init))
        record.add("exempt_until", a.exemptUntil?.description)
        record.add("decided", a.decided?.description)
        record.add("note", a.note)
        return record
    }

    static func auditEventRecord(_ event: AuditStore.Event) -> Record {
        var record = Record()
        record.add("kind", "event")
        record.add("id", String(event.id))
        record.add("day", event.day.description)
        record.add("event", event.event)
        record.add("by", event.by)
        record.add("detail", event.detail)
        return record
    }

    static func evidenceRecord(_ evidence: AuditStore.Evidence) -> Record {
        var record = Record()
        record.add("kind", "evidence")
        record.add("sha256", evidence.sha256)
        record.add("description", evidence.description)
        record.add("submitted", evidence.submitted.description)
        record.add("by", evidence.by)
        return record
    }

    static func standingLines(_ member: LedgerStore.MemberStanding, json: Bool) -> [String] {
        let s = member.standing
        var summary = Record()
        summary.add("kind", "summary")
        summary.add("practitioner", member.practitioner.id)
        summary.add("scheme", s.scheme)
        summary.add("cycle_start", s.cycle.start.description)
        summary.add("cycle_end", s.cycle.end.description)
        summary.add("required", s.required.description)
        summary.add("earned", s.earned.description)
        summary.add("counted", s.counted.description)
        summary.add("carried", s.carried.description)
        summary.add("shortfall", s.shortfall.description)
        summary.add("status", s.status.rawValue)
        summary.add("days_left", String(s.daysLeft))
        var lines = [summary.line(json: json)]
        for rule in s.rules {
            var record = Record()
            record.add("kind", "rule")
            record.add("rule", rule.rule.description)
            record.add("value", rule.value.description)
            record.add("limit", rule.limit.description)
            record.add("met", rule.met ? "yes" : "no")
            if rule.rule.bound.isMinimum {
                if rule.gap.isPositive { record.add("missing", rule.gap.description) }
            } else if rule.gap.isPositive {
                // Over an advisory cap the points still count: they are over it, not uncounted.
                record.add(rule.rule.advisory ? "over" : "uncounted", rule.gap.description)
            }
            lines.append(record.line(json: json))
        }
        if let renewal = s.renewal {
            var record = Record()
            record.add("kind", "renewal")
            record.add("cycle_start", renewal.cycle.start.description)
            record.add("cycle_end", renewal.cycle.end.description)
            record.add("due", renewal.due.description)
            record.add("submitted", renewal.submitted?.description)
            record.add("approved", renewal.approved?.description)
            record.add("late", renewal.late ? "yes" : "no")
            lines.append(record.line(json: json))
        }
        for certificate in s.certificates {
            var record = Record()
            record.add("kind", "certificate")
            record.add("certificate", certificate.kind)
            record.add("state", certificate.state.rawValue)
            record.add("expires", certificate.expires?.description)
            lines.append(record.line(json: json))
        }
        return lines
    }

    static func statementRecord(_ line: LedgerStore.StatementLine) -> Record {
        var record = Record()
        record.add("entry", line.entry.map(String.init))
        record.add("kind", line.kind.rawValue)
        record.add("date", line.date.description)
        record.add("points", line.points.description)
        record.add("course", line.course)
        record.add("version", line.courseVersion.map(String.init))
        record.add("reverses", line.reverses.map(String.init))
        record.add("reason", line.reason)
        record.add("recorded_by", line.recordedBy)
        if !line.counts { record.add("counted", "no") }
        return record
    }

    static func schemeLines(_ scheme: Scheme, start: String?, json: Bool) -> [String] {
        var head = Record()
        head.add("kind", "scheme")
        head.add("code", scheme.code)
        head.add("title", scheme.title)
        head.add("period", scheme.period.kind)
        head.add("length", String(scheme.period.months))
        head.add("start", start)
        head.add("required", scheme.required.description)
        head.add("carry_over_max", scheme.carryOverMax?.description)
        head.add("opening", scheme.openingBalance?.description)
        head.add("pro_rata", scheme.proRataKind)
        head.add("pro_rata_rate", scheme.proRataPerMonth?.description)
        if case .hours(let minutesPerHour, let rounding) = scheme.unit {
            head.add("unit", "hours")
            head.add("minutes_per_hour", String(minutesPerHour))
            head.add("rounding", rounding.rawValue)
        }
        head.add("renewal_due_days", scheme.renewalDueDays.map(String.init))
        if scheme.lateRenewal != .none { head.add("late_renewal", scheme.lateRenewal.rawValue) }
        var lines = [head.line(json: json)]
        for rule in scheme.rules {
            var record = Record()
            record.add("kind", "rule")
            record.add("rule", rule.description)
            lines.append(record.line(json: json))
        }
        for kind in scheme.certificates {
            var record = Record()
            record.add("kind", "certificate")
            record.add("certificate", kind)
            lines.append(record.line(json: json))
        }
        return lines
    }

    /// One line per anchor, then the verdict on the chain and the anchors.
    static func verificationLines(
        _ verification: LedgerStore.Verification, _ checks: [LedgerStore.AnchorCheck], anchors: [LedgerAnchor], json: Bool
    ) -> [String] {
        let lines = checks.map { check -> String in
            var record = Record()
            record.add("anchor", check.anchor.description)
            record.add("holds", check.holds ? "yes" : "no")
            record.add("problem", check.problem)
            return record.line(json: json)
        }
        let unheld = checks.filter { !$0.holds }.map { "\($0.anchor) (\($0.problem ?? ""))" }
        switch verification {
        case .intact(let entries, let head):
            guard unheld.isEmpty else {
                return lines + [ResponseLine.err(.conflict, "\(unheld.count) of \(checks.count) anchors do not hold: \(unheld.joined(separator: "; "))")]
            }
            return lines + [ResponseLine.ok("entries=\(entries) head=\(head)" + (anchors.isEmpty ? "" : " anchors=\(anchors.count)"))]
        case .broken(let entry, let problem):
            let also = unheld.isEmpty ? "" : "; anchors that do not hold: \(unheld.joined(separator: "; "))"
            return lines + [ResponseLine.err(.conflict, "the chain breaks at entry \(entry): \(problem)\(also)")]
        }
    }

    static func principalRecord(_ grant: PrincipalStore.Grant) -> Record {
        var record = Record()
        switch grant.account {
        case .uid(let uid): record.add("uid", String(uid))
        case .user(let name): record.add("user", name)
        }
        record.add("role", grant.role.rawValue)
        record.add("provider", grant.provider)
        record.add("practitioner", grant.practitioner)
        return record
    }
}
