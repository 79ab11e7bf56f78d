import AdminProtocol
import CPDCore
import Foundation
import Glibc
import Postgres

/// What the fuzzer found wrong, with the step that showed it.
struct FuzzFailure: Error, CustomStringConvertible {
    var description: String

    /// The kind of promise broken, so that shrinking keeps to the same one.
    var kind: String {
        for kind in ["died", "ERR internal", "out of step", "changed the registry", "reversed twice", "hash chain", "acknowledged",
                     "earned", "closed", "line"] where description.contains(kind) {
            return kind
        }
        return "other"
    }
}

/// Drives one cpdd with generated requests over several connections and roles, checking the
/// registry's promises after every step (docs/fuzzing.md lists them).
final class DaemonFuzzer {
    struct Step { var link: String; var request: FuzzRequest }

    let daemon: FuzzDaemon
    var random: FuzzRandom
    var world = FuzzWorld()
    var links: [String: FuzzLink] = [:]
    var json: [String: Bool] = [:]
    var identities: [String: FuzzIdentity] = [:]
    /// Every request sent, in the order sent per connection: what a failure is shrunk from.
    var trace: [Step] = []
    /// Acknowledged writes: (connection, key) → the entry it was acknowledged with.
    var acknowledged: [String: Int64] = [:]
    var unchecked: [(entry: Int64, points: String, key: String)] = []
    var checker: FuzzLink
    var figures = (sequences: 0, requests: 0, errors: [String: Int](), probes: 0, oks: [String: Int]())

    init(daemon: FuzzDaemon, seed: UInt64) throws {
        self.daemon = daemon
        random = FuzzRandom(state: seed)
        checker = try FuzzLink(socket: daemon.socket, as: nil)
        identities["root"] = FuzzIdentity(name: "root", role: .admin)
        for (user, grant) in FuzzDaemon.accounts where daemon.users.contains(user) {
            let role = Role.allCases.first { grant.contains("role=\($0.rawValue)") } ?? .reporter
            let provider = grant.split(separator: " ").first { $0.hasPrefix("provider=") }.map { String($0.dropFirst(9)) }
            let practitioner = grant.split(separator: " ").first { $0.hasPrefix("practitioner=") }.map { String($0.dropFirst(13)) }
            identities[user] = FuzzIdentity(name: user, role: role, provider: provider, practitioner: practitioner)
        }
        if daemon.users.isEmpty { identities["root2"] = FuzzIdentity(name: "root2", role: .admin) }
        for name in identities.keys { try connect(name) }
    }

    /// Opens `name`'s connection. An account whose principal the fuzz removed is refused at the
    /// greeting, as the contract says; it is left out until a later round finds it granted again.
    func connect(_ name: String) throws {
        links[name] = nil
        let link = try FuzzLink(socket: daemon.socket, as: name.hasPrefix("root") ? nil : name)
        if link.greeting.hasPrefix("ERR ") {
            guard name == "cpdf_spare", link.greeting.hasPrefix("ERR permission_denied ") else {
                throw FuzzFailure(description: "\(name) was refused at the greeting: \(link.greeting)")
            }
            guard try link.readLine(timeout: .seconds(10)) == nil else { throw FuzzFailure(description: "a line after a refused greeting") }
            return
        }
        guard link.greeting.hasPrefix("OK cpdd ") else { throw FuzzFailure(description: "\(name): a greeting outside the contract: \(link.greeting)") }
        links[name] = link
        json[name] = false
        // The spare account's grant changes under the fuzz: learn what it is now.
        try link.send(Array("whoami\n".utf8))
        guard let whoami = try FuzzResponse.read(from: link, json: false, timeout: .seconds(30)), whoami.isOK,
              let line = whoami.data.first, let fields = Self.fields(line), let role = fields["role"].flatMap(Role.init(rawValue:)) else {
            throw FuzzFailure(description: "\(name): whoami after connecting did not answer its principal")
        }
        identities[name] = FuzzIdentity(name: name, role: role, provider: fields["provider"], practitioner: fields["practitioner"])
    }

    // MARK: - Rounds

    /// One sequence: a pipelined burst on every connection at once, then the invariants, then a few
    /// requests one at a time with the registry's digest taken around each.
    func round() throws {
        figures.sequences += 1
        for name in identities.keys.sorted() where links[name] == nil { try connect(name) }
        var sent: [String: [FuzzRequest]] = [:]
        for name in links.keys.sorted() {
            guard let link = links[name], let who = identities[name] else { continue }
            var batch: [FuzzRequest] = []
            for _ in 0..<(1 + random.below(12)) {
                let request = FuzzRequests.generate(&random, &world, for: who)
                batch.append(request)
                if request.command == "quit" && !request.text.lowercased().hasPrefix("quit ") { break }
            }
            sent[name] = batch
            trace += batch.map { Step(link: name, request: $0) }
            let sentinel: [UInt8] = batch.last?.command == "quit" ? [] : Array("ping\n".utf8)
            do {
                try link.send(batch.flatMap { $0.bytes + [0x0A] } + sentinel)
            } catch where name == "cpdf_spare" {
                // Its principal was removed in an earlier sequence and cpdd closed it: open it again.
                try connect(name)
                sent[name] = nil
                continue
            }
        }
        for name in sent.keys.sorted() {
            guard let batch = sent[name] else { continue }
            try answers(to: batch, on: name)
        }
        try alive("after a pipelined sequence")
        try checkLedger()
        try probe()
    }

    /// Reads one connection's answers to `batch` and its sentinel ping, in order.
    func answers(to batch: [FuzzRequest], on name: String) throws {
        guard let link = links[name] else { return }
        let others = links.filter { $0.key != name }.map(\.value)
        link.whileWaiting = { for other in others { other.pump() } }
        defer { link.whileWaiting = nil }
        for (index, request) in batch.enumerated() {
            let response: FuzzResponse?
            do {
                response = try FuzzResponse.read(from: link, json: json[name] ?? false, timeout: .seconds(60))
            } catch {
                try alive("reading \(name)'s answer")
                throw FuzzFailure(description: "\(name): \(error) in the answer to \(request.text.debugDescription.prefix(300))")
            }
            guard let response else {
                // Closed: after quit, or for an account whose principal the fuzz removed. Reconnect.
                try alive("\(name)'s connection closed")
                if request.command == "quit" || name == "cpdf_spare" || (index > 0 && batch[..<index].contains { $0.command == "principal.remove" }) {
                    try? connect(name)
                    return
                }
                throw FuzzFailure(description: "\(name): the connection closed instead of answering \(request.text.debugDescription.prefix(300))")
            }
            try note(response, to: request, on: name)
            if request.command == "quit" && response.final == "OK bye" {
                guard try link.readLine(timeout: .seconds(10)) == nil else { throw FuzzFailure(description: "\(name): a line after OK bye") }
                try connect(name)
                return
            }
        }
        if batch.last?.command != "quit" {
            guard let sentinel = try FuzzResponse.read(from: link, json: json[name] ?? false, timeout: .seconds(60)) else {
                if name == "cpdf_spare" { try? connect(name); return }
                throw FuzzFailure(description: "\(name): closed before the sentinel ping")
            }
            guard sentinel.final == "OK pong", sentinel.data.isEmpty else {
                throw FuzzFailure(description: "\(name): the answers are out of step: the sentinel ping got \(sentinel.final.debugDescription.prefix(200)) after \(batch.map(\.text).joined(separator: " | ").debugDescription.prefix(600))")
            }
        }
    }

    /// Checks one answer and learns from it: what was acknowledged, what now exists.
    func note(_ response: FuzzResponse, to request: FuzzRequest, on name: String) throws {
        figures.requests += 1
        if let code = response.code {
            figures.errors[code, default: 0] += 1
            if code == "internal" {
                throw FuzzFailure(description: "\(name): ERR internal for \(request.text.debugDescription.prefix(300)): \(response.final)")
            }
            return
        }
        figures.oks[request.command, default: 0] += 1
        let a = request.arguments
        switch request.command {
        case "format":
            json[name] = response.final == "OK format json"
        case "provider.add": if let code = a["code"], !world.providers.contains(code) { world.providers.append(code) }
        case "course.add": if let code = a["code"], let provider = a["provider"] { world.courses[code] = provider }
        case "scheme.add": if let code = a["code"], !world.schemes.contains(code) { world.schemes.append(code) }
        case "practitioner.add": if let id = a["id"], !world.practitioners.contains(id) { world.practitioners.append(id) }
        case let command where command.hasPrefix("audit."):
            for line in response.data {
                guard let fields = Self.fields(line) else { continue }
                if let audit = fields["audit"], !audit.isEmpty, !world.audits.contains(audit) { world.audits.append(audit) }
                if let audit = fields["audit"], let request = fields["pending_request"], !world.requests.contains(where: { $0 == (audit, request) }) {
                    world.requests.append((audit, request))
                }
            }
        case "completion.record", "entry.reverse", "entry.adjust":
            let fields = Dictionary(response.final.split(separator: " ").dropFirst().compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1)
                return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
            }, uniquingKeysWith: { first, _ in first })
            guard let entry = fields["entry"].flatMap({ Int64($0) }), let points = fields["points"], let key = a["key"] else {
                throw FuzzFailure(description: "\(name): an acknowledged write without entry= and points=: \(response.final)")
            }
            // Keys are scoped to what the sender acts for (docs/protocol.md): one provider's accounts
            // share its keys, every admin shares the registry's.
            let who = identities[name]
            let scope = who?.role == .provider ? "provider:" + (who?.provider ?? name) : "registry"
            let slot = scope + "\u{1}" + key
            if let earlier = acknowledged[slot], earlier != entry {
                throw FuzzFailure(description: "\(name): key \(key.debugDescription.prefix(80)) acknowledged as entry \(earlier) and then as entry \(entry)")
            }
            acknowledged[slot] = entry
            unchecked.append((entry, points, key))
            if !world.entries.contains(entry) { world.entries.append(entry) }
            if !world.keys.contains(key) { world.keys.append(key) }
        default: break
        }
    }

    func alive(_ when: String) throws {
        if let status = daemon.exited {
            // The runtime's crash report starts with the reason and the faulting frames.
            let output = daemon.child.output
            let start = output.range(of: "Fatal error")?.lowerBound ?? output.range(of: "💣")?.lowerBound ?? output.startIndex
            throw FuzzFailure(description: "cpdd died (exit \(status)) \(when): \(output[start...].prefix(3_000))")
        }
    }

    // MARK: - Invariants over the ledger

    func checkLedger() throws {
        let twice = try daemon.owner.query(
            "SELECT reverses FROM ledger_entry WHERE reverses IS NOT NULL GROUP BY reverses HAVING count(*) > 1")
        guard twice.isEmpty else { throw FuzzFailure(description: "an entry is reversed twice: \(try twice[0][0] as Int64)") }
        // Every head seen before must still hold: history cannot be rewritten unnoticed.
        let earlier = world.heads.suffix(40)
        let chain = try checkerRequest("ledger.verify" + (earlier.isEmpty ? "" : " anchors=" + earlier.joined(separator: ",")))
        guard chain.isOK else { throw FuzzFailure(description: "the hash chain does not verify, or a head seen earlier no longer holds: \(chain.final)") }
        if let fields = Self.fields(chain.final), let entries = fields["entries"], let head = fields["head"], entries != "0" {
            let anchor = "\(entries):\(head)"
            if !world.heads.contains(anchor) { world.heads.append(anchor) }
        }
        for ack in unchecked {
            let rows = try daemon.owner.query("SELECT points::text, idempotency_key FROM ledger_entry WHERE id = $1", [ack.entry])
            guard let row = rows.first else { throw FuzzFailure(description: "acknowledged entry \(ack.entry) is not in the ledger") }
            let points: String = try row[0]
            let key: String = try row[1]
            guard points == ack.points, key == ack.key else {
                throw FuzzFailure(description: "acknowledged entry \(ack.entry) (\(ack.points), key \(ack.key.debugDescription.prefix(60))) is stored as \(points), key \(key.debugDescription.prefix(60))")
            }
        }
        unchecked.removeAll()
        // An audit's state is where its events have taken it, and a sample's count is its audits.
        let astray = try daemon.owner.query("""
            SELECT a.id, a.state, (SELECT e.event FROM audit_event e WHERE e.audit = a.id
                                   AND e.event IN ('selected', 'requested', 'submitted', 'reviewed', 'passed', 'failed', 'exemption_granted')
                                   ORDER BY e.id DESC LIMIT 1) AS last
            FROM audit a
            """).filter { row in
                let state: String = (try? row["state"]) ?? "", last: String = (try? row["last"]) ?? ""
                return state != (last == "exemption_granted" ? "exempt" : last)
            }
        guard astray.isEmpty else {
            throw FuzzFailure(description: "audit \((try? astray[0]["id"] as Int64) ?? 0) is \((try? astray[0]["state"] as String) ?? "") but its history says otherwise")
        }
        let miscounted = try daemon.owner.query("""
            SELECT s.id FROM audit_sample s
            WHERE (s.drawn_at IS NULL AND EXISTS (SELECT 1 FROM audit_draw d WHERE d.sample = s.id))
               OR (s.drawn_at IS NOT NULL AND (
                      s.selected <> (SELECT count(*) FROM audit a WHERE a.sample = s.id)
                   OR s.considered <> (SELECT count(*) FROM audit_draw d WHERE d.sample = s.id)
                   OR s.eligible <> (SELECT count(*) FROM audit_draw d WHERE d.sample = s.id AND d.outcome IN ('selected', 'not_selected'))))
            """)
        guard miscounted.isEmpty else { throw FuzzFailure(description: "audit sample \((try? miscounted[0][0] as Int64) ?? 0) counts differ from its rows") }
        // A balance is the sum of its entries: `earned` over the cycle `points` names, against the
        // ledger's own rows for those days.
        for _ in 0..<2 {
            let member = random.pick(world.practitioners)
            let on = random.pick(FuzzEdges.plausibleDays)
            let standing = try checkerRequest("points practitioner=\(member) on=\(on)")
            guard standing.isOK else { continue }
            guard let summary = standing.data.first, let fields = Self.fields(summary),
                  let start = fields["cycle_start"], let earned = fields["earned"] else {
                throw FuzzFailure(description: "points for \(member) on \(on) has no summary line: \(standing.data)")
            }
            let carried = fields["carried"] ?? "0.00"
            // What carries in comes from cpdd; hold it to the scheme's own bound, read from the database.
            let bound: String = try daemon.owner.query("""
                SELECT CASE WHEN s.period = 'rolling' THEN 0 ELSE coalesce(s.carry_over_max, 0) END::numeric(12,2)::text
                FROM practitioner p JOIN scheme s ON s.code = p.scheme WHERE p.id = $1
                """, [member])[0][0]
            guard let carriedValue = Double(carried), let boundValue = Double(bound), carriedValue >= 0, carriedValue <= boundValue else {
                throw FuzzFailure(description: "\(member) on \(on): carried \(carried) is outside 0 to the scheme's carry_over_max \(bound)")
            }
            let sum: String = try daemon.owner.query("""
                SELECT (coalesce(sum(points), 0) + $4::numeric)::numeric(12,2)::text FROM ledger_entry
                WHERE practitioner = $1 AND effective BETWEEN $2::date AND $3::date AND kind <> 'carry_over'
                """, [member, start, on, carried])[0][0]
            guard sum == earned else {
                throw FuzzFailure(description: "\(member) on \(on): earned \(earned) but the entries from \(start) sum to \(sum) (carried \(carried))")
            }
        }
    }

    static func fields(_ line: String) -> [String: String]? {
        var out: [String: String] = [:]
        for part in line.split(separator: " ") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { out[String(pair[0])] = String(pair[1]) }
        }
        return out
    }

    func checkerRequest(_ line: String) throws -> FuzzResponse {
        try checker.send(Array((line + "\n").utf8))
        guard let response = try FuzzResponse.read(from: checker, json: false, timeout: .seconds(120)) else {
            try alive("the checker's connection closed")
            throw FuzzFailure(description: "the checker's connection closed")
        }
        return response
    }

    // MARK: - One at a time: a refusal changes nothing

    /// Commands whose OK changes nothing a refusal must not change either (the report records a run
    /// in its own log, which the digest leaves out).
    static let reads: Set<String> = [
        "ping", "whoami", "help", "format", "quit", "course.show", "course.search", "scheme.show", "points", "statement",
        "report.nightly", "ledger.verify", "principal.list",
    ]

    func probe() throws {
        let names = links.keys.sorted()
        guard !names.isEmpty else { return }
        let name = random.pick(names)
        guard let who = identities[name] else { return }
        for _ in 0..<4 {
            var request = FuzzRequests.generate(&random, &world, for: who)
            if request.command == "quit" { request = FuzzRequest(command: "ping", arguments: [:], bytes: Array("ping".utf8)) }
            try probe(request, on: name)
        }
    }

    func probe(_ request: FuzzRequest, on name: String) throws {
        guard let link = links[name] else { return }
        figures.probes += 1
        trace.append(Step(link: name, request: request))
        let before = try daemon.fingerprint()
        try link.send(request.bytes + [0x0A])
        guard let response = try FuzzResponse.read(from: link, json: json[name] ?? false, timeout: .seconds(60)) else {
            try alive("probing \(name)")
            if name == "cpdf_spare" { try? connect(name); return }
            throw FuzzFailure(description: "\(name): closed instead of answering \(request.text.debugDescription.prefix(300))")
        }
        try note(response, to: request, on: name)
        if request.command == "quit" && response.final == "OK bye" {
            guard try link.readLine(timeout: .seconds(10)) == nil else { throw FuzzFailure(description: "\(name): a line after OK bye") }
            try connect(name)
        }
        let unchanged = response.code != nil || Self.reads.contains(request.command)
        // The batcher and the rejection log write in the background; a write acknowledged is already
        // committed, so the digest is stable by the time the answer is read.
        if unchanged, try daemon.fingerprint() != before {
            throw FuzzFailure(description: "\(name): \(request.text.debugDescription.prefix(300)) was answered \(response.final) but changed the registry")
        }
        try alive("after a probe")
    }

    // MARK: - Running and shrinking

    /// Rounds until `seconds` have passed or something fails; the failure, if any.
    func run(for seconds: Int) -> FuzzFailure? {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            do {
                try round()
            } catch let failure as FuzzFailure {
                return failure
            } catch {
                return FuzzFailure(description: "\(error)")
            }
        }
        do {
            try alive("at the end")
            let output = daemon.child.output
            if output.contains("command failed") {
                return FuzzFailure(description: "cpdd logged a failed command: \(output.components(separatedBy: "\n").filter { $0.contains("command failed") }.prefix(3))")
            }
        } catch {
            return error as? FuzzFailure ?? FuzzFailure(description: "\(error)")
        }
        return nil
    }

    /// Sends `steps` one at a time on a fresh registry, checking every invariant after each; the
    /// first failure, or nil.
    static func replay(_ steps: [Step], label: String) -> FuzzFailure? {
        do {
            let daemon = try FuzzDaemon(label: label)
            defer { daemon.stop() }
            let fuzzer = try DaemonFuzzer(daemon: daemon, seed: 1)
            for step in steps {
                if fuzzer.links[step.link] == nil { try fuzzer.connect(step.link) }
                guard fuzzer.links[step.link] != nil else { continue }
                try fuzzer.probe(step.request, on: step.link)
                if let link = fuzzer.links[step.link], step.request.command != "quit" {
                    try link.send(Array("ping\n".utf8))
                    let sentinel = try FuzzResponse.read(from: link, json: fuzzer.json[step.link] ?? false, timeout: .seconds(60))
                    if let sentinel, sentinel.final != "OK pong" {
                        throw FuzzFailure(description: "out of step after \(step.request.text.debugDescription.prefix(200)): \(sentinel.final)")
                    }
                }
            }
            try fuzzer.checkLedger()
            return nil
        } catch let failure as FuzzFailure {
            return failure
        } catch {
            return FuzzFailure(description: "\(error)")
        }
    }

    /// A shorter sequence that still fails when replayed one request at a time (delta debugging,
    /// within `budget`); nil when the failure does not come back that way (it needed the timing).
    static func shrink(_ steps: [Step], as failure: FuzzFailure, budget: Duration) -> [Step]? {
        let end = ContinuousClock.now + budget
        var attempt = 0
        func fails(_ candidate: [Step]) -> Bool {
            attempt += 1
            return replay(candidate, label: "shrink\(attempt)")?.kind == failure.kind
        }
        guard fails(steps) else { return nil }
        var current = steps
        var chunks = 2
        while current.count > 1, ContinuousClock.now < end {
            let size = (current.count + chunks - 1) / chunks
            var reduced = false
            for start in stride(from: 0, to: current.count, by: size) where ContinuousClock.now < end {
                var candidate = current
                candidate.removeSubrange(start..<min(start + size, current.count))
                if !candidate.isEmpty, fails(candidate) {
                    current = candidate
                    chunks = max(chunks - 1, 2)
                    reduced = true
                    break
                }
            }
            if !reduced {
                if size == 1 { break }
                chunks = min(chunks * 2, current.count)
            }
        }
        return current
    }
}
