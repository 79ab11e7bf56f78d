import AdminClient
import LocalPostgres
import CPDCore
import CPDStore
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Testing
import TestSupport

@testable import CPDServer

/// The protocol end to end: a server on a socket, backed by a fresh database, driven as a client would.
@Suite(.serialized) struct ProtocolTests {
    func withRegistry(socketGroup: String? = nil, _ body: @escaping @Sendable (String, PostgresConnection) throws -> Void) async throws {
        try await CPDServerTests.withRegistry(label: "proto", socketGroup: socketGroup, body)
    }

    @Test func everyUserJobWorksOverTheSocket() async throws {
        try await withRegistry { path, _ in
            let c = try AdminClient(socketPath: path)
            // Entries are recorded by whoever runs the tests (root in CI, a developer at home).
            let me = String(cString: getpwuid(geteuid()).pointee.pw_name)
            func ok(_ line: String, _ expected: String = "OK") throws -> [String] {
                let response = try c.request(line)
                #expect(response.final == expected, "\(line)")
                return response.data
            }
            // The registry admin sets things up.
            _ = try ok(#"provider.add code=CALMHANDS name="Calm Hands Education""#)
            _ = try ok(#"course.add provider=CALMHANDS code=MH-EVID title="Massage and mental health: the evidence" points=3 hours=3 category=mental_health delivery=online modalities=remedial,myotherapy summary="Cortisol, serotonin and mood.""#, "OK course MH-EVID version 1 (draft)")
            _ = try ok(#"course.add provider=CALMHANDS code=NMT-ANX title="Neuromuscular technique for anxiety-related tension" points=8 hours=7.5 category=clinical delivery=in_person"#, "OK course NMT-ANX version 1 (draft)")
            #expect(try c.request("course.search q=anxiety").final == "OK 0 courses", "drafts are not listed")
            _ = try ok("course.publish code=MH-EVID", "OK published")
            _ = try ok("course.publish code=NMT-ANX", "OK published")
            let shown = try ok("course.show code=MH-EVID")
            #expect(shown == [#"code=MH-EVID title="Massage and mental health: the evidence" provider=CALMHANDS points=3.00 hours=3.00 category=mental_health delivery=online modalities=remedial,myotherapy status=published version=1 summary="Cortisol, serotonin and mood.""#])
            let found = try ok("course.search q=anxiety limit=2", "OK 1 courses")
            #expect(found.first?.hasPrefix("code=NMT-ANX ") == true)
            _ = try ok("course.update code=MH-EVID points=4", "OK version=2")
            _ = try ok("scheme.add code=MYO-AA title=\"Myotherapy (demo)\" period=fixed length=12 start=07-01 required=20")
            _ = try ok("scheme.rule scheme=MYO-AA delivery=in_person min=4")
            _ = try ok("scheme.certificate scheme=MYO-AA kind=first_aid")
            #expect(try ok("scheme.show code=MYO-AA") == [
                #"kind=scheme code=MYO-AA title="Myotherapy (demo)" period=fixed length=12 start=07-01 required=20.00 pro_rata=none"#,
                #"kind=rule rule="delivery=in_person min=4""#, "kind=certificate certificate=first_aid",
            ])
            _ = try ok(#"practitioner.add id=P-1001 name="Megan O'Donnell" scheme=MYO-AA joined=2021-03-15 modalities=myotherapy"#)
            _ = try ok("certificate.add practitioner=P-1001 kind=first_aid issued=2025-01-01 expires=2028-01-01 ref=HLTAID011")
            // A provider reports completions; a retry is answered again, never applied twice.
            _ = try ok("completion.record practitioner=P-1001 course=NMT-ANX completed=2026-08-22 key=roster-77-row-3", "OK entry=1 points=8.00")
            _ = try ok("completion.record practitioner=P-1001 course=NMT-ANX completed=2026-08-22 key=roster-77-row-3", "OK entry=1 points=8.00")
            _ = try ok("completion.record practitioner=P-1001 course=MH-EVID completed=2026-10-01 key=roster-77-row-4", "OK entry=2 points=4.00")
            #expect(try c.request("completion.record practitioner=P-9999 course=MH-EVID completed=2026-11-20 key=roster-77-row-5").final == "ERR not_found no practitioner P-9999")
            // The admin adjusts and reverses.
            _ = try ok("entry.adjust practitioner=P-1001 points=-1 reason=\"double counted\" key=adj-1", "OK entry=3 points=-1.00")
            _ = try ok("entry.reverse entry=3 reason=\"adjusted in error\" key=rev-1", "OK entry=4 points=1.00")
            // The practitioner's standing and statement.
            let standing = try ok("points practitioner=P-1001 on=2026-11-21")
            #expect(standing.first == "kind=summary practitioner=P-1001 scheme=MYO-AA cycle_start=2026-07-01 cycle_end=2027-06-30 required=20.00 earned=12.00 counted=12.00 carried=0.00 shortfall=8.00 status=on_track days_left=221")
            #expect(standing.dropFirst().first == #"kind=rule rule="delivery=in_person min=4" value=8.00 limit=4.00 met=yes"#)
            #expect(standing.last == "kind=certificate certificate=first_aid state=current expires=2028-01-01")
            let statement = try ok("statement practitioner=P-1001", "OK 4 entries")
            #expect(statement.first == "entry=1 kind=completion date=2026-08-22 points=8.00 course=NMT-ANX version=1 recorded_by=\(me)")
            // The adjustment and its reversal are dated today (whatever day the test runs).
            let reversal = try #require(statement.first { $0.hasPrefix("entry=4 ") })
            #expect(reversal.contains(" kind=reversal ") && reversal.contains(" points=1.00 reverses=3 reason=\"adjusted in error\" recorded_by=\(me)"))
            // The nightly job checks the ledger.
            #expect(try c.request("ledger.verify").final.hasPrefix("OK entries=4 head="))
            // Principals.
            _ = try ok("principal.add user=nobody role=practitioner practitioner=P-1001")
            #expect(try ok("principal.list", "OK 1 principals") == ["user=nobody role=practitioner practitioner=P-1001"])
            _ = try ok("principal.remove user=nobody")
            #expect(try c.request("principal.remove user=nobody").errorCode == "not_found")
            // JSON data lines.
            _ = try ok("format json", "OK format json")
            #expect(try ok("scheme.show code=MYO-AA").last == #"{"kind":"certificate","certificate":"first_aid"}"#)
        }
    }

    @Test func badInputGetsItsCodeAndChangesNothing() async throws {
        try await withRegistry { path, db in
            let c = try AdminClient(socketPath: path)
            for line in [
                "provider.add code=CALM name=Calm", "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online",
                "course.publish code=C1", "scheme.add code=S title=S period=fixed length=12 start=07-01 required=20",
                "practitioner.add id=P-1 name=Pat scheme=S joined=2025-01-01",
                "completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=k1",
            ] {
                #expect(try c.request(line).isOK, "\(line)")
            }
            func snapshot() throws -> String {
                try db.query("""
                    SELECT (SELECT count(*) FROM provider) || '/' || (SELECT count(*) FROM course_version) || '/' || (SELECT count(*) FROM course_event)
                        || '/' || (SELECT count(*) FROM scheme) || '/' || (SELECT count(*) FROM scheme_rule) || '/' || (SELECT count(*) FROM practitioner)
                        || '/' || (SELECT count(*) FROM certificate) || '/' || (SELECT count(*) FROM ledger_entry) || '/' || (SELECT count(*) FROM principal)
                    """)[0][0]
            }
            let before = try snapshot()
            let catalogue: [(String, String)] = [
                ("course.show", "invalid_argument"), ("course.show code=C1 extra=1", "invalid_argument"), ("nosuch.command", "unknown_command"),
                ("course.show code=\"open", "syntax"), ("course.show code=a\"b", "syntax"), ("course.show \"code\"=C1", "syntax"),
                ("course.show code=NOPE", "not_found"), ("course.show code=lower", "not_found"),
                ("provider.add code=lower name=x", "invalid_argument"), ("provider.add code=CALM name=Other", "conflict"),
                ("provider.add code=X name=\"\"", "invalid_argument"),
                ("course.add provider=CALM code=C2 title=T points=abc hours=1 category=clinical delivery=online", "invalid_argument"),
                ("course.add provider=CALM code=C2 title=T points=1.234 hours=1 category=clinical delivery=online", "invalid_argument"),
                ("course.add provider=CALM code=C2 title=T points=0 hours=1 category=clinical delivery=online", "invalid_argument"),
                ("course.add provider=CALM code=C2 title=T points=1 hours=1 category=clinical delivery=teleport", "invalid_argument"),
                ("course.add provider=CALM code=C2 title=T points=1 hours=1 category=Clinical delivery=online", "invalid_argument"),
                ("course.add provider=NOPE code=C2 title=T points=1 hours=1 category=clinical delivery=online", "not_found"),
                ("course.add provider=CALM code=C1 title=T points=1 hours=1 category=clinical delivery=online", "conflict"),
                ("course.publish code=C1", "conflict"), ("course.update code=C1", "invalid_argument"),
                ("course.search limit=0", "invalid_argument"), ("course.search limit=many", "invalid_argument"), ("course.search delivery=x", "invalid_argument"),
                ("scheme.add code=S2 title=S period=weekly length=1 required=1", "invalid_argument"),
                ("scheme.add code=S2 title=S period=fixed length=24 start=09-01 required=1", "invalid_argument"),
                ("scheme.add code=S2 title=S period=rolling length=999 required=1", "invalid_argument"),
                ("scheme.add code=S title=S period=rolling length=12 required=1", "conflict"),
                ("scheme.rule scheme=S min=1", "invalid_argument"), ("scheme.rule scheme=S category=ethics min=1 max=2", "invalid_argument"),
                ("scheme.rule scheme=S category=ethics min_share=101", "invalid_argument"), ("scheme.rule scheme=NOPE category=ethics min=1", "not_found"),
                ("practitioner.add id=P-2 name=A scheme=NOPE joined=2025-01-01", "not_found"),
                ("practitioner.add id=P-2 name=A scheme=S joined=2025-02-30", "invalid_argument"),
                ("practitioner.add id=P-1 name=Other scheme=S joined=2025-01-01", "conflict"),
                ("certificate.add practitioner=P-1 kind=first_aid issued=2026-01-01 expires=2025-01-01", "invalid_argument"),
                ("certificate.add practitioner=P-404 kind=first_aid issued=2025-01-01 expires=2026-01-01", "not_found"),
                ("completion.record practitioner=P-1 course=C1 completed=2026-08-02 key=k1", "conflict"),
                ("completion.record practitioner=P-1 course=C1 completed=2099-01-01 key=k2", "invalid_argument"),
                ("completion.record practitioner=P-1 course=C1 completed=2024-12-31 key=k3", "invalid_argument"),
                ("completion.record practitioner=P-1 course=C1 completed=yesterday key=k4", "invalid_argument"),
                ("completion.record practitioner=P-1 course=NOPE completed=2026-08-01 key=k5", "not_found"),
                ("completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=\"\"", "invalid_argument"),
                ("entry.reverse entry=x reason=r key=r1", "invalid_argument"), ("entry.reverse entry=99 reason=r key=r1", "not_found"),
                ("entry.adjust practitioner=P-1 points=0 reason=r key=a1", "invalid_argument"),
                ("entry.adjust practitioner=P-1 points=1 reason=\"\" key=a1", "invalid_argument"),
                ("points", "invalid_argument"), ("points practitioner=P-404", "not_found"), ("points practitioner=P-1 on=soon", "invalid_argument"),
                ("statement practitioner=P-1 from=2026-13-01", "invalid_argument"),
                ("principal.add role=wizard user=nobody", "invalid_argument"), ("principal.add role=reporter", "invalid_argument"),
                ("principal.add role=provider user=nobody", "invalid_argument"), ("principal.add role=provider provider=NOPE user=nobody", "not_found"),
                ("principal.add role=reporter uid=abc", "invalid_argument"),
                ("principal.add role=reporter user=cpd_no_such_account", "not_found"), ("principal.add role=reporter user=Bad!", "invalid_argument"),
                ("format yaml", "invalid_argument"), ("help nosuch", "not_found"), ("ping extra", "invalid_argument"),
                ("report.nightly date=2026-02-30", "invalid_argument"), ("report.nightly day=2026-01-01", "invalid_argument"),
            ]
            for (line, code) in catalogue {
                let response = try c.request(line)
                #expect(response.errorCode == code, "\(line) → \(response.final)")
            }
            #expect(try c.request("ping").final == "OK pong", "the connection is still usable")
            #expect(try snapshot() == before, "nothing changed")
            #expect(catalogue.count >= 50)
        }
    }
}

/// Every command against every role, from real Unix accounts made for the test, each connecting with
/// cpdctl as itself: the server must tell them apart by their kernel credentials.
@Suite(.serialized, .enabled(if: geteuid() == 0, "creating Unix accounts needs root"))
struct RoleMatrixTests {
    static let group = "cpdtest"
    static let accounts: [(user: String, role: Role?)] = [
        ("cpdt_admin", .admin), ("cpdt_prov", .provider), ("cpdt_prac", .practitioner), ("cpdt_rep", .reporter), ("cpdt_none", nil),
    ]

    static func run(_ arguments: [String]) throws -> (Int32, String) { try ChildProcess.run(arguments) }

    /// Who may use each command, copied from the contract (shared/spec/protocol.md), not from the
    /// server's own table, so that a wrong table fails this test.
    static let contract: [String: Set<Role>] = {
        let all = Set(Role.allCases)
        var who: [String: Set<Role>] = [:]
        for c in ["ping", "whoami", "help", "format", "quit", "course.show", "course.search", "scheme.show"] { who[c] = all }
        for c in ["provider.add", "scheme.add", "scheme.rule", "scheme.certificate", "practitioner.add", "entry.adjust",
                  "principal.add", "principal.list", "principal.remove"] { who[c] = [.admin] }
        for c in ["course.add", "course.update", "course.publish", "course.retire", "certificate.add", "completion.record", "entry.reverse"] {
            who[c] = [.admin, .provider]
        }
        for c in ["points", "statement"] { who[c] = [.admin, .reporter, .practitioner] }
        who["renewal.submit"] = [.admin, .practitioner]
        who["renewal.approve"] = [.admin]
        for c in ["audit.draw", "audit.request", "audit.review", "audit.decide", "audit.answer"] { who[c] = [.admin] }
        for c in ["audit.submit", "audit.ask"] { who[c] = [.admin, .practitioner] }
        for c in ["audit.list", "audit.show"] { who[c] = [.admin, .reporter, .practitioner] }
        who["audit.sample"] = [.admin, .reporter]
        who["ledger.verify"] = [.admin, .reporter]
        who["report.nightly"] = [.admin, .reporter]
        return who
    }()

    static func createAccounts() throws { try TestAccounts.create(accounts.map(\.user), group: group) }

    static func removeAccounts() { TestAccounts.remove(accounts.map(\.user), group: group) }

    /// Final lines (OK or ERR) of each response to `lines`, sent by `user` through cpdctl.
    static func finals(as user: String, cpdctl: String, socket: String, _ lines: [String]) throws -> [String] {
        let (_, output) = try run(["/usr/sbin/runuser", "-u", user, "--", cpdctl, "send", "--socket", socket] + lines)
        return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("OK") || $0.hasPrefix("ERR ") }
    }

    @Test func eachRoleMayUseExactlyItsCommands() async throws {
        try Self.createAccounts()
        defer { Self.removeAccounts() }
        try await ProtocolTests().withRegistry(socketGroup: Self.group) { socket, _ in
            // cpdctl where every account can run it (the checkout may sit in a closed directory).
            let cpdctl = try cpdctlBeside(socket)
            let admin = try AdminClient(socketPath: socket)
            for line in [
                "provider.add code=CALM name=Calm", "provider.add code=BOWEN name=Bowen",
                "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online", "course.publish code=C1",
                "course.add provider=BOWEN code=C2 title=T points=3 hours=3 category=clinical delivery=online", "course.publish code=C2",
                "scheme.add code=S title=S period=fixed length=12 start=07-01 required=20",
                "practitioner.add id=P-1 name=Pat scheme=S joined=2025-01-01", "practitioner.add id=P-2 name=Sam scheme=S joined=2025-01-01",
                "completion.record practitioner=P-1 course=C2 completed=2026-08-01 key=k0",
                "principal.add user=cpdt_admin role=admin", "principal.add user=cpdt_prov role=provider provider=CALM",
                "principal.add user=cpdt_prac role=practitioner practitioner=P-1", "principal.add user=cpdt_rep role=reporter",
            ] {
                #expect(try admin.request(line).isOK, "\(line)")
            }
            for (user, role) in Self.accounts {
                guard let role else {
                    let (status, output) = try Self.run(["/usr/sbin/runuser", "-u", user, "--", cpdctl, "ping", "--socket", socket])
                    #expect(status == 3 && output.contains("ERR permission_denied no principal for account cpdt_none"), "\(output)")
                    continue
                }
                let tag = role.rawValue.uppercased()
                let samples: [String: String] = [
                    "ping": "ping", "whoami": "whoami", "help": "help", "format": "format text", "quit": "ping",
                    "provider.add": "provider.add code=P-\(tag) name=New",
                    "course.add": "course.add provider=CALM code=X-\(tag) title=T points=1 hours=1 category=clinical delivery=online",
                    "course.update": "course.update code=C1 title=\"T \(tag)\"", "course.publish": "course.publish code=C1",
                    "course.retire": "course.retire code=NOPE", "course.show": "course.show code=C1", "course.search": "course.search q=massage",
                    "scheme.add": "scheme.add code=S-\(tag) title=S period=rolling length=12 required=1",
                    "scheme.rule": "scheme.rule scheme=S category=c_\(role.rawValue) min=1", "scheme.certificate": "scheme.certificate scheme=S kind=k_\(role.rawValue)",
                    "scheme.show": "scheme.show code=S", "practitioner.add": "practitioner.add id=P-\(tag) name=A scheme=S joined=2025-01-01",
                    "certificate.add": "certificate.add practitioner=P-1 kind=first_aid issued=2025-01-01 expires=2028-01-01",
                    "completion.record": "completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=k-\(tag)",
                    "entry.reverse": "entry.reverse entry=999 reason=r key=r-\(tag)", "entry.adjust": "entry.adjust practitioner=P-1 points=1 reason=r key=a-\(tag)",
                    "points": "points practitioner=P-1", "statement": "statement practitioner=P-1", "ledger.verify": "ledger.verify",
                    "renewal.submit": "renewal.submit practitioner=P-1", "renewal.approve": "renewal.approve practitioner=P-1",
                    "report.nightly": "report.nightly date=2026-11-01",
                    "audit.draw": "audit.draw scheme=S month=2024-06 share=10", "audit.sample": "audit.sample scheme=S month=2024-06",
                    "audit.list": "audit.list", "audit.show": "audit.show audit=999", "audit.request": "audit.request audit=999 due=2030-01-01",
                    "audit.submit": "audit.submit audit=999 description=Certificate sha256=\(String(repeating: "ab", count: 32))",
                    "audit.review": "audit.review audit=999", "audit.decide": "audit.decide audit=999 outcome=passed note=Fine",
                    "audit.ask": "audit.ask audit=999 kind=exemption until=2030-01-01 reason=Leave",
                    "audit.answer": "audit.answer audit=999 request=1 decision=granted",
                    "principal.add": "principal.add role=reporter user=zz_\(role.rawValue)", "principal.list": "principal.list",
                    "principal.remove": "principal.remove user=nobody_here",
                ]
                let commands = CommandTable.all.map(\.name)
                #expect(Set(samples.keys) == Set(commands), "a sample for every command")
                #expect(Set(Self.contract.keys) == Set(commands), "the contract's commands are the server's")
                let answers = try Self.finals(as: user, cpdctl: cpdctl, socket: socket, commands.map { samples[$0]! })
                #expect(answers.count == commands.count, "\(user): \(answers)")
                for (command, answer) in zip(commands, answers) {
                    let allowed = Self.contract[command]!.contains(role)
                    #expect(answer.hasPrefix("ERR permission_denied") == !allowed, "\(role) \(command): \(answer)")
                }
                // Ownership within a role: a provider's own courses and entries, a practitioner's own points.
                let owned = try Self.finals(as: user, cpdctl: cpdctl, socket: socket, [
                    "course.update code=C2 title=Other", "completion.record practitioner=P-1 course=C2 completed=2026-08-02 key=own-\(tag)",
                    "entry.reverse entry=1 reason=r key=rev-\(tag)", "points practitioner=P-2", "points", "renewal.submit practitioner=P-2",
                ])
                switch role {
                case .provider:
                    #expect(owned[0].hasPrefix("ERR permission_denied") && owned[1].hasPrefix("ERR permission_denied") && owned[2].hasPrefix("ERR permission_denied"), "\(owned)")
                case .practitioner:
                    #expect(owned[3].hasPrefix("ERR permission_denied") && owned[4] == "OK" && owned[5].hasPrefix("ERR permission_denied"), "\(owned)")
                case .admin:
                    #expect(owned.allSatisfy { !$0.hasPrefix("ERR permission_denied") } && owned[4].hasPrefix("ERR invalid_argument"), "\(owned)")
                case .reporter:
                    #expect(owned[3] == "OK" && owned[0].hasPrefix("ERR permission_denied"), "\(owned)")
                }
            }
        }
    }
}

private func UnixAccountExists(_ name: String) -> Bool { getpwnam(name) != nil }

/// cpdctl as a person or a cron job uses it.
@Suite(.serialized) struct CPDCtlTests {
    let cpdctl = Checkout.product("cpdctl")

    @Test func oneShotCommandsJsonAndExitCodes() async throws {
        try await ProtocolTests().withRegistry { socket, _ in
            let setup = try AdminClient(socketPath: socket)
            for line in ["provider.add code=CALM name=Calm", "course.add provider=CALM code=C1 title=\"Stress and mood\" points=3 hours=3 category=mental_health delivery=online", "course.publish code=C1"] {
                #expect(try setup.request(line).isOK)
            }
            let (shown, output) = try ChildProcess.run([cpdctl, "course", "show", "--code", "C1", "--socket", socket])
            #expect(shown == 0 && output.hasPrefix("* code=C1 title=\"Stress and mood\""), "\(output)")
            let (json, jsonOutput) = try ChildProcess.run([cpdctl, "--json", "course.show", "--code=C1", "--socket", socket])
            #expect(json == 0 && jsonOutput.hasPrefix(#"* {"code":"C1","title":"Stress and mood""#), "\(jsonOutput)")
            let (missing, _) = try ChildProcess.run([cpdctl, "course", "show", "--code", "NOPE", "--socket", socket])
            #expect(missing == 1)
            let (usage, _) = try ChildProcess.run([cpdctl, "send", "--bogus"])
            #expect(usage == 2)
            let (cannot, _) = try ChildProcess.run([cpdctl, "ping", "--socket", socket + ".nothing-here"])
            #expect(cannot == 3)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func theShellOnATerminalEditsAndRecallsHistory() async throws {
        try await ProtocolTests().withRegistry { socket, _ in
            let home = (socket as NSString).deletingLastPathComponent
            // Typed at a terminal: ping; "whoamx", backspace, "i"; up twice (back to ping); quit.
            let keys = #"printf 'ping\n'; sleep 0.3; printf 'whoamx\177i\n'; sleep 0.3; printf '\033[A\033[A\n'; sleep 0.3; printf 'quit\n'"#
            let command = "(\(keys)) | HOME=\(home) /usr/bin/script -qec '\(cpdctl) --socket \(socket)' /dev/null"
            let (status, output) = try ChildProcess.run(["/bin/bash", "-c", command])
            #expect(status == 0, "\(output)")
            #expect(output.components(separatedBy: "OK pong").count - 1 == 2, "ping, then ping again from history: \(output)")
            #expect(output.contains("* principal=") && output.contains("OK bye"))
            let history = try String(contentsOfFile: home + "/.cpdctl_history", encoding: .utf8)
            #expect(history == "ping\nwhoami\nping\nquit\n")
        }
    }

    @Test func importRecordsEachRowOnceAndNamesTheRejectedOnes() async throws {
        try await ProtocolTests().withRegistry { socket, db in
            let setup = try AdminClient(socketPath: socket)
            for line in [
                "provider.add code=CALM name=Calm", "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online",
                "course.publish code=C1", "scheme.add code=S title=S period=fixed length=12 start=07-01 required=20",
                "practitioner.add id=P-1 name=Pat scheme=S joined=2025-01-01", "practitioner.add id=P-2 name=Sam scheme=S joined=2025-01-01",
            ] {
                #expect(try setup.request(line).isOK)
            }
            // A spreadsheet export: a byte-order mark, CRLF, columns in another order, a quoted key with a
            // comma and a doubled quote, a quoted field across a line break, and rows that must be refused.
            let csv = "\u{FEFF}key,course,practitioner,completed\r\n"
                + "row-1,C1,P-1,2026-08-01\r\n"
                + "\"row-2, \"\"b\"\"\",C1,P-2,2026-08-02\r\n"
                + "\"row\n3\",C1,P-1,2026-08-03\r\n"
                + "row-4,C1,P-404,2026-08-04\r\n"
                + "row-5,C1,P-1,2099-01-01\r\n"
                + "row-6,C1\r\n"
                + "row-7,NOPE,P-1,2026-08-07\r\n"
            let file = (socket as NSString).deletingLastPathComponent + "/roster.csv"
            try csv.write(toFile: file, atomically: true, encoding: .utf8)
            let (status, output) = try ChildProcess.run([cpdctl, "import", "completions", file, "--socket", socket])
            #expect(status == 1)
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.first == "recorded 3, replayed 0, rejected 4", "\(output)")
            #expect(lines.dropFirst().map { String($0.prefix(while: { $0 != ":" })) } == ["line 6", "line 7", "line 8", "line 9"], "\(output)")
            #expect(lines.contains("line 6: ERR not_found no practitioner P-404"))
            #expect(try db.query("SELECT idempotency_key FROM ledger_entry ORDER BY id").map { try $0[0] as String } == ["row-1", "row-2, \"b\"", "row\n3"], "the roster's order")
            let (again, rerun) = try ChildProcess.run([cpdctl, "import", "completions", file, "--socket", socket])
            #expect(again == 1 && rerun.hasPrefix("recorded 0, replayed 3, rejected 4"), "\(rerun)")
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == 3, "nothing twice")
            try "practitioner,course,completed\nP-1,C1,2026-08-01\n".write(toFile: file, atomically: true, encoding: .utf8)
            let (noKey, why) = try ChildProcess.run([cpdctl, "import", "completions", file, "--socket", socket])
            #expect(noKey == 2 && why.contains("no column 'key'"), "\(why)")
        }
    }
}

/// Group commit: completions share transactions, from many connections or pipelined on one.
@Suite(.serialized) struct GroupCommitTests {
    static let setup = [
        "provider.add code=CALM name=Calm", "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online",
        "course.publish code=C1", "scheme.add code=S title=S period=fixed length=12 start=07-01 required=20",
        "practitioner.add id=P-1 name=Pat scheme=S joined=2025-01-01",
    ]

    @Test func pipelinedCompletionsShareTransactionsAndABadOneFailsAlone() async throws {
        try await ProtocolTests().withRegistry { socket, db in
            let c = try AdminClient(socketPath: socket)
            for line in Self.setup { #expect(try c.request(line).isOK) }
            // 600 completions in one write; every 50th names a practitioner that does not exist.
            var lines: [String] = []
            for i in 0..<600 {
                let who = i % 50 == 7 ? "P-404" : "P-1"
                lines.append("completion.record practitioner=\(who) course=C1 completed=2026-08-01 key=row-\(i)")
            }
            // A practitioner added in the middle of the pipeline, and a completion for them right after.
            lines.insert("practitioner.add id=P-2 name=Sam scheme=S joined=2025-01-01", at: 300)
            lines.insert("completion.record practitioner=P-2 course=C1 completed=2026-08-01 key=late", at: 301)
            try c.send(lines.joined(separator: "\n"))
            var entries: [Int64] = []
            var keyOf: [Int64: String] = [:]
            for (index, line) in lines.enumerated() {
                let response = try c.readResponse()
                if line.contains("P-404") {
                    #expect(response.final == "ERR not_found no practitioner P-404", "\(index)")
                } else if line.hasPrefix("completion.record") {
                    #expect(response.final.hasPrefix("OK entry=") && response.final.hasSuffix(" points=3.00"), "\(index): \(response.final)")
                    let entry = Int64(response.final.dropFirst("OK entry=".count).prefix(while: { $0 != " " }))!
                    entries.append(entry)
                    keyOf[entry] = String(line.split(separator: "key=").last!)
                } else {
                    #expect(response.isOK, "\(index): \(response.final)")
                }
            }
            // Each answer is its own request's: the entry it names was recorded under that request's key.
            let recorded = try db.query("SELECT id, idempotency_key FROM ledger_entry").reduce(into: [Int64: String]()) { map, row in
                map[try row[0] as Int64] = try row[1] as String
            }
            #expect(Set(entries).count == entries.count && keyOf == recorded, "answers in request order")
            #expect(entries == entries.sorted(), "recorded in request order too")
            #expect(entries.count == 601 - 12)
            // Every acknowledged entry is committed and visible to another connection.
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == entries.count)
            let transactions: Int = try db.query("SELECT count(DISTINCT recorded_at) FROM ledger_entry")[0][0]
            #expect(transactions < entries.count / 5, "grouped into \(transactions) transactions")
            print("group commit: \(entries.count) pipelined completions in \(transactions) transactions")
        }
    }

    /// Two senders pipeline completions at once, so that their requests share batches; a few carry a
    /// key the database would refuse (NUL, or 201 code points that Swift counts as one character).
    /// Only those fail, with invalid_argument; every other request is recorded.
    @Test func aKeyTheDatabaseWouldRefuseFailsOnlyItsOwnRequest() async throws {
        try await ProtocolTests().withRegistry { socket, db in
            let setup = try AdminClient(socketPath: socket)
            for line in Self.setup { #expect(try setup.request(line).isOK) }
            let combining = "e" + String(repeating: "\u{301}", count: 200)
            #expect(combining.count == 1 && combining.unicodeScalars.count == 201)
            let bad = ["nul-\u{0}-key", combining, String(repeating: "k", count: 201)]
            let outcomes = Locked([String: [(String, String)]]())
            let senders = (0..<2).map { sender in
                Thread {
                    guard let c = try? AdminClient(socketPath: socket) else { return }
                    var lines: [String] = []
                    for i in 0..<300 {
                        let key = i % 100 == 50 ? bad[(i / 100 + sender) % bad.count] : "s\(sender)-\(i)"
                        lines.append("completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=\(key)")
                    }
                    try? c.send(lines.joined(separator: "\n"))
                    var got: [(String, String)] = []
                    for line in lines { got.append((line, (try? c.readResponse().final) ?? "no answer")) }
                    outcomes.withLock { $0["\(sender)"] = got }
                }
            }
            senders.forEach { $0.start() }
            let start = ContinuousClock.now
            while outcomes.value.count < 2, ContinuousClock.now - start < .seconds(60) { usleep(10_000) }
            let all = outcomes.value.values.flatMap { $0 }
            #expect(all.count == 600)
            var refused = 0
            for (line, final) in all {
                if bad.contains(where: { line.hasSuffix("key=\($0)") }) {
                    refused += 1
                    #expect(final.hasPrefix("ERR invalid_argument key: "), "\(final)")
                } else {
                    #expect(final.hasPrefix("OK entry="), "\(line.suffix(12)): \(final)")
                }
            }
            #expect(refused == 6)
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == 594)
        }
    }

    @Test func theFirstOfTwoRequestsWithOneKeyInAPipelineWins() async throws {
        try await ProtocolTests().withRegistry { socket, _ in
            let c = try AdminClient(socketPath: socket)
            for line in Self.setup { #expect(try c.request(line).isOK) }
            for round in 0..<20 {
                try c.send("""
                    completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=dup-\(round)
                    completion.record practitioner=P-1 course=C1 completed=2026-08-02 key=dup-\(round)
                    completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=dup-\(round)
                    """)
                let first = try c.readResponse(), second = try c.readResponse(), third = try c.readResponse()
                #expect(first.isOK && second.errorCode == "conflict" && third.final == first.final, "round \(round)")
            }
        }
    }

    @Test func completionsFromManyConnectionsAreGrouped() async throws {
        try await ProtocolTests().withRegistry { socket, db in
            let setup = try AdminClient(socketPath: socket)
            for line in Self.setup { #expect(try setup.request(line).isOK) }
            let answers = Locked([String]())
            let threads = (0..<40).map { n in
                Thread {
                    guard let c = try? AdminClient(socketPath: socket) else { return }
                    for i in 0..<5 {
                        let final = (try? c.request("completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=c\(n)-\(i)").final) ?? "none"
                        answers.withLock { $0.append(final) }
                    }
                }
            }
            threads.forEach { $0.start() }
            let start = ContinuousClock.now
            while answers.value.count < 200, ContinuousClock.now - start < .seconds(60) { usleep(10_000) }
            #expect(answers.value.count == 200 && answers.value.allSatisfy { $0.hasPrefix("OK entry=") })
            let transactions: Int = try db.query("SELECT count(DISTINCT recorded_at) FROM ledger_entry")[0][0]
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == 200)
            #expect(transactions < 200, "some completions shared a transaction")
            print("group commit: 200 completions from 40 connections in \(transactions) transactions")
        }
    }
}

/// The database going away under a running server, on a cluster of the test's own.
@Suite(.serialized) struct DatabaseOutageTests {
    @Test func whileTheDatabaseIsDownCommandsAreUnavailableQuicklyAndServiceResumesAlone() async throws {
        let cluster = try LocalPostgresCluster(directory: TestDatabase.scratchDirectory("outage") + "/postgres", settings: ["fsync": "off"])
        try cluster.initializeIfNeeded()
        try cluster.start()
        defer { try? cluster.destroy() }
        let conninfo = cluster.conninfo()
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(PostgresConnection(conninfo: conninfo))
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 4, acquireTimeout: .seconds(2), sessionSetup: ApplicationRole.sessionSetup))
        let path = (cluster.directory as NSString).deletingLastPathComponent + "/cpdd.sock"
        let ready = Locked(false)
        let server = AdminServer(configuration: .init(socketPath: path), resolver: .database(RegistryStore(pool: pool)), runner: CommandRunner(store: RegistryStore(pool: pool)), ready: { ready.withLock { $0 = true } })
        let group = ServiceGroup(configuration: .init(services: [pool, server], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        while !ready.value { try await Task.sleep(for: .milliseconds(10)) }
        defer { running.cancel() }

        try await runBlocking {
            let c = try AdminClient(socketPath: path)
            #expect(try c.request("provider.add code=CALM name=Calm").isOK)
            try cluster.stop()
            for line in ["course.search", "provider.add code=BOWEN name=Bowen", "ledger.verify"] {
                let start = ContinuousClock.now
                let response = try c.request(line)
                #expect(response.errorCode == "unavailable", "\(line): \(response.final)")
                #expect(ContinuousClock.now - start < .seconds(3), "answered quickly, not hung")
            }
            #expect(try c.request("ping").final == "OK pong", "the daemon itself is up")
            try cluster.start()
            let back = ContinuousClock.now
            var recovered = false
            while ContinuousClock.now - back < .seconds(5) {
                if try c.request("provider.add code=BOWEN name=Bowen").isOK { recovered = true; break }
                usleep(100_000)
            }
            #expect(recovered, "serving again within 5 seconds of the database's return")
            #expect(try c.request("course.search").isOK)
        }
        await group.triggerGracefulShutdown()
        try? await running.value
    }
}

/// Shutting down with requests in flight: what was acknowledged was applied, and nothing else.
@Suite(.serialized) struct ShutdownTests {
    @Test func onShutdownEveryRequestReadIsAnsweredAndOnlyAnsweredOnesApplied() async throws {
        let conninfo = try TestDatabase.fresh("shutdown")
        try Migrator(set: try MigrationSet(directory: Checkout.root + "/sql/migrations")).migrate(PostgresConnection(conninfo: conninfo))
        let pool = PostgresPool(configuration: .init(conninfo: conninfo, maxConnections: 4, sessionSetup: ApplicationRole.sessionSetup))
        let path = try TestDatabase.scratchDirectory("shutdown") + "/cpdd.sock"
        let ready = Locked(false)
        let server = AdminServer(configuration: .init(socketPath: path), resolver: .database(RegistryStore(pool: pool)), runner: CommandRunner(store: RegistryStore(pool: pool)), ready: { ready.withLock { $0 = true } })
        let group = ServiceGroup(configuration: .init(services: [pool, server], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        while !ready.value { try await Task.sleep(for: .milliseconds(10)) }
        // The client moves from the thread that sends to the one that reads; one at a time.
        final class Handoff: @unchecked Sendable { let client: AdminClient; init(_ c: AdminClient) { client = c } }
        let handoff = try await runBlocking { () -> Handoff in
            let c = try AdminClient(socketPath: path)
            for line in GroupCommitTests.setup { _ = try c.request(line) }
            let lines = (0..<2000).map { "completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=s-\($0)" }
            try c.send(lines.joined(separator: "\n"))
            return Handoff(c)
        }
        await group.triggerGracefulShutdown()
        let answered = try await runBlocking { () -> Int in
            var count = 0
            while let response = try? handoff.client.readResponse() {
                #expect(response.isOK, "\(response.final)")
                count += 1
            }
            return count
        }
        try? await running.value
        let applied: Int = try PostgresConnection(conninfo: conninfo).query("SELECT count(*) FROM ledger_entry")[0][0]
        #expect(applied == answered, "every acknowledged completion is applied, and nothing unacknowledged")
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed")
        print("shutdown: \(answered) of 2000 pipelined completions answered before the connection closed")
    }
}
