import Foundation
import Testing
import TestSupport

/// deploy/: the systemd units as `systemd-analyze verify` sees them once installed
/// (deploy/verify-units.sh installs them into a temporary root with deploy/install.sh --root).
@Suite struct DeployTests {
    static let analyzer = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: analyzer != nil, "needs systemd-analyze (scripts/test installs systemd when it can)"))
    func systemdAcceptsTheUnits() throws {
        let (status, output) = try ChildProcess.run(["/bin/bash", Checkout.root + "/deploy/verify-units.sh"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("cpdd.service cpdd@example.service cpd-report.service cpd-report.timer verified clean"), "\(output)")
    }

    @Test(.enabled(if: analyzer != nil, "needs systemd-analyze"))
    func aMistakeInAUnitIsCaught() throws {
        let checkout = try TestDatabase.scratchDirectory("deploy")
        for folder in ["deploy", "sql", "README.md"] { try FileManager.default.copyItem(atPath: Checkout.root + "/" + folder, toPath: checkout + "/" + folder) }
        let copy = checkout + "/deploy"
        let unit = copy + "/cpd-report.service"
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        try text.replacingOccurrences(of: "[Service]\n", with: "[Service]\nProtectSytem=strict\n").write(toFile: unit, atomically: true, encoding: .utf8)
        let (status, output) = try ChildProcess.run(["/bin/bash", copy + "/verify-units.sh"])
        #expect(status != 0, "\(output)")
        #expect(output.contains("ProtectSytem"), "\(output)")
    }
}
