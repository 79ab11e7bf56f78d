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
        get throws { try todayUTC() }
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

    /// An audit announced back when it could be (before `month` was out): as the database owner,
    /// since cpdd announces only ahead of the moment and the test's months are past.
    static func announce(_ owner: PostgresConnection, _ scheme: String, _ month: String, share: String) throws {
        try owner.query(
            """
            INSERT INTO audit_sample (scheme, month, moment_day, time_zone, moment, share, announced_by, announced_at)
            SELECT $1, $2::date, ($2::date + interval '1 month')::date, r.time_zone,
                   (($2::date + interval '1 month')::date::timestamp AT TIME ZONE r.time_zone), $3::numeric, 'test', ($2::date::timestamp AT TIME ZONE r.time_zone)
            FROM registry r
            """, [scheme, month + "-01", share])
    }

    /// Members registered on the day they joined (as the database owner): a draw considers members
    /// registered before its moment, and the test's members were registered today.
    static func registeredWhenTheyJoined(_ owner: PostgresConnection, except: [String] = []) throws {
        try owner.query("UPDATE practitioner SET created_at = joined::timestamp AT TIME ZONE 'UTC' WHERE NOT (id = ANY($1::text[]))",
                        [except.isEmpty ? "{}" : "{" + except.joined(separator: ",") + "}"])
    }

    static func field(_ line: String?, _ name: String) -> String? {
        guard let line else { return nil }
        for part in line.split(separator: " ") where part.hasPrefix(name + "=") { return String(part.dropFirst(name.count + 1)) }
        return nil
    }

    @Test func aSampleFromTheLedgersHeadThatAnyoneCanDrawAgain() async throws {
        let year = try Self.today.year
        // Cycles that ended over a year ago (whatever the registry's time zone, their moment has passed).
        let month = "\(year - 2)-12"
        try await CPDServerTests.withRegistry(label: "audit-draw") { path, owner in
            let c = try AdminClient(socketPath: path)
            var setup = ["scheme.add code=AUD title=Audited period=fixed length=12 start=01-01 required=10"]
            setup += (1...20).map { String(format: "practitioner.add id=P-%02d name=Member scheme=AUD joined=\(year - 3)-01-01", $0) }
            setup.append("practitioner.add id=P-NEW name=Later scheme=AUD joined=\(year - 1)-03-01")
            // Registered today with a join day years ago: not in the draws of months before today.
            setup.append("practitioner.add id=P-LATE name=Late scheme=AUD joined=\(year - 3)-01-01")
            for line in setup { #expect(try c.request(line).isOK, "\(line)") }
            try Self.registeredWhenTheyJoined(owner, except: ["P-LATE"])

            // Not announced before the month was out: not drawn, whatever the share.
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=10").errorCode == "conflict")
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=0").errorCode == "invalid_argument")
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=100.01").errorCode == "invalid_argument")
            #expect(try c.request("audit.draw scheme=AUD month=\(month)-01 share=10").errorCode == "invalid_argument")
            #expect(try c.request("audit.draw scheme=NOPE month=\(month) share=10").errorCode == "not_found")
            #expect(try c.request("audit.sample scheme=AUD month=\(month)").errorCode == "not_found")
            try Self.announce(owner, "AUD", month, share: "10")
            // No entry recorded since the moment yet: the head at the moment is not settled.
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=10").errorCode == "conflict")
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=50").errorCode == "conflict", "another share than announced")
            for n in 1...3 { #expect(try c.request("entry.adjust practitioner=P-01 points=1 reason=r key=adj-\(n)").isOK) }

            let drawn = try c.request("audit.draw scheme=AUD month=\(month) share=10")
            #expect(drawn.final.hasPrefix("OK sample ") && drawn.final.hasSuffix(" drawn: selected 2 of 20"), "\(drawn.final)")
            let sampleLine = drawn.data.first
            #expect(Self.field(sampleLine, "moment") == "\(year - 1)-01-01T00:00" && Self.field(sampleLine, "state") == "drawn", "\(drawn.data)")
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
            let sample = try c.request("audit.sample scheme=AUD month=\(month)")
            #expect(sample.final == "OK 20 members considered, 20 eligible, 2 selected" && !sample.data.contains { $0.contains("P-NEW") }
                    && !sample.data.contains { $0.contains("P-LATE") }, "P-NEW joined after the cycle, P-LATE was registered after the moment: \(sample.data)")
            let listedKeys = sample.data.dropFirst().compactMap { Self.field($0, "key") }
            #expect(listedKeys == keys.map(\.0).sorted(), "every member's key, lowest first")

            // Drawn once: the same request is the same sample; another share is a conflict.
            let again = try c.request("audit.draw scheme=AUD month=\(month) share=10")
            #expect(again.final.contains(" already drawn: selected 2 of 20") && again.data == drawn.data, "\(again.final)")
            #expect(try c.request("audit.draw scheme=AUD month=\(month) share=50").errorCode == "conflict")
            let audits = try c.request("audit.list scheme=AUD")
            #expect(audits.final == "OK 2 audits" && audits.data.allSatisfy { $0.contains(" state=selected ") }, "\(audits.data)")

            // Announced ahead, through cpdd: once, at one share; not drawn before its moment.
            let ahead = "\(year + 1)-06"
            let announced = try c.request("audit.draw scheme=AUD month=\(ahead) share=15")
            #expect(announced.final.hasSuffix(" announced: drawn from \(year + 1)-07-01 on") && Self.field(announced.data.first, "state") == "announced",
                    "\(announced.final)")
            #expect(try c.request("audit.draw scheme=AUD month=\(ahead) share=15").final.contains(" already announced: "))
            #expect(try c.request("audit.draw scheme=AUD month=\(ahead) share=20").errorCode == "conflict")
            #expect(try c.request("audit.sample scheme=AUD month=\(ahead)").final == "OK announced; drawn from \(year + 1)-07-01 on")

            // An exemption granted before the next cycle's moment (backdated here) and open on a day
            // of that cycle skips the member in its draw.
            let exempted = try #require(expected.sorted().first)
            let audit = try #require(Self.field(audits.data.first { $0.contains("practitioner=\(exempted) ") }, "audit"))
            let until = try Self.today
            let asked = try c.request("audit.ask audit=\(audit) kind=exemption until=\(until) reason=\"Parental leave\"")
            let request = try #require(Self.field(asked.data.first, "pending_request"), "\(asked.data)")
            #expect(try c.request("audit.answer audit=\(audit) request=\(request) decision=granted").final == "OK exempt")
            try owner.query("UPDATE audit SET exempt_from = $1::date, exempt_until = $2::date WHERE id = $3",
                            ["\(year - 2)-12-01", "\(year - 1)-06-30", Int64(audit) ?? 0])
            try Self.announce(owner, "AUD", "\(year - 1)-12", share: "100")
            let next = try c.request("audit.draw scheme=AUD month=\(year - 1)-12 share=100")
            #expect(next.final.hasSuffix(" drawn: selected 20 of 20"), "P-NEW joined in that cycle; \(exempted) is skipped: \(next.final)")
            let nextSample = try c.request("audit.sample scheme=AUD month=\(year - 1)-12")
            #expect(nextSample.data.contains { $0.contains("practitioner=\(exempted) ") && $0.contains(" outcome=exempt") }, "\(nextSample.data)")
            #expect(nextSample.final == "OK 21 members considered, 20 eligible, 20 selected", "\(nextSample.final)")
        }
    }

    @Test func eachCycleIsDrawnInTheMonthItEndsAndARollingWindowOnce() async throws {
        let year = try Self.today.year
        try await CPDServerTests.withRegistry(label: "audit-months") { path, owner in
            let c = try AdminClient(socketPath: path)
            for line in [
                "scheme.add code=ANN title=Anniversary period=anniversary length=12 required=10",
                "practitioner.add id=P-X name=X scheme=ANN joined=\(year - 4)-03-01", "practitioner.add id=P-Y name=Y scheme=ANN joined=\(year - 4)-09-01",
                "scheme.add code=ROLL title=Rolling period=rolling length=12 required=10",
                "practitioner.add id=P-R name=R scheme=ROLL joined=\(year - 5)-01-01",
                "entry.adjust practitioner=P-X points=1 reason=r key=a1",
            ] { #expect(try c.request(line).isOK, "\(line)") }
            try Self.registeredWhenTheyJoined(owner)
            // An anniversary scheme: each member's cycle in the month it ends, X's in February, Y's in August.
            for (month, member) in [("\(year - 3)-02", "P-X"), ("\(year - 3)-08", "P-Y")] {
                try Self.announce(owner, "ANN", month, share: "100")
                let drawn = try c.request("audit.draw scheme=ANN month=\(month) share=100")
                #expect(drawn.final.hasSuffix(" drawn: selected 1 of 1") && drawn.data.dropFirst().first?.contains("practitioner=\(member) ") == true,
                        "\(month): \(drawn.data)")
            }
            // A rolling scheme: the window ending each month's last day; one overlapping a window
            // drawn before is skipped, and one clear of it is drawn again.
            for (month, outcome) in [("\(year - 4)-06", "selected"), ("\(year - 4)-09", "drawn_before"), ("\(year - 3)-07", "selected")] {
                try Self.announce(owner, "ROLL", month, share: "100")
                #expect(try c.request("audit.draw scheme=ROLL month=\(month) share=100").isOK)
                let sample = try c.request("audit.sample scheme=ROLL month=\(month)")
                #expect(sample.data.dropFirst().first?.contains(" outcome=\(outcome)") == true, "\(month): \(sample.data)")
            }
            // Months are drawn in order: not March while January is announced and undrawn, which the
            // nightly report lists as to be drawn.
            try Self.announce(owner, "ROLL", "\(year - 2)-01", share: "100")
            try Self.announce(owner, "ROLL", "\(year - 2)-03", share: "100")
            #expect(try c.request("audit.draw scheme=ROLL month=\(year - 2)-03 share=100").errorCode == "conflict")
            let report = try c.request("report.nightly").data.filter { $0.hasPrefix("section=audits ") && $0.contains(" flag=to_draw ") }
            #expect(report.count == 2 && report.first?.contains(" cycle_start=\(year - 2)-01-01 ") == true, "\(report)")
            #expect(try c.request("audit.draw scheme=ROLL month=\(year - 2)-01 share=100").isOK)
            #expect(try c.request("audit.draw scheme=ROLL month=\(year - 2)-03 share=100").isOK)
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
            try Self.registeredWhenTheyJoined(owner)
            try Self.announce(owner, "AUD", "\(year - 2)-12", share: "100")
            let drawn = try c.request("audit.draw scheme=AUD month=\(year - 2)-12 share=100")
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
            // The report: what each audit waits for.
            func flags() throws -> Set<String> {
                Set(try c.request("report.nightly").data.filter { $0.hasPrefix("section=audits ") }.map {
                    "\(Self.field($0, "practitioner") ?? "") \(Self.field($0, "flag") ?? "")"
                })
            }
            #expect(try c.request("audit.request audit=\(b) due=\(due)").isOK)
            #expect(try flags() == ["P-A extension_asked", "P-B due", "P-C not_requested"])
            let request = try #require(Self.field(try c.request("audit.show audit=\(a)").data.first, "pending_request"))
            #expect(try c.request("audit.answer audit=\(a) request=\((Int(request) ?? 0) + 100) decision=granted").errorCode == "conflict", "not the request waiting")
            let granted = try c.request("audit.answer audit=\(a) request=\(request) decision=granted")
            #expect(granted.final == "OK requested" && Self.field(granted.data.first, "due") == later.description, "\(granted.data)")
            #expect(try c.request("audit.answer audit=\(a) request=\(request) decision=granted").final == "OK already requested")
            #expect(try c.request("audit.answer audit=\(a) request=\(request) decision=refused").errorCode == "conflict", "answered already")
            #expect(try c.request("audit.request audit=\(a) due=\(due)").final == "OK already requested", "the first request, sent again")

            // Evidence in, once per file; not decided before it is reviewed; decided once.
            let submitted = try Self.finals(as: "cpdt_aud_a", cpdctl, socket, [
                "audit.submit audit=\(a) description=\"First aid certificate\" sha256=\(file)",
                "audit.submit audit=\(a) description=\"First aid certificate\" sha256=\(file.uppercased())",
                "audit.submit audit=\(a) description=Short sha256=abc",
            ])
            #expect(submitted.count == 3 && submitted[0] == "OK submitted" && submitted[1] == "OK already submitted"
                    && submitted[2].hasPrefix("ERR invalid_argument sha256"), "\(submitted)")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=Fine").errorCode == "conflict")
            #expect(try flags().contains("P-A to_review"))
            #expect(try c.request("audit.review audit=\(a) note=\"Certificate matches\"").final == "OK reviewed")
            #expect(try flags().contains("P-A to_decide"))
            #expect(try c.request("audit.submit audit=\(a) description=Late sha256=\(String(repeating: "0", count: 64))").errorCode == "conflict")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=\"Hours and certificate match\"").final == "OK passed")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=\"Hours and certificate match\"").final == "OK already passed")
            #expect(try c.request("audit.decide audit=\(a) outcome=failed note=No").errorCode == "conflict")
            #expect(try c.request("audit.decide audit=\(a) outcome=passed note=Other").errorCode == "conflict", "another note is another decision")
            #expect(try c.request("audit.review audit=\(a) note=\"Certificate matches\"").final == "OK already passed")
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
