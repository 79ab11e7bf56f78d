import AdminProtocol
import CPDCore
import CPDStore

/// Every command, as docs/protocol.md lists them (a test checks the two agree).
public enum CommandTable {
    static let everyone: Set<Role> = Set(Role.allCases)
    static let adminOrProvider: Set<Role> = [.admin, .provider]
    static let readers: Set<Role> = [.admin, .reporter, .practitioner]

    public static let all: [CommandDefinition] = session + catalogue + schemes + ledger + audits + principals

    public static let byName: [String: CommandDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    static let session: [CommandDefinition] = [
        CommandDefinition("ping", everyone, effect: .session, summary: "OK pong") { _ in .session(.ping) },
        CommandDefinition("whoami", everyone, effect: .session, summary: "your principal and role") { _ in .session(.whoami) },
        CommandDefinition("help", everyone, words: "[command]", effect: .session,
                          summary: "the commands you may use, or one command's arguments") { a in .session(.help(topic: a.words.first)) },
        CommandDefinition("format", everyone, words: "(text or json)", effect: .session,
                          summary: "format text or format json: how data lines are written") { a in
            switch a.words.first {
            case "json": return .session(.format(json: true))
            case "text": return .session(.format(json: false))
            default: throw CommandError(.invalidArgument, "format takes text or json")
            }
        },
        CommandDefinition("quit", everyone, effect: .session, summary: "OK bye, then the server closes") { _ in .session(.quit) },
    ]

    static let catalogue: [CommandDefinition] = [
        CommandDefinition("provider.add", [.admin], required: ["code", "name"], effect: .write, summary: "register a course provider") { a in
            .store(.providerAdd(try Provider(code: try a.required("code"), name: try a.required("name"))))
        },
        CommandDefinition("course.add", adminOrProvider, required: ["provider", "code", "title", "points", "hours", "category", "delivery"],
                          optional: ["modalities", "summary", "minutes"], effect: .write, summary: "add a course as a draft, version 1") { a in
            let code = try Code.validate(try a.required("code"), field: "code")
            let content = try CourseContent(
                title: try a.required("title"), summary: a.text("summary") ?? "", points: try a.required("points", a.points),
                hours: try a.required("hours", a.points), category: try a.required("category"), delivery: try a.required("delivery", a.delivery),
                modalities: try a.terms("modalities") ?? [], minutes: try a.int("minutes", in: 1...60_000))
            return .store(.courseAdd(code: code, provider: try a.required("provider"), content: content))
        },
        CommandDefinition("course.update", adminOrProvider, required: ["code"],
                          optional: ["title", "points", "hours", "category", "delivery", "modalities", "summary", "minutes"], effect: .write,
                          summary: "make a new version of a course") { a in
            let changes = CatalogueStore.CourseChanges(
                title: a.text("title"), summary: a.text("summary"), points: try a.points("points"), hours: try a.points("hours"),
                category: try a.term("category"), delivery: try a.delivery("delivery"), modalities: try a.terms("modalities"),
                minutes: a.text("minutes") == "none" ? nil : try a.int("minutes", in: 1...60_000), clearsMinutes: a.text("minutes") == "none")
            return .store(.courseUpdate(code: try a.required("code"), changes: changes))
        },
        CommandDefinition("course.publish", adminOrProvider, required: ["code"], effect: .write, summary: "publish a draft course") { a in
            .store(.courseSetStatus(code: try a.required("code"), status: .published))
        },
        CommandDefinition("course.retire", adminOrProvider, required: ["code"], effect: .write, summary: "retire a course") { a in
            .store(.courseSetStatus(code: try a.required("code"), status: .retired))
        },
        CommandDefinition("course.show", everyone, required: ["code"], effect: .read, summary: "one course at its current version") { a in
            .store(.courseShow(code: try a.required("code")))
        },
        CommandDefinition("course.search", everyone, optional: ["q", "modality", "category", "provider", "delivery", "limit", "offset"],
                          effect: .read, summary: "published courses, best match first") { a in
            .store(.courseSearch(CatalogueStore.SearchFilter(
                text: a.text("q"), modality: try a.term("modality"), category: try a.term("category"), provider: try a.code("provider"),
                delivery: try a.delivery("delivery"), limit: try a.int("limit", in: 1...100) ?? 20, offset: try a.int("offset", in: 0...100_000) ?? 0)))
        },
    ]

    /// `late_renewal=none|forfeit_carry_over|count_after_approval` (default none).
    static func lateRenewal(_ a: Arguments) throws(ValidationError) -> LateRenewal {
        guard let text = a.text("late_renewal") else { return .none }
        guard let late = LateRenewal(rawValue: text) else {
            throw ValidationError("late_renewal", "'\(text.prefix(30))' is not one of \(LateRenewal.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return late
    }

    /// `unit=hours minutes_per_hour=50 rounding=half`, or `unit=points` (the default) with neither.
    static func creditUnit(_ a: Arguments) throws(ValidationError) -> CreditUnit {
        let minutesPerHour = try a.int("minutes_per_hour", in: 1...120)
        let rounding = try a.text("rounding").map { (text: String) throws(ValidationError) -> HourRounding in
            guard let rounding = HourRounding(rawValue: text) else {
                throw ValidationError("rounding", "'\(text.prefix(20))' is not one of hundredth, half, whole")
            }
            return rounding
        }
        switch a.text("unit") ?? "points" {
        case "points":
            guard minutesPerHour == nil, rounding == nil else { throw ValidationError("unit", "minutes_per_hour= and rounding= go with unit=hours") }
            return .points
        case "hours":
            return .hours(minutesPerHour: minutesPerHour ?? 60, rounding: rounding ?? .hundredth)
        case let other:
            throw ValidationError("unit", "'\(other.prefix(20))' is not points or hours")
        }
    }

    static let schemes: [CommandDefinition] = [
        CommandDefinition("scheme.add", [.admin], required: ["code", "title", "period", "length", "required"],
                          optional: ["start", "carry_over_max", "opening", "pro_rata", "pro_rata_rate", "unit", "minutes_per_hour", "rounding",
                                     "renewal_due_days", "late_renewal"],
                          effect: .write, summary: "define a CPD scheme") { a in
            let start = a.text("start")
            let proRata = a.text("pro_rata") ?? "none"
            guard ["none", "monthly", "per_month"].contains(proRata) else { throw ValidationError("pro_rata", "is none, monthly or per_month") }
            let rate = try a.points("pro_rata_rate")
            guard (proRata == "per_month") == (rate != nil) else {
                throw ValidationError("pro_rata_rate", proRata == "per_month" ? "pro_rata=per_month needs pro_rata_rate=, the points per month" : "goes with pro_rata=per_month only")
            }
            let length = try a.required("length") { (key: String) throws(ValidationError) in try a.int(key, in: 1...120) }
            let scheme = try Scheme(
                code: try a.required("code"), title: try a.required("title"),
                period: try SchemePeriod(kind: try a.required("period"), length: length, start: start),
                required: try a.required("required", a.points), carryOverMax: try a.points("carry_over_max"), openingBalance: try a.points("opening"),
                proRataMonthly: proRata == "monthly", proRataPerMonth: rate, unit: try Self.creditUnit(a),
                renewalDueDays: try a.int("renewal_due_days", in: 0...365), lateRenewal: try Self.lateRenewal(a))
            return .store(.schemeAdd(scheme, start: start))
        },
        CommandDefinition("scheme.rule", [.admin], required: ["scheme"],
                          optional: ["category", "delivery", "modality", "min", "max", "min_share", "max_share", "advisory"],
                          oneOf: [["min", "max", "min_share", "max_share"]], anyOf: [["category", "delivery", "modality"]], effect: .write,
                          summary: "a minimum or cap on a category, a delivery mode, or both; * for each on its own; or the member's accredited modalities") { a in
            let target: RuleTarget
            if let modality = a.text("modality") {
                guard modality == "accredited" else {
                    throw ValidationError("modality", "'\(modality.prefix(20))' is not accredited (courses that meet the member's accredited modalities)")
                }
                guard a.text("category") == nil, a.text("delivery") == nil else {
                    throw ValidationError("modality", "modality=accredited stands alone, without category= or delivery=")
                }
                target = .accreditedModalities
            } else {
                switch (a.text("category"), a.text("delivery")) {
                case ("*", nil): target = .everyCategory
                case (nil, "*"): target = .everyDelivery
                case ("*", _?), (_?, "*"):
                    throw ValidationError("category", "* (each on its own) stands alone: category=* or delivery=*, not with the other")
                case (_?, _?): target = .categoryAndDelivery(try a.required("category", a.term), try a.required("delivery", a.delivery))
                case (_?, nil): target = .category(try a.required("category", a.term))
                case (nil, _): target = .delivery(try a.required("delivery", a.delivery))
                }
            }
            let bound: RuleBound
            if let amount = try a.points("min") {
                bound = .min(amount)
            } else if let amount = try a.points("max") {
                bound = .max(amount)
            } else if let amount = try a.points("min_share") {
                bound = .minShare(percent: amount)
            } else {
                bound = .maxShare(percent: try a.required("max_share", a.points))
            }
            let advisory: Bool
            switch a.text("advisory") {
            case nil, "no": advisory = false
            case "yes": advisory = true
            case let other?: throw ValidationError("advisory", "'\(other.prefix(20))' is not yes or no")
            }
            return .store(.schemeRule(scheme: try a.required("scheme"), rule: SchemeRule(target: target, bound: bound, advisory: advisory)))
        },
        CommandDefinition("scheme.certificate", [.admin], required: ["scheme", "kind"], effect: .write,
                          summary: "members must hold a current certificate of this kind") { a in
            .store(.schemeCertificate(scheme: try a.required("scheme"), kind: try a.required("kind", a.term)))
        },
        CommandDefinition("scheme.show", everyone, required: ["code"], effect: .read, summary: "a scheme and its rules") { a in
            .store(.schemeShow(code: try a.required("code")))
        },
        CommandDefinition("practitioner.add", [.admin], required: ["id", "name", "scheme", "joined"], optional: ["modalities"], effect: .write,
                          summary: "register a practitioner") { a in
            .store(.practitionerAdd(try Practitioner(
                id: try a.required("id"), name: try a.required("name"), scheme: try a.required("scheme"), joined: try a.required("joined", a.day),
                modalities: try a.terms("modalities") ?? [])))
        },
        CommandDefinition("certificate.add", adminOrProvider, required: ["practitioner", "kind", "issued", "expires"], optional: ["ref"],
                          effect: .write, summary: "record a certificate such as first aid") { a in
            .store(.certificateAdd(try Certificate(
                practitioner: try a.required("practitioner"), kind: try a.required("kind"), issued: try a.required("issued", a.day),
                expires: try a.required("expires", a.day), reference: a.text("ref"))))
        },
    ]

    /// Named apart: the batcher's refusals are noted against it.
    static let completionRecord = CommandDefinition("completion.record", adminOrProvider, required: ["practitioner", "course", "completed", "key"], optional: ["explain"],
                      effect: .batchedWrite,
                      summary: "append a completion; idempotent by key (explain=yes adds a data line replayed=yes|no)") { a in
        .store(.completionRecord(
            practitioner: try a.required("practitioner"), course: try a.required("course"), completed: try a.required("completed", a.day),
            key: try a.required("key"), explain: a.text("explain") == "yes"))
    }

    static let ledger: [CommandDefinition] = [
        completionRecord,
        CommandDefinition("entry.reverse", adminOrProvider, required: ["entry", "reason", "key"], effect: .write,
                          summary: "append the reversal of an entry recorded in error") { a in
            guard let entry = Int64(try a.required("entry")), entry > 0 else { throw ValidationError("entry", "is an entry number") }
            return .store(.entryReverse(entry: entry, reason: try a.required("reason"), key: try a.required("key")))
        },
        CommandDefinition("entry.adjust", [.admin], required: ["practitioner", "points", "reason", "key"], optional: ["category", "delivery"],
                          effect: .write, summary: "append a manual adjustment") { a in
            .store(.entryAdjust(
                practitioner: try a.required("practitioner"), points: try a.required("points", a.points), reason: try a.required("reason"),
                category: a.text("category"), delivery: try a.delivery("delivery"), key: try a.required("key")))
        },
        CommandDefinition("points", readers, optional: ["practitioner", "on"], effect: .read, summary: "a practitioner's standing in a cycle") { a in
            .store(.points(practitioner: a.text("practitioner"), on: try a.day("on")))
        },
        CommandDefinition("renewal.submit", [.admin, .practitioner], optional: ["practitioner", "cycle"], effect: .write,
                          summary: "renew (declare) a closed cycle: the last one, or the one holding cycle=") { a in
            .store(.renewalSubmit(practitioner: a.text("practitioner"), cycle: try a.day("cycle")))
        },
        CommandDefinition("renewal.approve", [.admin], required: ["practitioner"], optional: ["cycle"], effect: .write,
                          summary: "approve a submitted renewal") { a in
            .store(.renewalApprove(practitioner: try a.required("practitioner"), cycle: try a.day("cycle")))
        },
        CommandDefinition("statement", readers, optional: ["practitioner", "from", "to"], effect: .read,
                          summary: "a practitioner's ledger entries, oldest first") { a in
            let (from, to) = (try a.day("from"), try a.day("to"))
            if let from, let to, from > to { throw ValidationError("from", "\(from) is after to=\(to)") }
            return .store(.statement(practitioner: a.text("practitioner"), from: from, to: to))
        },
        CommandDefinition("report.nightly", [.admin, .reporter], optional: ["date"], effect: .read,
                          summary: "the nightly report as data lines, each with section=; the run is recorded (docs/report.md)") { a in
            .store(.reportNightly(date: try a.day("date")))
        },
        CommandDefinition("ledger.verify", [.admin, .reporter], optional: ["anchors"], effect: .read,
                          summary: "check the ledger's hash chain, and that heads published earlier (anchors=ENTRY:HASH,...) still hold") { a in
            .store(.ledgerVerify(anchors: try a.anchors("anchors")))
        },
    ]

    /// `kind=extension|exemption`.
    static func auditAsk(_ a: Arguments) throws(ValidationError) -> AuditAsk {
        let text = try a.required("kind")
        guard let ask = AuditAsk(rawValue: text) else { throw ValidationError("kind", "'\(text.prefix(20))' is not extension or exemption") }
        return ask
    }

    static let audits: [CommandDefinition] = [
        CommandDefinition("audit.draw", [.admin], required: ["scheme", "month", "share"], effect: .write,
                          summary: "announce, before month= begins, the audit of share= percent of the scheme's cycles ending in it; draw it once the month is over") { a in
            let share = try a.required("share", a.points)
            guard share.hundredths > 0, share.hundredths <= 10_000 else { throw ValidationError("share", "is a percentage above 0, at most 100") }
            return .store(.auditDraw(scheme: try a.required("scheme"), month: try a.required("month", a.month), share: share))
        },
        CommandDefinition("audit.sample", [.admin, .reporter], required: ["scheme", "month"], effect: .read,
                          summary: "the audit of the cycles ending in month=: its seed and method, and every member considered") { a in
            .store(.auditSample(scheme: try a.required("scheme"), month: try a.required("month", a.month)))
        },
        CommandDefinition("audit.list", readers, optional: ["practitioner", "scheme", "state"], effect: .read,
                          summary: "audits, newest first (a practitioner's own)") { a in
            let state = try a.text("state").map { (text: String) throws(ValidationError) -> AuditState in
                guard let state = AuditState(rawValue: text) else {
                    throw ValidationError("state", "'\(text.prefix(20))' is not one of \(AuditState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return state
            }
            return .store(.auditList(practitioner: a.text("practitioner"), scheme: a.text("scheme"), state: state))
        },
        CommandDefinition("audit.show", readers, required: ["audit"], effect: .read, summary: "one audit, its history and its evidence") { a in
            .store(.auditShow(audit: try a.audit()))
        },
        CommandDefinition("audit.request", [.admin], required: ["audit", "due"], effect: .write,
                          summary: "ask the member for evidence by due=") { a in
            .store(.auditStep(audit: try a.audit(), .request(due: try a.required("due", a.day))))
        },
        CommandDefinition("audit.submit", [.admin, .practitioner], required: ["audit", "description", "sha256"], effect: .write,
                          summary: "supply evidence: what it is, and the SHA-256 of the file") { a in
            .store(.auditStep(audit: try a.audit(), .submit(sha256: try a.sha256("sha256"), description: try a.required("description", a.prose))))
        },
        CommandDefinition("audit.review", [.admin], required: ["audit"], optional: ["note"], effect: .write,
                          summary: "mark the evidence reviewed") { a in
            .store(.auditStep(audit: try a.audit(), .review(note: try a.prose("note"))))
        },
        CommandDefinition("audit.decide", [.admin], required: ["audit", "outcome", "note"], effect: .write,
                          summary: "pass or fail a reviewed audit (or fail one overdue with no evidence), with the reviewer's note") { a in
            let passed: Bool
            switch try a.required("outcome") {
            case "passed": passed = true
            case "failed": passed = false
            case let other: throw ValidationError("outcome", "'\(other.prefix(20))' is not passed or failed")
            }
            return .store(.auditStep(audit: try a.audit(), .decide(passed: passed, note: try a.required("note", a.prose))))
        },
        CommandDefinition("audit.ask", [.admin, .practitioner], required: ["audit", "kind", "until", "reason"], effect: .write,
                          summary: "ask for an extension (a later due date) or an exemption (until a day)") { a in
            .store(.auditStep(audit: try a.audit(), .ask(try auditAsk(a), until: try a.required("until", a.day), reason: try a.required("reason", a.prose))))
        },
        CommandDefinition("audit.answer", [.admin], required: ["audit", "request", "decision"], optional: ["note"], effect: .write,
                          summary: "grant or refuse the member's request, by the number the audit shows as pending_request") { a in
            let granted: Bool
            switch try a.required("decision") {
            case "granted": granted = true
            case "refused": granted = false
            case let other: throw ValidationError("decision", "'\(other.prefix(20))' is not granted or refused")
            }
            guard let request = Int64(try a.required("request")), request > 0 else { throw ValidationError("request", "is a request number (pending_request)") }
            return .store(.auditStep(audit: try a.audit(), .answer(request: request, granted: granted, note: try a.prose("note"))))
        },
    ]

    static let principals: [CommandDefinition] = [
        CommandDefinition("principal.add", [.admin], required: ["role"], optional: ["uid", "user", "provider", "practitioner"],
                          oneOf: [["uid", "user"]], effect: .write, changesPrincipals: true, summary: "map a Unix account to a role") { a in
            guard let role = Role(rawValue: try a.required("role")) else {
                throw ValidationError("role", "is one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .store(.principalAdd(account: try a.account(), role: role, provider: a.text("provider"), practitioner: a.text("practitioner")))
        },
        CommandDefinition("principal.list", [.admin], effect: .read, summary: "the principals") { _ in .store(.principalList) },
        CommandDefinition("principal.remove", [.admin], optional: ["uid", "user"], oneOf: [["uid", "user"]], effect: .write,
                          changesPrincipals: true, summary: "remove an account's principal") { a in
            .store(.principalRemove(account: try a.account()))
        },
    ]
}
