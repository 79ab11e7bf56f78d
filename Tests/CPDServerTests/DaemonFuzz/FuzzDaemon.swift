import AdminClient
import CPDCore
import Foundation
import Glibc
import Postgres
import TestSupport

/// A cpdd of its own (a child process, so a crash is an exit the fuzzer sees) on a fresh, migrated
/// database with a small registry, and the Unix accounts that connect to it in each role.
final class FuzzDaemon {
    static let group = "cpdfuzz"
    /// The accounts the fuzzer connects as, with the principal each is given (nil: the daemon's own
    /// account, always admin). `cpdf_spare` is the one whose principal the fuzz adds and removes.
    static let accounts: [(user: String, grant: String)] = [
        ("cpdf_admin", "role=admin"), ("cpdf_prov", "role=provider provider=CALM"), ("cpdf_prov2", "role=provider provider=BOWEN"),
        ("cpdf_prac", "role=practitioner practitioner=P-1"), ("cpdf_rep", "role=reporter"), ("cpdf_spare", "role=reporter"),
    ]
    static let registry = [
        "provider.add code=CALM name=\"Calm Hands\"", "provider.add code=BOWEN name=Bowen",
        "course.add provider=CALM code=C-CALM title=T points=3 hours=3 category=mental_health delivery=online",
        "course.add provider=CALM code=C-CALM-IP title=T points=8 hours=8 category=clinical delivery=in_person",
        "course.add provider=BOWEN code=C-BOWEN title=T points=2.5 hours=2 category=clinical delivery=webinar",
        "course.add provider=CALM code=C-DRAFT title=T points=1 hours=1 category=ethics delivery=reading",
        "course.publish code=C-CALM", "course.publish code=C-CALM-IP", "course.publish code=C-BOWEN",
        "scheme.add code=FIX title=F period=fixed length=12 start=07-01 required=20",
        "scheme.rule scheme=FIX delivery=in_person min=4", "scheme.rule scheme=FIX delivery=online max=16",
        "scheme.add code=ANN title=A period=anniversary length=12 required=20 carry_over_max=10",
        "scheme.add code=ROLL title=R period=rolling length=36 required=40 opening=30",
        "scheme.certificate scheme=ROLL kind=first_aid",
        "scheme.add code=TWO title=T period=fixed length=24 start=2025-09-01 required=24",
        "scheme.rule scheme=TWO category=ethics min=3", "scheme.rule scheme=TWO category=clinical max_share=33.33",
        "scheme.add code=PRO title=P period=fixed length=24 start=2025-09-01 required=24 pro_rata=monthly",
        "practitioner.add id=P-1 name=Pat scheme=FIX joined=2025-01-01", "practitioner.add id=P-2 name=Ann scheme=ANN joined=2025-02-28",
        "practitioner.add id=P-3 name=Rol scheme=ROLL joined=2024-02-29", "practitioner.add id=P-4 name=Two scheme=TWO joined=2025-09-01",
        "practitioner.add id=P-5 name=Pro scheme=PRO joined=2026-01-31",
        "completion.record practitioner=P-1 course=C-CALM completed=2026-08-01 key=k-setup",
    ]

    let socket: String
    let database: String
    let owner: PostgresConnection
    private(set) var child: ChildProcess
    /// Accounts made for this run (empty when the tests do not run as root: then only the daemon's
    /// own account, in the admin role, connects).
    let users: [String]

    static var canMakeAccounts: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") }

    static func createAccounts() throws {
        if canMakeAccounts { try TestAccounts.create(accounts.map(\.user), group: group) }
    }

    static func removeAccounts() {
        if canMakeAccounts { TestAccounts.remove(accounts.map(\.user), group: group) }
    }

    init(label: String) throws {
        database = try TestDatabase.fresh(label)
        socket = try TestDatabase.scratchDirectory(label) + "/cpdd.sock"
        let cpdd = Checkout.product("cpdd")
        let (status, output) = try ChildProcess.run([cpdd, "migrate", "--database", database])
        guard status == 0 else { throw TestSetupError(description: "cpdd migrate: \(output)") }
        users = Self.canMakeAccounts ? Self.accounts.map(\.user) : []
        child = try Self.start(database: database, socket: socket, grouped: !users.isEmpty)
        owner = try PostgresConnection(conninfo: database)
        let admin = try AdminClient(socketPath: socket)
        for line in Self.registry + Self.accounts.filter({ users.contains($0.user) }).map({ "principal.add user=\($0.user) \($0.grant)" }) {
            let response = try admin.request(line)
            guard response.isOK else { throw TestSetupError(description: "\(line): \(response.final)") }
        }
        // Members registered when they joined, and audits announced back when they could be, at 50%,
        // for months whose cycles have ended.
        try AuditProtocolTests.registeredWhenTheyJoined(owner)
        for scheme in ["FIX", "ANN", "ROLL"] {
            for month in ["2025-06", "2025-12", "2026-06", "2026-10"] { try AuditProtocolTests.announce(owner, scheme, month, share: "50") }
        }
    }

    static func start(database: String, socket: String, grouped: Bool) throws -> ChildProcess {
        try startCpdd(database: database, socket: socket, grouped ? ["--socket-group", group] : [])
    }

    /// Nil while cpdd runs; its exit status (128 + signal) once it has died.
    var exited: Int32? { child.wait(timeout: .zero) }

    func stop() {
        child.signal(SIGTERM)
        if child.wait(timeout: .seconds(30)) == nil { child.terminate() }
    }

    /// Everything a refused request must leave as it was: every table but the logs of refusals and
    /// report runs, as one digest.
    func fingerprint() throws -> String {
        if tables.isEmpty {
            tables = try owner.query("""
                SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                  AND tablename NOT LIKE 'rejected_write%' AND tablename <> 'report_run' AND tablename NOT LIKE '%migration%' ORDER BY tablename
                """).map { try $0[0] as String }
        }
        // Table names come from the catalogue, not from a request, and are quoted as identifiers.
        let parts = tables.map { "SELECT '\($0)' || t::text AS r FROM \"\($0)\" t" }.joined(separator: " UNION ALL ")
        return try owner.query("SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM (\(parts)) x")[0][0]
    }
    private var tables: [String] = []
}
