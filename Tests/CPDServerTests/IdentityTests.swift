import AdminClient
import CPDCore
import Foundation
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// Who a request comes from, told by real Unix accounts made for the test: keys belong to what the
/// sender acts for, a provider reverses what it recorded, and a removed principal's open connection
/// is refused.
@Suite(.serialized, .enabled(if: geteuid() == 0, "creating Unix accounts needs root"))
struct IdentityTests {
    static let group = "cpditest"
    static let accounts = ["cpdi_calm1", "cpdi_calm2", "cpdi_bowen", "cpdi_admin"]

    static func run(_ arguments: [String]) throws -> (Int32, String) { try ChildProcess.run(arguments) }

    static func createAccounts() throws { try TestAccounts.create(accounts, group: group) }

    static func removeAccounts() { TestAccounts.remove(accounts, group: group) }

    /// A registry with two providers, a course each, a member, and a principal for each account.
    func withRegistry(_ body: @escaping @Sendable (_ socket: String, _ cpdctl: String, _ db: PostgresConnection) throws -> Void) async throws {
        try Self.createAccounts()
        defer { Self.removeAccounts() }
        try await CPDServerTests.withRegistry(label: "identity", socketGroup: Self.group) { socket, db in
            let cpdctl = try cpdctlBeside(socket)
            let admin = try AdminClient(socketPath: socket)
            for line in [
                "provider.add code=CALM name=Calm", "provider.add code=BOWEN name=Bowen",
                "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online", "course.publish code=C1",
                "course.add provider=BOWEN code=C2 title=T points=2 hours=2 category=clinical delivery=online", "course.publish code=C2",
                "scheme.add code=S title=S period=fixed length=12 start=07-01 required=20",
                "practitioner.add id=P-1 name=Pat scheme=S joined=2025-01-01",
                "principal.add user=cpdi_calm1 role=provider provider=CALM", "principal.add user=cpdi_calm2 role=provider provider=CALM",
                "principal.add user=cpdi_bowen role=provider provider=BOWEN", "principal.add user=cpdi_admin role=admin",
            ] {
                #expect(try admin.request(line).isOK, "\(line)")
            }
            try body(socket, cpdctl, db)
        }
    }

    /// Final lines (OK or ERR) of each response to `lines`, sent pipelined by `user` through cpdctl.
    static func finals(as user: String, _ cpdctl: String, _ socket: String, _ lines: [String]) throws -> [String] {
        let (_, output) = try run(["/usr/sbin/runuser", "-u", user, "--", cpdctl, "send", "--socket", socket] + lines)
        return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("OK") || $0.hasPrefix("ERR ") }
    }

    static let record = "completion.record practitioner=P-1 completed=2026-08-01"

    @Test func keysBelongToWhatTheSenderActsFor() async throws {
        try await withRegistry { socket, cpdctl, db in
            // Two accounts of one provider: one entry, the second a replay.
            #expect(try Self.finals(as: "cpdi_calm1", cpdctl, socket, ["\(Self.record) course=C1 key=row-1"]) == ["OK entry=1 points=3.00"])
            #expect(try Self.finals(as: "cpdi_calm2", cpdctl, socket, ["\(Self.record) course=C1 key=row-1 explain=yes"]) == ["OK entry=1 points=3.00"])
            let (_, explained) = try Self.run(["/usr/sbin/runuser", "-u", "cpdi_calm2", "--", cpdctl, "send", "--socket", socket, "\(Self.record) course=C1 key=row-1 explain=yes"])
            #expect(explained.contains("replayed=yes"), "\(explained)")
            #expect(try Self.finals(as: "cpdi_calm2", cpdctl, socket, ["completion.record practitioner=P-1 completed=2026-08-02 course=C1 key=row-1"]).first?.hasPrefix("ERR conflict") == true)
            // Another provider with the same key: an entry of its own.
            #expect(try Self.finals(as: "cpdi_bowen", cpdctl, socket, ["\(Self.record) course=C2 key=row-1"]) == ["OK entry=2 points=2.00"])
            // Root and another admin account: the registry's key, one entry.
            #expect(try AdminClient(socketPath: socket).request("\(Self.record) course=C1 key=row-1").final == "OK entry=3 points=3.00")
            #expect(try Self.finals(as: "cpdi_admin", cpdctl, socket, ["\(Self.record) course=C1 key=row-1"]) == ["OK entry=3 points=3.00"])
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == 3)
            // The scope and the uid are kept beside the name.
            let rows = try db.query("SELECT recorded_by, recorded_by_uid, key_scope FROM ledger_entry ORDER BY id").map { row in
                "\(try row["recorded_by"] as String) \(try row["recorded_by_uid"] as Int64? ?? -1) \(try row["key_scope"] as String)"
            }
            let uid = { (name: String) in Int64(getpwnam(name)!.pointee.pw_uid) }
            #expect(rows == ["cpdi_calm1 \(uid("cpdi_calm1")) provider:CALM", "cpdi_bowen \(uid("cpdi_bowen")) provider:BOWEN", "root 0 registry"])
        }
    }

    @Test func aProviderReversesWhatItRecordedAndNotWhatTheRegistryRecordedOnItsCourse() async throws {
        try await withRegistry { socket, cpdctl, _ in
            #expect(try Self.finals(as: "cpdi_calm1", cpdctl, socket, ["\(Self.record) course=C1 key=mine"]) == ["OK entry=1 points=3.00"])
            #expect(try AdminClient(socketPath: socket).request("\(Self.record) course=C1 key=registry").final == "OK entry=2 points=3.00")
            let answers = try Self.finals(as: "cpdi_calm2", cpdctl, socket, [
                "entry.reverse entry=2 reason=wrong key=rev-2", "entry.reverse entry=1 reason=wrong key=rev-1",
            ])
            #expect(answers == ["ERR permission_denied entry 2 was not recorded by CALM", "OK entry=3 points=-3.00"], "\(answers)")
            #expect(try Self.finals(as: "cpdi_bowen", cpdctl, socket, ["entry.reverse entry=2 reason=wrong key=rev-2"]).first?.hasPrefix("ERR permission_denied") == true)
            #expect(try AdminClient(socketPath: socket).request("entry.reverse entry=2 reason=wrong key=rev-2").final == "OK entry=4 points=-3.00")
        }
    }

    @Test func aPrincipalRemovedWhileItsConnectionIsOpenIsRefusedOnItsNextRequest() async throws {
        try await withRegistry { socket, cpdctl, db in
            let directory = (socket as NSString).deletingLastPathComponent
            // Removed through this cpdd: at once. Removed in the database by another cpdd: within
            // PrincipalChanges.databaseInterval.
            for (user, key, removedElsewhere) in [("cpdi_calm1", "a", false), ("cpdi_calm2", "b", true)] {
                let flag = directory + "/go-\(user)"
                let script = """
                    (echo '\(Self.record) course=C1 key=\(key)-1'; while [ ! -e \(flag) ]; do sleep 0.05; done; \
                     echo '\(Self.record) course=C1 key=\(key)-2'; echo ping; sleep 2) \
                    | /usr/sbin/runuser -u \(user) -- /usr/bin/socat -t 5 - UNIX-CONNECT:\(socket)
                    """
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", script]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                // The first request is recorded on the open connection...
                var waited = 0
                while try db.query("SELECT count(*) FROM ledger_entry WHERE idempotency_key = $1", ["\(key)-1"])[0][0] as Int == 0, waited < 200 {
                    usleep(50_000)
                    waited += 1
                }
                // ...then the principal goes, and the connection asks again.
                if removedElsewhere {
                    try db.query("DELETE FROM principal WHERE user_name = $1", [user])
                    usleep(1_300_000)
                } else {
                    #expect(try AdminClient(socketPath: socket).request("principal.remove user=\(user)").isOK)
                }
                _ = FileManager.default.createFile(atPath: flag, contents: nil)
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                let lines = text.split(separator: "\n").map(String.init)
                #expect(lines.count == 3, "\(user): \(lines)")
                #expect(lines.first?.hasPrefix("OK cpdd ") == true && lines.dropFirst().first?.hasPrefix("OK entry=") == true, "\(user): \(lines)")
                #expect(lines.last == "ERR permission_denied the principal for account \(user) was removed", "\(user): \(lines)")
                #expect(try db.query("SELECT count(*) FROM ledger_entry WHERE idempotency_key = $1", ["\(key)-2"])[0][0] as Int == 0, "\(user)")
            }
            // An account whose principal is untouched goes on as before.
            #expect(try Self.finals(as: "cpdi_bowen", cpdctl, socket, ["\(Self.record) course=C2 key=c"]) == ["OK entry=3 points=2.00"])
        }
    }

    /// An admin that pipelines the removal of its own principal and then a write: the write is checked
    /// after the removal has run, and refused; the connection closes.
    @Test func aWritePipelinedBehindTheRemovalOfItsOwnPrincipalIsRefused() async throws {
        try await withRegistry { socket, _, db in
            let script = """
                printf 'principal.remove user=cpdi_admin\\nprovider.add code=GONE name=Gone\\nping\\n' \
                | /usr/sbin/runuser -u cpdi_admin -- /usr/bin/socat -t 5 - UNIX-CONNECT:\(socket)
                """
            let (_, text) = try Self.run(["/bin/sh", "-c", script])
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.dropFirst().first == "OK", "\(lines)")
            #expect(lines.last == "ERR permission_denied the principal for account cpdi_admin was removed", "\(lines)")
            #expect(try db.query("SELECT count(*) FROM provider WHERE code = 'GONE'")[0][0] as Int == 0, "the write was not applied")
        }
    }

    @Test func aPrincipalFollowsItsAccountNotItsName() async throws {
        try await withRegistry { socket, cpdctl, db in
            let admin = try AdminClient(socketPath: socket)
            #expect(try admin.request("principal.add user=cpdi_no_such_account role=reporter").final == "ERR not_found no Unix account cpdi_no_such_account")
            let stored = try db.query("SELECT user_uid FROM principal WHERE user_name = 'cpdi_bowen'")[0][0] as Int64?
            #expect(stored == Int64(getpwnam("cpdi_bowen")!.pointee.pw_uid))
            // The account is deleted and a new one takes its name (with another uid): no grant passes on.
            let oldUID = getpwnam("cpdi_bowen")!.pointee.pw_uid
            _ = try Self.run(["/usr/sbin/userdel", "cpdi_bowen"])
            let (made, why) = try Self.run(["/usr/sbin/useradd", "-M", "-N", "-g", Self.group, "-u", String(oldUID + 1000), "-s", "/usr/sbin/nologin", "cpdi_bowen"])
            #expect(made == 0, "\(why)")
            let (status, output) = try Self.run(["/usr/sbin/runuser", "-u", "cpdi_bowen", "--", cpdctl, "ping", "--socket", socket])
            #expect(status == 3 && output.contains("ERR permission_denied no principal for account cpdi_bowen"), "\(output)")
        }
    }
}
