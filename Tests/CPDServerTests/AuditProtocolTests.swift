import AdminClient
import CPDCore
import Foundation
import Postgres
import TestSupport
import Testing

@testable import CPDServer

/// Audits over the socket: a sample anyone can draw again from the ledger's head, each audit's
/// life step by step and once per step, a practitioner who sees and answers only their own, and the
/// nightly report's list. The people are real Unix accounts, each connecting with cpdctl as itself.
@Suite(.serialized, .enabled(if: geteuid() == 0, "creating Unix accounts needs root"))
struct AuditProtocolTests {
    static let group = "cpdtaud"
    static let accounts = ["cpdt_aud_a", "cpdt_aud_b"]

    static var today: Day {
        get throws {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd"
            formatter.timeZone = TimeZone(identifier: "UTC")
            return try #require(Day(parsing: formatter.string(from: Date())))
        }
    }

    /// SHA-256 of `text` by coreutils' sha256sum: a tool cpd did not write.
    static func sha256sum(_ text: String) throws -> String {
        let (status, output) = try ChildProcess.run(["/bin/sh", "-c", "printf '%s' \"$0\" | sha256sum", text])
        #expect(status == 0)
        return String(output.prefix(64))
    }

    /// Final lines of the answers to `lines`, sent by `user` with cpdctl.
    static func finals(as user: String, _ cpdctl: String, _ socket: String, _ lines: [String]) throws -> [String] {
        let (_, output) = try ChildProcess.run(["/usr/sbin/runuser", "-u", user, "--", cpdctl, "send", "--socket", socket] + lines)
        return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("OK") || $0.hasPrefix("ERR ") }
    }

    static func field(_ line: String?, _ name: String) -> String? {
        guard let line else { return nil }
        for part in line.split(separator: " ") where part.hasPrefix(name + "=") { return String(part.dropFirst(name.count + 1)) }
        return nil
    }

    @Test func aSampleFromTheLedgersHeadThatAnyoneCanDrawAgain() async throws {
        let year = try Self.today.year
        // A cycle that closed over a year ago (whatever the registry's time zone, its moment has passed).
        let cycleDay = "\(year - 2)-06-01"
        try await CPDServerTests.withRegistry(label: "audit-draw") { path, owner in
            let c = try AdminClient(socketPath: path)
            var setup = ["scheme.add code=AUD title=Audited period=fixed length=12 start=01-01 required=10"]
            setup += (1...20).map { String(format: "practitioner.add id=P-%02d name=Member scheme=AUD joined=\(year - 3)-01-01", $0) }
            setup.append("practitioner.add id=P-NEW name=Later scheme=AUD joined=\(year - 1)-03-01")
            for line in setup { #expect(try c.request(line).isOK, "\(line)") }

            // No entry recorded since the moment yet: the head at the moment is not settled.
            #expect(try c.request("audit.draw scheme=AUD cycle=\(cycleDay) share=10").errorCode == "conflict")
            #expect(try c.request("audit.draw scheme=AUD cycle=\(year)-01-01 share=10").errorCode == "invalid_argument", "a cycle not closed")
            #expect(try c.request("audit.draw scheme=AUD cycle=\(cycleDay) share=0").errorCode == "invalid_argument")
            #expect(try c.request("audit.draw scheme=AUD cycle=\(cycleDay) share=100.01").errorCode == "invalid_argument")
            #expect(try c.request("audit.draw scheme=NOPE cycle=\(cycleDay) share=10").errorCode == "not_found")
            for n in 1...3 { #expect(try c.request("entry.adjust practitioner=P-01 points=1 reason=r key=adj-\(n)").isOK) }

            let drawn = try c.request("audit.draw scheme=AUD cycle=\(cycleDay) share=10")
            #expect(drawn.final.hasPrefix("OK sample ") && drawn.final.hasSuffix(": selected 2 of 20"), "\(drawn.final)")
            let sampleLine = drawn.data.first
            #expect(Self.field(sampleLine, "moment") == "\(year - 1)-01-01T00:00")
            // The seed is the head the first entry recorded from the moment on chains to. Every entry
            // here was recorded today, after the moment: the head then was the empty chain's (entry 0).
            let seed = try #require(Self.field(sampleLine, "seed"))
            let first: String = try owner.query("SELECT encode(prev_hash, 'hex') FROM ledger_entry WHERE id = 1")[0][0]
            #expect(seed == first && Self.field(sampleLine, "head_entry") == "0", "\(drawn.data)")

            // Anyone can draw it again: sha256sum of seed:id for every member of the cycle, the
            // lowest ceil(20 × 10%) = 2 keys.
            var keys: [(String, String)] = []
            for n in 1...20 {
                let id = String(format: "P-%02d", n)
                keys.append((try Self.sha256sum("\(seed):\(id)"), id))
            }
            let expected = Set(keys.sorted { $0.0 < $1.0 }.prefix(2).map(\.1))
            let selected = Set(drawn.data.dropFirst().compactMap { Self.field($0, "practitioner") })
            #expect(selected == expected, "\(drawn.data)")
            let sample = try c.request("audit.sample scheme=AUD cycle=\(cycleDay)")
            #expect(sample.final == "OK 20 members considered" && !sample.data.contains { $0.contains("P-NEW") }, "P-NEW joined after the cycle")
            let listedKeys = sample.data.dropFirst().compactMap { Self.field($0, "key") }
            #expect(listedKeys == keys.map(\.0).sorted(), "every member's key, lowest first")

            // Drawn once: the same request is the same sample; another share is a conflict.
            let again = try c.request("audit.draw scheme=AUD cycle=\(year - 2)-12-31 share=10")
            #expect(again.final.contains(" already drawn: selected 2 of 20") && again.data == drawn.data, "\(again.final)")
            #expect(try c.request("audit.draw scheme=AUD cycle=\(cycleDay) share=50").errorCode == "conflict")
            let audits = try c.request("audit.list scheme=AUD")
            #expect(audits.final == "OK 2 audits" && audits.data.allSatisfy { $0.contains(" state=selected ") }, "\(audits.data)")

            // An exemption open in the next cycle (granted, here backdated, before that cycle's
            // moment) skips the member in the next draw; the other one selected is drawn again as usual.
            let exempted = try #require(expected.sorted().first)
            let audit = try #require(Self.field(audits.data.first { $0.contains("practitioner=\(exempted) ") }, "audit"))
            _ = try c.request("audit.ask audit=\(audit) kind=exemption until=\(try Self.today) reason=\"Parental leave\"")
            #expect(try c.request("audit.answer audit=\(audit) kind=exemption decision=granted").final == "OK exempt")
            try owner.query("UPDATE audit SET exempt_from = $1::date, exempt_until = $2::date WHERE id = $3",
                            ["\(year - 2)-12-01", "\(year - 1)-06-30", Int64(audit) ?? 0])
            let next = try c.request("audit.draw scheme=AUD cycle=\(year - 1)-06-01 share=100")
            #expect(next.final.hasSuffix(": selected 20 of 20"), "P-NEW joined in that cycle; \(exempted) is skipped: \(next.final)")
            let nextSample = try c.request("audit.sample scheme=AUD cycle=\(year - 1)-06-01")
            #expect(nextSample.data.contains { $0.contains("practitioner=\(exempted) ") && $0.contains(" outcome=exempt") }, "\(nextSample.data)")
        }
    }

    @Test func anAnniversarySchemesCycleIsAuditedOnce() async throws {
        let year = try Self.today.year
        try await CPDServerTests.withRegistry(label: "audit-anniversary") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in [
                "scheme.add code=ANN title=Anniversary period=anniversary length=12 required=10",
                "practitioner.add id=P-X name=X scheme=ANN joined=\(year - 4)-03-01", "practitioner.add id=P-Y name=Y scheme=ANN joined=\(year - 4)-09-01",
                "practitioner.add id=P-Z name=Z scheme=ANN joined=\(year - 3)-01-01",
                "entry.adjust practitioner=P-X points=1 reason=r key=a1",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            // X's and Y's cycles holding 1 October are in the first sample; the second, on 1 February
            // after, finds them audited and draws only Z's first cycle.
            #expect(try c.request("audit.draw scheme=ANN cycle=\(year - 4)-10-01 share=100").final.hasSuffix(": selected 2 of 2"))
            let second = try c.request("audit.draw scheme=ANN cycle=\(year - 3)-02-01 share=100")
            #expect(second.final.hasSuffix(": selected 1 of 1"), "\(second.final)")
            let sample = try c.request("audit.sample scheme=ANN cycle=\(year - 3)-02-01")
            let outcomes = sample.data.dropFirst().compactMap { line in Self.field(line, "practitioner").map { "\($0) \(Self.field(line, "outcome") ?? "")" } }
            #expect(Set(outcomes) == ["P-X audited", "P-Y audited", "P-Z selected"], "\(sample.data)")
        }
    }

    @Test func anAuditsLifeStepByStepOncePerStepAndEachMemberSeesTheirOwn() async throws {
        try TestAccounts.create(Self.accounts, group: Self.group)
        defer { TestAccounts.remove(Self.accounts, group: Self.group) }
        let today = try Self.today
        let year = today.year
        try await ProtocolTests().withRegistry(socketGroup: Self.group) { socket, owner in
            let cpdctl = try cpdctlBeside(socket)
            let c = try AdminClient(socketPath: socket)
            for line in [
                "scheme.add code=AUD title=Audited period=fixed length=12 start=01-01 required=10",
                "practitioner.add id=P-A name=A scheme=AUD joined=\(year - 3)-01-01", "practitioner.add id=P-B name=B scheme=AUD joined=\(year - 3)-01-01",
                "practitioner.add id=P-C name=C scheme=AUD joined=\(year - 3)-01-01",
                "entry.adjust practitioner=P-A points=1 reason=r key=a1",
                "principal.add user=cpdt_aud_a role=practitioner practitioner=P-A", "principal.add user=cpdt_aud_b role=practitioner practitioner=P-B",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            let drawn = try c.request("audit.draw scheme=AUD cycle=\(year - 2)-06-01 share=100")
            #expect(drawn.final.hasSuffix(": selected 3 of 3"))
            let ids = Dictionary(uniqueKeysWithValues: drawn.data.dropFirst().compactMap { line -> (String, String)? in
                guard let p = Self.field(line, "practitioner"), let a = Self.field(line, "audit") else { return nil }
                return (p, a)
            })
            let (a, b, cAudit) = (try #require(ids["P-A"]), try #require(ids["P-B"]), try #require(ids["P-C"]))
            let due = today.adding(days: 30), later = today.adding(days: 60)
            let file = try Self.sha256sum("first aid certificate, scanned")

            // Evidence requested, once; another due date is a conflict (an extension moves it).
            #expect(try c.request("audit.request audit=\(a) due=\(due)").final == "OK requested")
            #expect(try c.request("audit.request audit=\(a) due=\(due)").final == "OK already requested")
            #expect(try c.request("audit.request audit=\(a) due=\(later)").errorCode == "conflict")
            #expect(try c.request("audit.request audit=\(b) due=\(today.adding(days: -1))").errorCode == "invalid_argument")

            // The member asks for an extension; refused an exemption meanwhile (one request at a time).
            let member = try Self.finals(as: "cpdt_aud_a", cpdctl, socket, [
                "audit.list", "audit.ask audit=\(a) kind=extension until=\(later) reason=\"Away until then\"",
                "audit.ask audit=\(a) kind=extension until=\(later) reason=\"Away until then\"",
                "audit.ask audit=\(a) kind=exemption until=\(later) reason=Other",
                "audit.show audit=\(b)", "audit.submit audit=\(b) description=Mine sha256=\(file)", "audit.review audit=\(a)",
            ])
            #expect(member == [
                "OK 1 audits", "OK requested", "OK already requested", member[3], member[4], member[5], member[6],
            ] && member[3].hasPrefix("ERR conflict") && member[4].hasPrefix("ERR permission_denied")
              && member[5].hasPrefix("ERR permission_denied") && member[6].hasPrefix("ERR permission_denied"), "\(member)")
            let granted = try c.request("audit.answer audit=\(a) kind=extension decision=granted")
            #expect(granted.final == "OK requested" && Self.field(granted.data.first, "due") == later.description, "\(granted.data)")
            #expect(try c.request("audit.answer audit=\(a) kind=extension decision=granted").final == "OK already requested")

            // Evidence in, once per file; not decided before it is reviewed; decided once.
            let submitted = try Self.finals(as: "cpdt_aud_a", cpdctl, socket, [
                "audit.submit audit=\(a) description=\"First aid certificate\" sha256=\(file)",
                "audit.submit audit=\(a) description=\"First aid certificate\" sha256=\(file.uppercased())",
                "audit.submit audit=\(a) description=Short sha256=abc",
            ])
            #expect(submitted.count == 3 && submitted[0] == "OK submitted" && submitted[1] == "OK already submitted"
                    && submitted[2].hasPrefix("ERR invalid_argument sha256"), "\(submitted)")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=Fine").errorCode == "conflict")
            #expect(try c.request("audit.review audit=\(a) note=\"Certificate matches\"").final == "OK reviewed")
            #expect(try c.request("audit.submit audit=\(a) description=Late sha256=\(String(repeating: "0", count: 64))").errorCode == "conflict")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=\"Hours and certificate match\"").final == "OK passed")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=\"Hours and certificate match\"").final == "OK already passed")
            #expect(try c.request("audit.decide audit=\(a) outcome=failed note=No").errorCode == "conflict")
            let shown = try c.request("audit.show audit=\(a)")
            let events = shown.data.filter { $0.hasPrefix("kind=event ") }.compactMap { Self.field($0, "event") }
            #expect(events == ["selected", "requested", "extension_asked", "extension_granted", "submitted", "reviewed", "passed"], "\(shown.data)")
            #expect(shown.data.contains { $0.hasPrefix("kind=evidence sha256=\(file) description=\"First aid certificate\"") }, "\(shown.data)")

            // B's evidence was due yesterday (backdated here): overdue, it fails without evidence; it
            // could not pass without.
            #expect(try c.request("audit.request audit=\(b) due=\(due)").isOK)
            try owner.query("UPDATE audit SET due = $1::date WHERE id = $2", [today.adding(days: -2).description, Int64(b) ?? 0])
            #expect(try c.request("audit.list practitioner=P-B").data.first?.contains(" overdue=yes ") == true)
            #expect(try c.request("audit.decide audit=\(b) outcome=passed note=None").errorCode == "conflict")

            // The report: A decided, B overdue, C not yet requested.
            let report = try c.request("report.nightly")
            let rows = report.data.filter { $0.hasPrefix("section=audits ") }.map { "\(Self.field($0, "practitioner") ?? "") \(Self.field($0, "flag") ?? "")" }
            #expect(Set(rows) == ["P-A decided", "P-B overdue", "P-C not_requested"], "\(report.data)")
            #expect(try c.request("audit.decide audit=\(b) outcome=failed note=\"No evidence by the due date\"").final == "OK failed")
            // The next night: A is no longer new; B's failure is.
            let nextNight = try c.request("report.nightly date=\(today.adding(days: 1))")
            let next = nextNight.data.filter { $0.hasPrefix("section=audits ") }.map { "\(Self.field($0, "practitioner") ?? "") \(Self.field($0, "flag") ?? "")" }
            #expect(Set(next) == ["P-B decided", "P-C not_requested"], "\(nextNight.data)")

            // As a member and an admin run it: cpdctl's one-shot form.
            let (status, said) = try ChildProcess.run([cpdctl, "audit", "request", "--audit", cAudit, "--due", due.description, "--socket", socket])
            #expect(status == 0 && said.hasSuffix("OK requested\n"), "\(said)")
        }
    }
}
