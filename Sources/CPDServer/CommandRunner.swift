import AdminProtocol
import CPDCore
import CPDStore
import Logging

/// Answers the commands that need the registry's data, through the store's front end
/// (`RegistryStore`): one handler per command, an exhaustive switch, and every refusal typed
/// (`CommandError`) until `CommandError.line` writes it. Nothing is written when one is answered.
public struct CommandRunner: Sendable {
    let store: RegistryStore
    let logger: Logger
    let rejections: RejectionLog

    public init(store: RegistryStore, logger: Logger = Logger(label: "cpd.commands")) {
        self.store = store
        self.logger = logger
        self.rejections = RejectionLog(store: store, logger: logger)
    }

    /// Notes a refusal made before the runner (a role or argument error found by the session, or
    /// a principal that changed), when it refuses a write.
    func noteRefusal(_ refusal: Session.Refusal, by principal: Principal) {
        guard let definition = CommandTable.byName[refusal.command] else { return }
        rejections.note(definition, refusal.error, principal: principal.name)
    }

    /// The lines for `error`, noted as a rejected write when `definition` writes.
    func refusal(_ error: CommandError, _ definition: CommandDefinition, by who: Principal) -> [String] {
        rejections.note(definition, error, principal: who.name)
        return [error.line]
    }

    /// A `completion.record`, for the group-commit batcher, and whether the sender asked for `explain`.
    func completion(_ command: StoreCommand, as who: Principal) -> (LedgerStore.CompletionRequest, explain: Bool)? {
        guard case .completionRecord(let practitioner, let course, let completed, let key, let explain) = command else { return nil }
        return (LedgerStore.CompletionRequest(practitioner: practitioner, course: course, completed: completed, key: key, by: who.recorder), explain)
    }

    /// Queues a completion for group commit now, in the caller's order; returns its promise.
    func enqueue(_ completion: LedgerStore.CompletionRequest) -> CompletionPromise { store.enqueue(completion) }

    /// The answer to a recorded (or refused) completion.
    func answer(_ outcome: CompletionBatcher.Outcome, explain: Bool, json: Bool, by who: Principal) -> [String] {
        switch outcome {
        case .success(let receipt):
            guard explain else { return [Self.receiptLine(receipt)] }
            var record = Record()
            record.add("replayed", receipt.replayed ? "yes" : "no")
            return [record.line(json: json), Self.receiptLine(receipt)]
        case .failure(let error):
            return refusal(CommandError(error), CommandTable.completionRecord, by: who)
        }
    }

    public func run(_ command: StoreCommand, _ definition: CommandDefinition, as principal: Principal, json: Bool) async -> [String] {
        do {
            return try await handle(command, as: principal, json: json)
        } catch {
            return refusal(CommandError(error, in: definition.name), definition, by: principal)
        }
    }

    // MARK: - Handlers

    func handle(_ command: StoreCommand, as who: Principal, json: Bool) async throws -> [String] {
        let acting = who.role == .provider ? who.provider : nil
        switch command {
        case .providerAdd(let provider):
            try await store.addProvider(provider)
            return [ResponseLine.ok()]

        case .courseAdd(let code, let provider, let content):
            try await store.addCourse(code: code, provider: provider, content: content, by: who.name, actingProvider: acting)
            return [ResponseLine.ok("course \(code) version 1 (draft)")]

        case .courseUpdate(let code, let changes):
            let version = try await store.updateCourse(code: code, changes: changes, by: who.name, actingProvider: acting)
            return [ResponseLine.ok("version=\(version)")]

        case .courseSetStatus(let code, let status):
            try await store.setCourseStatus(code: code, to: status, by: who.name, actingProvider: acting)
            return [ResponseLine.ok(status.rawValue)]

        case .courseShow(let code):
            return [Self.courseRecord(try await store.course(code), withSummary: true).line(json: json), ResponseLine.ok()]

        case .courseSearch(let filter):
            let courses = try await store.searchCourses(filter)
            return courses.map { Self.courseRecord($0, withSummary: false).line(json: json) } + [ResponseLine.ok("\(courses.count) courses")]

        case .schemeAdd(let scheme, let start):
            try await store.addScheme(scheme, startText: start)
            return [ResponseLine.ok()]

        case .schemeRule(let scheme, let rule):
            try await store.addRule(scheme: scheme, rule)
            return [ResponseLine.ok()]

        case .schemeCertificate(let scheme, let kind):
            try await store.addRequiredCertificate(scheme: scheme, kind: kind)
            return [ResponseLine.ok()]

        case .schemeShow(let code):
            let (scheme, start) = try await store.scheme(code)
            return Self.schemeLines(scheme, start: start, json: json) + [ResponseLine.ok()]

        case .practitionerAdd(let practitioner):
            try await store.addPractitioner(practitioner, by: who.recorder)
            return [ResponseLine.ok()]

        case .certificateAdd(let certificate):
            try await store.addCertificate(certificate, by: who.name)
            return [ResponseLine.ok()]

        case .completionRecord:
            // Reached only when a caller runs it alone (the reader sends completions to the batcher).
            guard let (completion, explain) = completion(command, as: who) else { return [] }
            return answer(await enqueue(completion).outcome, explain: explain, json: json, by: who)

        case .entryReverse(let entry, let reason, let key):
            return [Self.receiptLine(try await store.reverse(entry: entry, reason: reason, key: key, by: who.recorder))]

        case .entryAdjust(let practitioner, let points, let reason, let category, let delivery, let key):
            let receipt = try await store.adjust(
                practitioner: practitioner, points: points, reason: reason, category: category, delivery: delivery, key: key, by: who.recorder)
            return [Self.receiptLine(receipt)]

        case .points(let asked, let on):
            let member = try await store.standing(practitioner: try Self.subject(asked, who), on: on)
            return Self.standingLines(member, json: json) + [ResponseLine.ok()]

        case .renewalSubmit(let asked, let cycle):
            let renewal = try await store.submitRenewal(practitioner: try Self.subject(asked, who), cycle: cycle, by: who.name)
            return [Self.renewalRecord(renewal).line(json: json), ResponseLine.ok(renewal.replayed ? "already submitted" : "submitted")]

        case .renewalApprove(let practitioner, let cycle):
            let renewal = try await store.approveRenewal(practitioner: practitioner, cycle: cycle, by: who.name)
            return [Self.renewalRecord(renewal).line(json: json), ResponseLine.ok(renewal.replayed ? "already approved" : "approved")]

        case .auditDraw(let scheme, let month, let share):
            switch try await store.drawAudits(scheme: scheme, month: month, share: share, by: who.name) {
            case .announced(let sample):
                return [Self.sampleRecord(sample).line(json: json),
                        ResponseLine.ok("sample \(sample.id) " + (sample.replayed ? "already announced" : "announced") + ": drawn from \(sample.momentDay) on")]
            case .drawn(let sample, let drawn):
                let selected = drawn.filter { $0.outcome == "selected" }
                let counts = sample.draw.map { "selected \($0.selected) of \($0.eligible)" } ?? ""
                return [Self.sampleRecord(sample).line(json: json)] + selected.map { Self.drawnRecord($0).line(json: json) }
                    + [ResponseLine.ok("sample \(sample.id)" + (sample.replayed ? " already drawn" : " drawn") + ": " + counts)]
            }

        case .auditSample(let scheme, let month):
            let (sample, drawn) = try await store.auditSample(scheme: scheme, month: month)
            let summary = sample.draw.map { "\(drawn.count) members considered, \($0.eligible) eligible, \($0.selected) selected" }
                ?? "announced; drawn from \(sample.momentDay) on"
            return [Self.sampleRecord(sample).line(json: json)] + drawn.map { Self.drawnRecord($0).line(json: json) } + [ResponseLine.ok(summary)]

        case .auditList(let asked, let scheme, let state):
            let practitioner = who.role == .practitioner ? try Self.subject(asked, who) : asked
            let audits = try await store.audits(practitioner: practitioner, scheme: scheme, state: state)
            return audits.map { Self.auditRecord($0).line(json: json) } + [ResponseLine.ok("\(audits.count) audits")]

        case .auditShow(let id):
            let (audit, events, evidence) = try await store.audit(id, owner: try Self.owner(who))
            return [Self.auditRecord(audit).line(json: json)] + events.map { Self.auditEventRecord($0).line(json: json) }
                + evidence.map { Self.evidenceRecord($0).line(json: json) } + [ResponseLine.ok()]

        case .auditStep(let id, let action):
            let audit = try await store.stepAudit(id, action, owner: try Self.owner(who), by: who.name)
            return [Self.auditRecord(audit).line(json: json), ResponseLine.ok((audit.replayed ? "already " : "") + audit.audit.state.rawValue)]

        case .statement(let asked, let from, let to):
            let lines = try await store.statement(practitioner: try Self.subject(asked, who), from: from, to: to)
            let carries = lines.filter { $0.entry == nil }.count
            let summary = "\(lines.count - carries) entries" + (carries > 0 ? ", \(carries) carried in" : "")
            return lines.map { Self.statementRecord($0).line(json: json) } + [ResponseLine.ok(summary)]

        case .reportNightly(let date):
            return try await report(date: date, as: who, json: json)

        case .ledgerVerify(let anchors):
            let (verification, checks) = try await store.verifyLedger(anchors: anchors)
            return Self.verificationLines(verification, checks, anchors: anchors, json: json)

        case .principalAdd(let account, let role, let provider, let practitioner):
            var grant = try PrincipalStore.Grant(account: account, role: role, provider: provider, practitioner: practitioner)
            if case .user(let name) = grant.account {
                // The grant follows the account, not its name: a user name with no account is refused,
                // and the account's uid is kept (`PrincipalStore.resolve`).
                guard let uid = try UnixAccounts.uid(named: name) else { throw StoreError.notFound("no Unix account \(name)") }
                grant.userUID = uid
            }
            try await store.addPrincipal(grant, by: who.name)
            return [ResponseLine.ok()]

        case .principalList:
            let grants = try await store.principals()
            return grants.map { Self.principalRecord($0).line(json: json) } + [ResponseLine.ok("\(grants.count) principals")]

        case .principalRemove(let account):
            var accountUID: UInt32? = nil
            if case .user(let name) = account { accountUID = try UnixAccounts.uid(named: name) }
            try await store.removePrincipal(account, accountUID: accountUID)
            return [ResponseLine.ok()]
        }
    }

    /// The nightly report: made by the store in one snapshot on two connections of its own, on the
    /// report database (a replica, when configured), and recorded as a run on the primary. A ledger
    /// that does not verify, or totals that do not reconcile, still give every data line, then
    /// `ERR conflict` (and a failed run, which the next report does not count from).
    func report(date: Day?, as who: Principal, json: Bool) async throws -> [String] {
        let rejections = self.rejections
        // This cpdd's refusals so far are in the table before the report reads it.
        let made = try await store.nightlyReport(date: date, by: who.name, beforeReading: { await rejections.flush() })
        var lines: [String] = []
        lines.reserveCapacity(made.rows.count + 1)
        for row in made.rows {
            var record = Record()
            record.add("section", row.section.rawValue)
            for (column, value) in zip(row.section.columns, row.values) { record.add(column, value) }
            lines.append(record.line(json: json))
        }
        logger.info("nightly report made", metadata: [
            "run": "\(made.run)", "date": "\(made.date)", "rows": "\(made.rows.count)",
            "took": "\(made.timings.map { "\($0.part)=\($0.took.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 2))))" }.joined(separator: " "))",
        ])
        if let problem = made.problem {
            logger.error("nightly report: \(problem)", metadata: ["run": "\(made.run)", "date": "\(made.date)"])
            lines.append(ResponseLine.err(.conflict, problem))
        } else {
            lines.append(ResponseLine.ok("report date=\(made.date) run=\(made.run) rows=\(made.rows.count)"))
        }
        return lines
    }

    /// The practitioner whose audits a principal may see and answer: a practitioner's own; nil for
    /// the roles that may see every audit.
    static func owner(_ who: Principal) throws -> String? {
        guard who.role == .practitioner else { return nil }
        guard let own = who.practitioner else { throw StoreError.permissionDenied("this principal names no practitioner") }
        return own
    }

    /// Whose points or statement: a practitioner means themselves; others must name one.
    static func subject(_ asked: String?, _ who: Principal) throws -> String {
        if who.role == .practitioner {
            guard let own = who.practitioner else { throw StoreError.permissionDenied("this principal names no practitioner") }
            if let asked, asked != own {
                throw StoreError.permissionDenied("a practitioner sees and renews only their own record (\(own))")
            }
            return own
        }
        guard let asked else { throw ValidationError("practitioner", "is required") }
        return asked
    }
}
