import AdminProtocol
import CPDCore

@testable import CPDServer

/// A seeded generator (SplitMix64): the same seed gives the same requests.
struct FuzzRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// What the fuzzer knows of the registry it drives, so that most requests reach execution: codes and
/// ids that exist (its own and other providers'), entries acknowledged so far, keys already used.
struct FuzzWorld {
    var providers = ["CALM", "BOWEN"]
    var courses: [String: String] = ["C-CALM": "CALM", "C-CALM-IP": "CALM", "C-BOWEN": "BOWEN", "C-DRAFT": "CALM"]
    var schemes = ["FIX", "ANN", "ROLL", "TWO", "PRO"]
    var practitioners = ["P-1", "P-2", "P-3", "P-4", "P-5"]
    var entries: [Int64] = [1]
    var keys: [String] = ["k-setup"]
    /// Heads of the chain seen so far (`ENTRY:HASH`): each must hold for ever.
    var heads: [String] = []
    /// Audits opened by draws the fuzzer saw, and requests waiting on them it saw.
    var audits: [String] = []
    var requests: [(audit: String, request: String)] = []
    var fresh = 0

    mutating func freshName(_ prefix: String) -> String {
        fresh += 1
        return "\(prefix)\(fresh)"
    }
}

/// The edge sets the issue names: dates at the calendar's ends, 29 February, month and cycle ends;
/// points at and past their bounds; text with NUL, CR, LF, CR LF, tabs, quotes, backslashes,
/// combining marks, right-to-left marks and 10,000 characters.
enum FuzzEdges {
    static let days = [
        "0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30", "9998-12-31", "2024-02-29", "2025-02-28", "2026-01-31",
        "2026-06-30", "2026-07-01", "2026-11-29", "2026-12-31", "2025-01-01", "2025-07-01", "2026-02-29", "2026-13-01",
        "2026-00-10", "yesterday", "", "20261129", "2026-1-1", "2026-11-29 ", "٢٠٢٦-١١-٢٩", "-2026-01-01", "12026-01-01",
    ]
    static let plausibleDays = ["2025-07-01", "2025-12-31", "2026-01-31", "2026-02-28", "2026-06-30", "2026-07-01", "2026-08-15", "2026-11-01", "2026-11-29"]
    static let points = [
        "0", "0.01", "-0.01", "1", "2.5", "3", "12", "1000000", "1000000.01", "-1000000", "99999999.99", "1.234", "abc", "1e3",
        "+3", "-0", "00000000001", "0.1", ".5", "5.", "9223372036854775807", "-9223372036854775808", "", "NaN", "١",
    ]
    static let combining = String(repeating: "e\u{301}", count: 150)
    static let texts = [
        "x", "Calm Hands", "", "\u{0}", "a\u{0}b", "\r", "\n", "\r\n", "A\r\nOK", "\t", "\"", "\\", "\\\"", combining,
        "\u{200F}שלום\u{200E}", "😀", String(repeating: "x", count: 10_000), String(repeating: "é", count: 201),
        String(repeating: "k", count: 200), String(repeating: "k", count: 201), "OK", "ERR internal", "* data", "%s%n",
        "'; DROP TABLE ledger_entry; --", "\u{FEFF}", "\u{202E}evil", "\u{7F}", "line\u{2028}break", "nel\u{85}x",
        String(repeating: "\u{301}", count: 300), "e\u{301}", "a b=c", "#comment",
    ]
    static let terms = ["clinical", "mental_health", "ethics", "self_care", "reading", "Clinical", "x", "", "a-b", String(repeating: "a", count: 41), "\u{0}"]
    static let deliveries = ["in_person", "online", "webinar", "reading", "teleport", "", "IN_PERSON"]
    static let ints = ["0", "1", "12", "24", "36", "120", "121", "-1", "100", "101", "100000", "100001", "999999999999999999999", "x", ""]
}

/// One generated request: its command, its arguments (for the fuzzer's model) and its bytes.
struct FuzzRequest {
    var command: String
    var arguments: [String: String]
    var bytes: [UInt8]
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Who a connection is, for choosing what to ask.
struct FuzzIdentity {
    var name: String
    var role: Role
    var provider: String?
    var practitioner: String?
}

/// Requests for every command in the command table, well-formed enough to reach execution most of
/// the time, with values from the edge sets.
struct FuzzRequests {
    typealias Generate = @Sendable (inout FuzzRandom, inout FuzzWorld, FuzzIdentity) -> [(String, String)]

    /// Arguments per command. The test checks this covers `CommandTable.all` exactly, so a new command
    /// cannot be added without teaching it here.
    static let generators: [String: Generate] = [
        "ping": { _, _, _ in [] },
        "whoami": { _, _, _ in [] },
        "quit": { _, _, _ in [] },
        "help": { r, _, _ in r.chance(50) ? [] : [("", r.pick(CommandTable.all.map(\.name) + ["nosuch", "COURSE.ADD", "\u{0}"]))] },
        "format": { r, _, _ in [("", r.pick(["text", "json", "json", "yaml"]))] },
        "provider.add": { r, w, _ in [("code", code(&r, &w, w.providers, "PV")), ("name", text(&r))] },
        "course.add": { r, w, who in
            var a = [("provider", r.chance(70) ? (who.provider ?? r.pick(w.providers)) : code(&r, &w, w.providers, "PV")),
                     ("code", code(&r, &w, Array(w.courses.keys), "CX")), ("title", text(&r)), ("points", points(&r)),
                     ("hours", points(&r)), ("category", term(&r)), ("delivery", delivery(&r))]
            if r.chance(30) { a.append(("modalities", r.pick(["remedial,bowen", "", ",", "a,,b", "Bad", "x,x"]))) }
            if r.chance(30) { a.append(("summary", text(&r))) }
            if r.chance(25) { a.append(("minutes", r.pick(["125", "50", "20", "1", "0", "60000", "60001", "-5", "x"]))) }
            return a
        },
        "course.update": { r, w, _ in
            var a = [("code", code(&r, &w, Array(w.courses.keys), "CX"))]
            for field in ["title", "points", "hours", "category", "delivery", "modalities", "summary", "minutes"] where r.chance(30) {
                switch field {
                case "minutes": a.append((field, r.pick(["125", "40", "0", "x"])))
                case "points", "hours": a.append((field, points(&r)))
                case "category": a.append((field, term(&r)))
                case "delivery": a.append((field, delivery(&r)))
                case "modalities": a.append((field, r.pick(["bowen", "", "a,b"])))
                default: a.append((field, text(&r)))
                }
            }
            return a
        },
        "course.publish": { r, w, _ in [("code", code(&r, &w, Array(w.courses.keys), "CX"))] },
        "course.retire": { r, w, _ in
            // The setup's published courses are spared most of the time: once they are retired, no
            // completion can be recorded, and the ledger's invariants would see only adjustments.
            let staples: Set<String> = ["C-CALM", "C-CALM-IP", "C-BOWEN"]
            let spared = r.chance(95) ? w.courses.keys.filter { !staples.contains($0) } : Array(w.courses.keys)
            return [("code", code(&r, &w, spared, "CX"))]
        },
        "course.show": { r, w, _ in [("code", r.chance(80) ? code(&r, &w, Array(w.courses.keys), "CX") : text(&r))] },
        "course.search": { r, w, _ in
            var a: [(String, String)] = []
            if r.chance(60) { a.append(("q", r.chance(50) ? r.pick(["anxiety", "massage", "bowen & sleep", "!", "a:*", "|"]) : text(&r))) }
            if r.chance(20) { a.append(("modality", term(&r))) }
            if r.chance(20) { a.append(("category", term(&r))) }
            if r.chance(20) { a.append(("provider", code(&r, &w, w.providers, "PV"))) }
            if r.chance(20) { a.append(("delivery", delivery(&r))) }
            if r.chance(30) { a.append(("limit", r.pick(FuzzEdges.ints))) }
            if r.chance(20) { a.append(("offset", r.pick(FuzzEdges.ints))) }
            return a
        },
        "scheme.add": { r, w, _ in
            let period = r.pick(["fixed", "anniversary", "rolling", "weekly"])
            var a = [("code", code(&r, &w, w.schemes, "SX")), ("title", text(&r)), ("period", period),
                     ("length", r.pick(FuzzEdges.ints)), ("required", points(&r))]
            if period == "fixed" || r.chance(10) { a.append(("start", r.pick(["07-01", "01-01", "02-29", "2025-09-01", "9999-12-31", "0001-01-01", "13-01", "x"]))) }
            if r.chance(30) { a.append(("carry_over_max", points(&r))) }
            if r.chance(20) { a.append(("opening", points(&r))) }
            // A rate goes with per_month: most often together, sometimes one without the other.
            if r.chance(20) {
                let proRata = r.pick(["none", "monthly", "per_month", "per_month", "weekly"])
                a.append(("pro_rata", proRata))
                if proRata == "per_month" && r.chance(80) { a.append(("pro_rata_rate", points(&r))) }
            } else if r.chance(5) {
                a.append(("pro_rata_rate", points(&r)))
            }
            if r.chance(25) { a.append(("unit", r.pick(["hours", "points", "days"]))) }
            if r.chance(20) { a.append(("minutes_per_hour", r.pick(["50", "60", "1", "120", "0", "121"]))) }
            if r.chance(20) { a.append(("rounding", r.pick(["half", "whole", "hundredth", "quarter"]))) }
            if r.chance(25) { a.append(("renewal_due_days", r.pick(["30", "0", "365", "366", "-1"]))) }
            if r.chance(20) { a.append(("late_renewal", r.pick(["forfeit_carry_over", "count_after_approval", "none", "maybe"]))) }
            return a
        },
        "scheme.rule": { r, w, _ in
            var a = [("scheme", r.pick(w.schemes + ["NOPE"]))]
            // A category, a delivery mode, both, each on its own (*), * beside the other, the member's
            // accredited modalities (alone, beside another target, or a modality that is no such word), or neither.
            switch r.below(14) {
            case 12: a.append(("modality", r.chance(80) ? "accredited" : term(&r)))
            case 13: a += [("modality", "accredited"), r.chance(50) ? ("category", term(&r)) : ("delivery", delivery(&r))]
            case 0: a.append(("category", "*"))
            case 1: a.append(("delivery", "*"))
            case 2: a += [("category", r.chance(50) ? "*" : term(&r)), ("delivery", r.chance(50) ? "*" : delivery(&r))]
            case 3, 4: a += [("category", term(&r)), ("delivery", delivery(&r))]
            case 5: break
            default: a.append(r.chance(50) ? ("category", term(&r)) : ("delivery", delivery(&r)))
            }
            a.append((r.pick(["min", "max", "min_share", "max_share"]), points(&r)))
            if r.chance(20) { a.append(("advisory", r.pick(["yes", "no", "maybe", ""]))) }
            return a
        },
        "renewal.submit": { r, w, who in
            var a: [(String, String)] = []
            if who.practitioner == nil || r.chance(30) { a.append(("practitioner", r.pick(w.practitioners + ["NOPE"]))) }
            if r.chance(50) { a.append(("cycle", r.chance(70) ? r.pick(FuzzEdges.plausibleDays) : r.pick(FuzzEdges.days))) }
            return a
        },
        "renewal.approve": { r, w, _ in
            var a = [("practitioner", r.pick(w.practitioners + ["NOPE"]))]
            if r.chance(50) { a.append(("cycle", r.chance(70) ? r.pick(FuzzEdges.plausibleDays) : r.pick(FuzzEdges.days))) }
            return a
        },
        "scheme.certificate": { r, w, _ in [("scheme", r.pick(w.schemes + ["NOPE"])), ("kind", term(&r))] },
        "scheme.show": { r, w, _ in [("code", r.pick(w.schemes + ["NOPE", "fix"]))] },
        "practitioner.add": { r, w, _ in
            var a = [("id", code(&r, &w, w.practitioners, "PX")), ("name", text(&r)), ("scheme", r.pick(w.schemes + ["NOPE"])),
                     ("joined", r.chance(60) ? r.pick(FuzzEdges.plausibleDays) : r.pick(FuzzEdges.days))]
            if r.chance(20) { a.append(("modalities", r.pick(["bowen", "", "a,b,c"]))) }
            return a
        },
        "certificate.add": { r, w, who in
            var a = [("practitioner", practitioner(&r, w, who)), ("kind", term(&r)), ("issued", day(&r)), ("expires", day(&r))]
            if r.chance(30) { a.append(("ref", text(&r))) }
            return a
        },
        "completion.record": { r, w, who in
            var a = [("practitioner", practitioner(&r, w, who)), ("course", course(&r, w, who)), ("completed", day(&r)), ("key", key(&r, &w))]
            if r.chance(20) { a.append(("explain", r.pick(["yes", "no", ""]))) }
            return a
        },
        "entry.reverse": { r, w, _ in
            [("entry", r.chance(80) ? String(r.pick(w.entries)) : r.pick(FuzzEdges.ints + ["9223372036854775807"])), ("reason", text(&r)), ("key", key(&r, &w))]
        },
        "entry.adjust": { r, w, who in
            var a = [("practitioner", practitioner(&r, w, who)), ("points", points(&r)), ("reason", text(&r)), ("key", key(&r, &w))]
            if r.chance(30) { a.append(("category", term(&r))) }
            if r.chance(30) { a.append(("delivery", delivery(&r))) }
            return a
        },
        "points": { r, w, who in
            var a: [(String, String)] = []
            if who.role != .practitioner || r.chance(30) { a.append(("practitioner", practitioner(&r, w, who))) }
            if r.chance(70) { a.append(("on", day(&r))) }
            return a
        },
        "statement": { r, w, who in
            var a: [(String, String)] = []
            if who.role != .practitioner || r.chance(30) { a.append(("practitioner", practitioner(&r, w, who))) }
            if r.chance(50) { a.append(("from", day(&r))) }
            if r.chance(50) { a.append(("to", day(&r))) }
            return a
        },
        "report.nightly": { r, _, _ in r.chance(40) ? [] : [("date", day(&r))] },
        "ledger.verify": { r, w, _ in
            guard r.chance(50) else { return [] }
            let junk = ["1:00", "0:" + String(repeating: "0", count: 64), "x", "", "99999:" + String(repeating: "a", count: 64), ":", "1:"]
            let anchors = (0..<(1 + r.below(3))).map { _ in r.chance(60) && !w.heads.isEmpty ? r.pick(w.heads) : r.pick(junk) }
            return [("anchors", anchors.joined(separator: r.chance(90) ? "," : ";"))]
        },
        "principal.add": { r, w, _ in
            let role = r.pick(["admin", "provider", "practitioner", "reporter", "wizard"])
            var a = [("role", role)]
            a.append(r.chance(70) ? ("user", r.pick(["cpdf_spare", "cpdf_spare", "no_such_account", "Bad!", "root", ""])) : ("uid", r.pick(["4000000", "-1", "x", "65534"])))
            if role == "provider" || r.chance(10) { a.append(("provider", r.pick(w.providers + ["NOPE"]))) }
            if role == "practitioner" || r.chance(10) { a.append(("practitioner", r.pick(w.practitioners + ["NOPE"]))) }
            return a
        },
        "audit.draw": { r, w, _ in
            [("scheme", r.pick(w.schemes + ["NOPE"])), ("month", month(&r)),
             ("share", r.chance(80) ? r.pick(["50", "50", "50", "50.00", "10", "100", "33.33", "0.01"]) : r.pick(["0", "100.01", "-5", "1.234"] + FuzzEdges.points))]
        },
        "audit.sample": { r, w, _ in [("scheme", r.pick(w.schemes + ["NOPE"])), ("month", month(&r))] },
        "audit.list": { r, w, who in
            var a: [(String, String)] = []
            if r.chance(40) { a.append(("practitioner", practitioner(&r, w, who))) }
            if r.chance(30) { a.append(("scheme", r.pick(w.schemes + ["NOPE"]))) }
            if r.chance(30) { a.append(("state", r.pick(AuditState.allCases.map(\.rawValue) + ["open", ""]))) }
            return a
        },
        "audit.show": { r, w, _ in [("audit", audit(&r, w))] },
        "audit.request": { r, w, _ in [("audit", audit(&r, w)), ("due", auditDay(&r))] },
        "audit.submit": { r, w, _ in
            let hex = String((0..<64).map { _ in r.pick(Array("0123456789abcdef")) })
            return [("audit", audit(&r, w)), ("description", text(&r)),
                    ("sha256", r.chance(80) ? (r.chance(20) ? hex.uppercased() : hex) : r.pick(["", "abc", String(repeating: "g", count: 64), hex + "0"]))]
        },
        "audit.review": { r, w, _ in
            var a = [("audit", audit(&r, w))]
            if r.chance(50) { a.append(("note", text(&r))) }
            return a
        },
        "audit.decide": { r, w, _ in
            [("audit", audit(&r, w)), ("outcome", r.pick(["passed", "failed", "failed", "maybe", ""])), ("note", text(&r))]
        },
        "audit.ask": { r, w, _ in
            [("audit", audit(&r, w)), ("kind", r.pick(["extension", "exemption", "holiday"])), ("until", auditDay(&r)), ("reason", text(&r))]
        },
        "audit.answer": { r, w, _ in
            // Mostly a request with its own audit, as an admin answers one the audit shows.
            let pair: (audit: String, request: String) = r.chance(85) && !w.requests.isEmpty ? r.pick(w.requests) : (audit(&r, w), r.pick(["1", "0", "-1", "x", ""]))
            var a = [("audit", pair.audit), ("request", pair.request), ("decision", r.pick(["granted", "refused", "granted", "yes"]))]
            if r.chance(40) { a.append(("note", text(&r))) }
            return a
        },
        "principal.list": { _, _, _ in [] },
        "principal.remove": { r, _, _ in
            [r.chance(80) ? ("user", r.pick(["cpdf_spare", "cpdf_spare", "no_such_account", "nobody"])) : ("uid", r.pick(["4000000", "x"]))]
        },
    ]

    static func code(_ r: inout FuzzRandom, _ w: inout FuzzWorld, _ known: [String], _ prefix: String) -> String {
        switch r.below(10) {
        case 0..<5: return known.isEmpty ? w.freshName(prefix) : r.pick(known)
        case 5..<8: return w.freshName(prefix)
        case 8: return r.pick(["lower", String(repeating: "A", count: 33), "A B", "É", "-X", ""])
        default: return text(&r)
        }
    }
    static func text(_ r: inout FuzzRandom) -> String { r.chance(50) ? r.pick(["Sleep and stress", "Notes", "x"]) : r.pick(FuzzEdges.texts) }
    static func points(_ r: inout FuzzRandom) -> String { r.chance(50) ? r.pick(["1", "2", "2.5", "8"]) : r.pick(FuzzEdges.points) }
    static func term(_ r: inout FuzzRandom) -> String { r.chance(70) ? r.pick(["clinical", "mental_health", "ethics"]) : r.pick(FuzzEdges.terms) }
    static func delivery(_ r: inout FuzzRandom) -> String { r.chance(80) ? r.pick(["in_person", "online", "webinar", "reading"]) : r.pick(FuzzEdges.deliveries) }
    static func day(_ r: inout FuzzRandom) -> String { r.chance(60) ? r.pick(FuzzEdges.plausibleDays) : r.pick(FuzzEdges.days) }
    static func practitioner(_ r: inout FuzzRandom, _ w: FuzzWorld, _ who: FuzzIdentity) -> String {
        if let own = who.practitioner, r.chance(60) { return own }
        return r.chance(90) ? r.pick(w.practitioners) : r.pick(["P-404", "p-1", "", "\u{0}"])
    }
    static func course(_ r: inout FuzzRandom, _ w: FuzzWorld, _ who: FuzzIdentity) -> String {
        if let mine = who.provider, r.chance(60), let own = w.courses.filter({ $0.value == mine }).keys.sorted().first { return own }
        return r.chance(90) ? r.pick(w.courses.keys.sorted()) : r.pick(["NOPE", "c-calm", ""])
    }
    static func audit(_ r: inout FuzzRandom, _ w: FuzzWorld) -> String {
        r.chance(85) && !w.audits.isEmpty ? r.pick(w.audits) : r.pick(["1", "2", "0", "-1", "x", "9223372036854775807", "99999999999999999999", ""])
    }
    /// Months the setup announced audits for (past), this one and later ones (to announce), and junk.
    static func month(_ r: inout FuzzRandom) -> String {
        r.chance(80) ? r.pick(["2025-06", "2025-06", "2025-12", "2026-06", "2026-06", "2026-10", "2026-11", "2026-12", "2027-06"])
            : r.pick(["0001-01", "9999-12", "2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "", "abcd-ef"])
    }
    /// Due dates and exemptions look ahead: today's neighbours and later days, besides the edges.
    static func auditDay(_ r: inout FuzzRandom) -> String {
        r.chance(60) ? r.pick(["2026-11-29", "2026-11-30", "2026-12-31", "2027-01-15", "2027-06-30", "2030-12-31"]) : day(&r)
    }
    static func key(_ r: inout FuzzRandom, _ w: inout FuzzWorld) -> String {
        switch r.below(10) {
        case 0..<6: return w.freshName("k-")
        case 6..<8: return r.pick(w.keys)
        default: return r.pick(FuzzEdges.texts)
        }
    }

    /// One request from `who`: mostly for a command their role may use, sometimes any command, and
    /// now and then mangled at the protocol level (an argument missing, twice or unknown, the command
    /// in capitals, bytes that are not UTF-8, a raw NUL or CR, a line over the limit).
    static func generate(_ r: inout FuzzRandom, _ w: inout FuzzWorld, for who: FuzzIdentity) -> FuzzRequest {
        let mine = CommandTable.all.filter { $0.roles.contains(who.role) }
        var spec = r.chance(85) ? r.pick(mine) : r.pick(CommandTable.all)
        // The report is slow next to the rest; ask for it seldom so the budget goes to breadth.
        if spec.name == "report.nightly" && r.chance(80) { spec = r.pick(mine) }
        if spec.name == "report.nightly" && r.chance(50) { spec = CommandTable.byName["ping"] ?? spec }
        var arguments = (generators[spec.name] ?? { _, _, _ in [] })(&r, &w, who)
        var command = spec.name
        switch r.below(40) {
        case 0: if !arguments.isEmpty { arguments.remove(at: r.below(arguments.count)) }
        case 1: if let first = arguments.first { arguments.append(first) }
        case 2: arguments.append(("nosuch", "1"))
        case 3: command = command.uppercased()
        default: break
        }
        var bytes = Array(command.utf8)
        var model: [String: String] = [:]
        for (key, value) in arguments {
            bytes.append(0x20)
            if key.isEmpty {
                bytes += Array(value.utf8)
            } else {
                bytes += Array(key.utf8) + [0x3D] + Array(ResponseLine.quote(value).utf8)
                model[key] = value
            }
        }
        switch r.below(60) {
        case 0: bytes += [0x20, 0x6B, 0x3D, 0xFF, 0xFE]  // k=<not UTF-8>
        case 1: bytes.insert(0x00, at: r.below(bytes.count + 1))
        case 2: bytes.insert(0x0D, at: r.below(bytes.count + 1))
        case 3: bytes += [0x20] + Array("x=\(String(repeating: "y", count: 17_000))".utf8)
        default: break
        }
        // A raw LF would make two requests of one; the fuzzer counts answers per line it sends.
        bytes = bytes.map { $0 == 0x0A ? 0x20 : $0 }
        return FuzzRequest(command: spec.name, arguments: model, bytes: bytes)
    }
}
