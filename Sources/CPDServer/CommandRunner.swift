import AdminProtocol
import Dispatch
import CPDCore
import CPDStore
import Logging
import Postgres

/// A request refused before it ran, with its ERR line.
struct CommandFailure: Error {
    var line: String
}

/// Runs the commands that need the database, on the pool's threads, and turns every outcome into
/// protocol lines. Errors map to codes in one place (`lines(for:)`); nothing is written when one is
/// answered.
public struct CommandRunner: Sendable {
    let pool: PostgresPool
    /// Where the nightly report reads: a replica, or nil for the pool's database.
    let reportDatabase: PostgresPool.Configuration?
    let logger: Logger
    let completions: CompletionBatcher
    let rejections: RejectionLog
    /// The report's and `ledger.verify`'s connections, apart from the pool.
    let longReads: LongReads

    public init(
        pool: PostgresPool, reportDatabase: PostgresPool.Configuration? = nil, longReadConnections: Int = 4,
        logger: Logger = Logger(label: "cpd.commands")
    ) {
        self.pool = pool
        self.reportDatabase = reportDatabase
        self.logger = logger
        self.completions = CompletionBatcher(pool: pool)
        self.rejections = RejectionLog(pool: pool, logger: logger)
        self.longReads = LongReads(limit: max(2, longReadConnections))
    }

    /// Notes a refusal that never reached the runner (a role or argument error found by the session).
    func noteRefusal(command: String, final: String, by principal: Principal) {
        rejections.note(command: command, final: final, principal: principal.name)
    }

    /// `completion.record` goes through the group-commit batcher instead of a transaction of its own.
    public static func isBatched(_ spec: CommandSpec) -> Bool { spec.name == "completion.record" }

    /// Commands after which connections already open look their principal up again.
    public static func changesPrincipals(_ spec: CommandSpec) -> Bool { spec.name == "principal.add" || spec.name == "principal.remove" }

    /// A `completion.record` request read into the batcher's form, or the ERR line when its arguments
    /// are wrong.
    func completion(_ request: Request, as who: Principal) -> Result<LedgerStore.CompletionRequest, CommandFailure> {
        let a = Arguments(request: request)
        do {
            return .success(LedgerStore.CompletionRequest(
                practitioner: try a.required("practitioner"), course: try a.required("course"), completed: try a.required("completed", a.day),
                key: try a.required("key"), by: who.recorder))
        } catch {
            return .failure(CommandFailure(line: refusal(error, command: "completion.record", by: who)))
        }
    }

    /// Queues a completion for group commit now, in the caller's order; returns its promise.
    func enqueue(_ completion: LedgerStore.CompletionRequest) -> OutcomePromise { completions.enqueue(completion) }

    /// The answer to a recorded (or refused) completion.
    func answer(_ outcome: CompletionBatcher.Outcome, explain: Bool, json: Bool, by who: Principal) -> [String] {
        switch outcome {
        case .success(let receipt):
            guard explain else { return [Self.receiptLine(receipt)] }
            var record = Record()
            record.add("replayed", receipt.replayed ? "yes" : "no")
            return [record.line(json: json), Self.receiptLine(receipt)]
        case .failure(let error):
            return [refusal(error, command: "completion.record", by: who)]
        }
    }

    func runCompletion(_ request: Request, as who: Principal, json: Bool) async -> [String] {
        switch completion(request, as: who) {
        case .failure(let failure): return [failure.line]
        case .success(let completion):
            return answer(await enqueue(completion).outcome, explain: request["explain"] == "yes", json: json, by: who)
        }
    }

    public func run(_ request: Request, _ spec: CommandSpec, as principal: Principal, json: Bool) async -> [String] {
        if Self.isBatched(spec) { return await runCompletion(request, as: principal, json: json) }
        if spec.name == "report.nightly" { return await runReport(request, as: principal, json: json) }
        if spec.name == "ledger.verify" { return await runVerify(request, spec, as: principal, json: json) }
        do {
            let answer = try await pool.withConnection { c in
                try Self.execute(request, spec, principal, json, c)
            }
            if let final = answer.last { rejections.note(command: spec.name, final: final, principal: principal.name) }
            return answer
        } catch {
            return [refusal(error, command: spec.name, by: principal)]
        }
    }

    /// `ledger.verify` reads the whole ledger: on a connection of its own (`LongReads`), not the pool's.
    func runVerify(_ request: Request, _ spec: CommandSpec, as principal: Principal, json: Bool) async -> [String] {
        do {
            return try await longReads.reserving(1) {
                try await longReads.onConnectionOfItsOwn(pool.configuration) { c in try Self.execute(request, spec, principal, json, c) }
            }
        } catch {
            return [refusal(error, command: spec.name, by: principal)]
        }
    }

    /// The nightly report: made in one snapshot on two connections of its own (`LongReads`), on the
    /// report database (a replica, when configured), recorded as a run on the primary. A ledger that does not verify, or totals that do not
    /// reconcile, still give every data line, then `ERR conflict` (and a failed run, which the next
    /// report does not count from).
    func runReport(_ request: Request, as who: Principal, json: Bool) async -> [String] {
        do {
            let asked = try Arguments(request: request).day("date")
            let (date, previous) = try await pool.withConnection { c in
                let date = try asked ?? ReportStore.today(c)
                return (date, try ReportStore.previousRun(before: date, c))
            }
            // This cpdd's refusals so far are in the table before the report reads it.
            await rejections.flush()
            // Two connections in one snapshot: the sections on one, the checks over the whole
            // ledger (hash chain, totals) on the other, at the same time. Both are reserved before
            // either opens, so a report never holds one while it waits for the other.
            let readers = reportDatabase ?? pool.configuration
            let longReads = self.longReads
            let ((made0, sectionRows), checked) = try await longReads.reserving(2) {
                let (exported, exporter) = AsyncStream<ReportStore.SharedSnapshot>.makeStream()
                let imported = DispatchSemaphore(value: 0)
                async let sections: (ReportStore.Made, [ReportRow]) = {
                    // Finished however the sections end (or fail to start), so the checks never wait for nothing.
                    defer { exporter.finish() }
                    return try await longReads.onConnectionOfItsOwn(readers) { c in
                        var rows: [ReportRow] = []
                        let made = try ReportStore.make(
                            date: date, since: previous, c, shared: { exporter.yield($0) },
                            beforeCommit: { _ = imported.wait(timeout: .now() + 60) }
                        ) { rows.append($0) }
                        return (made, rows)
                    }
                }()
                var snapshots = exported.makeAsyncIterator()
                var checked: (ReportStore.Checks, [ReportRow])? = nil
                var checkFailure: Error? = nil
                if let snapshot = await snapshots.next() {
                    defer { imported.signal() }  // should the checks fail before importing, the sections need not wait
                    do {
                        checked = try await longReads.onConnectionOfItsOwn(readers) { c in
                            var rows: [ReportRow] = []
                            let checks = try ReportStore.check(in: snapshot, c, imported: { imported.signal() }) { rows.append($0) }
                            return (checks, rows)
                        }
                    } catch {
                        checkFailure = error
                    }
                }
                // The sections' error first: when they fail (a date whose cycles leave the calendar),
                // the snapshot they shared is gone and the checks fail only because of it.
                let made = try await sections
                if let checkFailure { throw checkFailure }
                return (made, checked)
            }
            var made = made0
            var rows = sectionRows
            guard let (checks, checkRows) = checked else { throw StoreError.conflict("the report's snapshot was not shared") }
            rows += checkRows
            made.timings += checks.timings
            var problem: String? = nil
            if case .broken(let entry, let why) = checks.integrity {
                problem = "the ledger's hash chain breaks at entry \(entry): \(why)"
            } else if !checks.reconciles {
                problem = "the totals do not reconcile: points recorded minus points reversed is not the sum of the balances"
            }
            let run = try await pool.withConnection { [problem, made] c in
                try ReportStore.recordRun(made, since: previous, problem: problem, by: who.name, c)
            }
            var lines: [String] = []
            lines.reserveCapacity(rows.count + 1)
            for var row in rows {
                if row.section == .run, let index = row.section.columns.firstIndex(of: "run") { row.values[index] = String(run) }
                var record = Record()
                record.add("section", row.section.rawValue)
                for (column, value) in zip(row.section.columns, row.values) { record.add(column, value) }
                lines.append(record.line(json: json))
            }
            logger.info("nightly report made", metadata: [
                "run": "\(run)", "date": "\(date)", "rows": "\(rows.count)",
                "took": "\(made.timings.map { "\($0.part)=\($0.took.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 2))))" }.joined(separator: " "))",
            ])
            if let problem {
                logger.error("nightly report: \(problem)", metadata: ["run": "\(run)", "date": "\(date)"])
                lines.append(ResponseLine.err(.conflict, problem))
            } else {
                lines.append(ResponseLine.ok("report date=\(date) run=\(run) rows=\(rows.count)"))
            }
            return lines
        } catch {
            return [lines(for: error, command: "report.nightly")]
        }
    }

    /// The ERR line for `error`, noted as a rejected write when `command` writes.
    func refusal(_ error: Error, command: String, by who: Principal) -> String {
        let line = lines(for: error, command: command)
        rejections.note(command: command, final: line, principal: who.name)
        return line
    }

    func lines(for error: Error, command: String) -> String {
        switch error {
        case let error as StoreError:
            switch error {
            case .notFound(let m): return ResponseLine.err(.notFound, m)
            case .conflict(let m): return ResponseLine.err(.conflict, m)
            case .invalid(let e): return ResponseLine.err(.invalidArgument, e.description)
            case .permissionDenied(let m): return ResponseLine.err(.permissionDenied, m)
            }
        case let error as ValidationError:
            return ResponseLine.err(.invalidArgument, error.description)
        case let error as DayOutOfRange:
            return ResponseLine.err(.invalidArgument, error.description)
        case let error as PostgresPoolError:
            return error.kind == .acquireTimeout
                ? ResponseLine.err(.busy, "every database connection is in use; try again")
                : ResponseLine.err(.unavailable, "cpdd is shutting down")
        case let error as PostgresError where error.isConnectionLoss:
            logger.warning("database unavailable", metadata: ["command": "\(command)", "error": "\(error)"])
            return ResponseLine.err(.unavailable, "the database cannot be reached; try again")
        default:
            logger.error("command failed", metadata: ["command": "\(command)", "error": "\(error)"])
            return ResponseLine.err(.internal, "\(command) failed unexpectedly; the error is in cpdd's log")
        }
    }

    // MARK: - Commands

    static func execute(_ request: Request, _ spec: CommandSpec, _ who: Principal, _ json: Bool, _ c: PostgresConnection) throws -> [String] {
        let a = Arguments(request: request)
        let acting = who.role == .provider ? who.provider : nil
        switch spec.name {
        case "provider.add":
            try CatalogueStore.addProvider(Provider(code: try a.required("code"), name: try a.required("name")), c)
            return [ResponseLine.ok()]

        case "course.add":
            let code = try Code.validate(try a.required("code"), field: "code")
            let content = try CourseContent(
                title: try a.required("title"), summary: a.text("summary") ?? "", points: try a.required("points", a.points),
                hours: try a.required("hours", a.points), category: try a.required("category"), delivery: try a.required("delivery", a.delivery),
                modalities: try a.terms("modalities") ?? [])
            try CatalogueStore.addCourse(code: code, provider: try a.required("provider"), content: content, by: who.name, actingProvider: acting, c)
            return [ResponseLine.ok("course \(code) version 1 (draft)")]

        case "course.update":
            let changes = CatalogueStore.CourseChanges(
                title: a.text("title"), summary: a.text("summary"), points: try a.points("points"), hours: try a.points("hours"),
                category: try a.term("category"), delivery: try a.delivery("delivery"), modalities: try a.terms("modalities"))
            let version = try CatalogueStore.updateCourse(code: try a.required("code"), changes: changes, by: who.name, actingProvider: acting, c)
            return [ResponseLine.ok("version=\(version)")]

        case "course.publish", "course.retire":
            let status: CourseStatus = spec.name == "course.publish" ? .published : .retired
            try CatalogueStore.setStatus(code: try a.required("code"), to: status, by: who.name, actingProvider: acting, c)
            return [ResponseLine.ok(status.rawValue)]

        case "course.show":
            return [courseRecord(try CatalogueStore.course(try a.required("code"), c), withSummary: true).line(json: json), ResponseLine.ok()]

        case "course.search":
            let filter = CatalogueStore.SearchFilter(
                text: a.text("q"), modality: try a.term("modality"), category: try a.term("category"), provider: try a.code("provider"),
                delivery: try a.delivery("delivery"), limit: try a.int("limit", in: 1...100) ?? 20, offset: try a.int("offset", in: 0...100_000) ?? 0)
            let courses = try CatalogueStore.search(filter, c)
            return courses.map { courseRecord($0, withSummary: false).line(json: json) } + [ResponseLine.ok("\(courses.count) courses")]

        case "scheme.add":
            let start = a.text("start")
            let proRata = a.text("pro_rata") ?? "none"
            guard proRata == "none" || proRata == "monthly" else { throw ValidationError("pro_rata", "is none or monthly") }
            let scheme = try Scheme(
                code: try a.required("code"), title: try a.required("title"),
                period: try SchemePeriod(kind: try a.required("period"), length: try a.required("length") { (key: String) throws(ValidationError) in try a.int(key, in: 1...120) }, start: start),
                required: try a.required("required", a.points), carryOverMax: try a.points("carry_over_max"), openingBalance: try a.points("opening"),
                proRataMonthly: proRata == "monthly")
            try SchemeStore.addScheme(scheme, startText: start, c)
            return [ResponseLine.ok()]

        case "scheme.rule":
            let targets = [("category", a.text("category")), ("delivery", a.text("delivery"))].filter { $0.1 != nil }
            let bounds = ["min", "max", "min_share", "max_share"].filter { a.text($0) != nil }
            guard targets.count == 1 else { throw ValidationError("category", "give exactly one of category= or delivery=") }
            guard bounds.count == 1 else { throw ValidationError("min", "give exactly one of min=, max=, min_share=, max_share=") }
            let target: RuleTarget = targets[0].0 == "category" ? .category(try a.required("category", a.term)) : .delivery(try a.required("delivery", a.delivery))
            let amount = try a.required(bounds[0], a.points)
            let bound: RuleBound
            switch bounds[0] {
            case "min": bound = .min(amount)
            case "max": bound = .max(amount)
            case "min_share": bound = .minShare(percent: amount)
            default: bound = .maxShare(percent: amount)
            }
            try SchemeStore.addRule(scheme: try a.required("scheme"), SchemeRule(target: target, bound: bound), c)
            return [ResponseLine.ok()]

        case "scheme.certificate":
            try SchemeStore.addRequiredCertificate(scheme: try a.required("scheme"), kind: try a.required("kind", a.term), c)
            return [ResponseLine.ok()]

        case "scheme.show":
            let code = try a.required("code")
            let scheme = try SchemeStore.scheme(code, c)
            var head = Record()
            head.add("kind", "scheme")
            head.add("code", scheme.code)
            head.add("title", scheme.title)
            head.add("period", scheme.period.kind)
            head.add("length", String(scheme.period.months))
            head.add("start", try SchemeStore.startText(code, c))
            head.add("required", scheme.required.description)
            head.add("carry_over_max", scheme.carryOverMax?.description)
            head.add("opening", scheme.openingBalance?.description)
            head.add("pro_rata", scheme.proRataMonthly ? "monthly" : "none")
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
            return lines + [ResponseLine.ok()]

        case "practitioner.add":
            let practitioner = try Practitioner(
                id: try a.required("id"), name: try a.required("name"), scheme: try a.required("scheme"), joined: try a.required("joined", a.day),
                modalities: try a.terms("modalities") ?? [])
            try SchemeStore.addPractitioner(practitioner, by: who.recorder, c)
            return [ResponseLine.ok()]

        case "certificate.add":
            let certificate = try Certificate(
                practitioner: try a.required("practitioner"), kind: try a.required("kind"), issued: try a.required("issued", a.day),
                expires: try a.required("expires", a.day), reference: a.text("ref"))
            try SchemeStore.addCertificate(certificate, by: who.name, c)
            return [ResponseLine.ok()]

        case "completion.record":
            // `run` sends completion.record to the batcher; should it come here, it takes the same one path.
            let completion = LedgerStore.CompletionRequest(
                practitioner: try a.required("practitioner"), course: try a.required("course"), completed: try a.required("completed", a.day),
                key: try a.required("key"), by: who.recorder)
            guard let outcome = try LedgerStore.recordCompletions([completion], c).first else {
                throw StoreError.conflict("the completion was not recorded; try again")
            }
            let receipt = try outcome.get()
            guard a.text("explain") == "yes" else { return [receiptLine(receipt)] }
            var record = Record()
            record.add("replayed", receipt.replayed ? "yes" : "no")
            return [record.line(json: json), receiptLine(receipt)]

        case "entry.reverse":
            guard let entry = Int64(try a.required("entry")), entry > 0 else { throw ValidationError("entry", "is an entry number") }
            let receipt = try LedgerStore.reverse(entry: entry, reason: try a.required("reason"), key: try a.required("key"), by: who.recorder, c)
            return [receiptLine(receipt)]

        case "entry.adjust":
            let receipt = try LedgerStore.adjust(
                practitioner: try a.required("practitioner"), points: try a.required("points", a.points), reason: try a.required("reason"),
                category: a.text("category"), delivery: try a.delivery("delivery"), key: try a.required("key"), by: who.recorder, c)
            return [receiptLine(receipt)]

        case "points":
            let member = try LedgerStore.standing(practitioner: try subject(a, who), on: try a.day("on"), c)
            return standingLines(member, json: json) + [ResponseLine.ok()]

        case "statement":
            let (from, to) = (try a.day("from"), try a.day("to"))
            if let from, let to, from > to { throw ValidationError("from", "\(from) is after to=\(to)") }
            let lines = try LedgerStore.statement(practitioner: try subject(a, who), from: from, to: to, c)
            let carries = lines.filter { $0.entry == nil }.count
            let summary = "\(lines.count - carries) entries" + (carries > 0 ? ", \(carries) carried in" : "")
            return lines.map { statementRecord($0).line(json: json) } + [ResponseLine.ok(summary)]

        case "ledger.verify":
            let anchors = try Self.anchors(a)
            let (verification, checks) = try LedgerStore.verify(anchors: anchors, c)
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

        case "principal.add":
            guard let role = Role(rawValue: try a.required("role")) else {
                throw ValidationError("role", "is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var grant = try PrincipalStore.Grant(account: try account(a), role: role, provider: a.text("provider"), practitioner: a.text("practitioner"))
            if case .user(let name) = grant.account {
                // The grant follows the account, not its name: a user name with no account is refused,
                // and the account's uid is kept (`PrincipalStore.resolve`).
                guard let uid = try UnixAccounts.uid(named: name) else { throw StoreError.notFound("no Unix account \(name)") }
                grant.userUID = uid
            }
            try PrincipalStore.add(grant, by: who.name, c)
            return [ResponseLine.ok()]

        case "principal.list":
            let grants = try PrincipalStore.list(c)
            let lines = grants.map { grant -> String in
                var record = Record()
                switch grant.account {
                case .uid(let uid): record.add("uid", String(uid))
                case .user(let name): record.add("user", name)
                }
                record.add("role", grant.role.rawValue)
                record.add("provider", grant.provider)
                record.add("practitioner", grant.practitioner)
                return record.line(json: json)
            }
            return lines + [ResponseLine.ok("\(grants.count) principals")]

        case "principal.remove":
            let account = try account(a)
            var accountUID: UInt32? = nil
            if case .user(let name) = account { accountUID = try UnixAccounts.uid(named: name) }
            try PrincipalStore.remove(account, accountUID: accountUID, c)
            return [ResponseLine.ok()]

        default:
            // Every command of the table has a case here (a test runs each one); should one be added
            // without, its sender is told so rather than cpdd trapping.
            throw StoreError.notFound("\(spec.name) has no runner in this cpdd")
        }
    }

    /// Whose points or statement: a practitioner means themselves; others must name one.
    static func subject(_ a: Arguments, _ who: Principal) throws -> String {
        if who.role == .practitioner {
            guard let own = who.practitioner else { throw StoreError.permissionDenied("this principal names no practitioner") }
            if let asked = a.text("practitioner"), asked != own {
                throw StoreError.permissionDenied("a practitioner sees only their own points")
            }
            return own
        }
        guard let asked = a.text("practitioner") else { throw ValidationError("practitioner", "is required") }
        return asked
    }

    /// `anchors=ENTRY:HASH,...`, each once, in the order given; none when the argument is absent.
    static func anchors(_ a: Arguments) throws(ValidationError) -> [LedgerAnchor] {
        guard let text = a.text("anchors") else { return [] }
        var anchors: [LedgerAnchor] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let anchor = LedgerAnchor(parsing: item) else {
                throw ValidationError("anchors", "'\(item.prefix(90))' is not ENTRY:HASH (an entry number, a colon, 64 hex digits)")
            }
            if !anchors.contains(anchor) { anchors.append(anchor) }
        }
        return anchors
    }

    static func account(_ a: Arguments) throws -> PrincipalStore.Grant.Account {
        switch (a.text("uid"), a.text("user")) {
        case (let uid?, nil):
            guard let value = UInt32(uid) else { throw ValidationError("uid", "is a number") }
            return .uid(value)
        case (nil, let user?):
            return .user(user)
        default:
            throw ValidationError("uid", "give exactly one of uid= or user=")
        }
    }

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
        record.add("category", course.content.category)
        record.add("delivery", course.content.delivery.rawValue)
        record.add("modalities", course.content.modalities.joined(separator: ","))
        record.add("status", course.status.rawValue)
        record.add("version", String(course.version))
        if withSummary { record.add("summary", course.content.summary) }
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
                record.add("uncounted", rule.gap.description)
            }
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
}
