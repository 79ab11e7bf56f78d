import AdminClient
import Foundation
import Testing
import TestSupport

/// `cpdctl transcript`: a practitioner's record for a cycle, from cpdd over the socket, as a CSV
/// and as a page a browser renders.
@Suite(.serialized) struct TranscriptTests {
    let cpdctl = Checkout.product("cpdctl")

    @Test func aPastCycleIsWrittenAsItStoodAtItsCloseAsCSVAndAsAPage() async throws {
        let out = try TestDatabase.scratchDirectory("transcript")
        let cpdctl = self.cpdctl
        try await CPDServerTests.withRegistry(label: "transcript") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            for line in [
                "provider.add code=CALM name=Calm", "course.add provider=CALM code=C8 title=Trigger points=8 hours=8 category=clinical delivery=in_person",
                "course.add provider=CALM code=C3 title=Evidence points=3 hours=3 category=mental_health delivery=online",
                "course.publish code=C8", "course.publish code=C3",
                "scheme.add code=MYO title=Myotherapy period=fixed length=12 start=07-01 required=20", "scheme.rule scheme=MYO delivery=in_person min=4",
                "scheme.certificate scheme=MYO kind=first_aid", "practitioner.add id=P-1 name=Ada scheme=MYO joined=2020-01-01",
                "certificate.add practitioner=P-1 kind=first_aid issued=2024-01-01 expires=2028-01-01",
                "completion.record practitioner=P-1 course=C8 completed=2025-08-01 key=a1",
                "completion.record practitioner=P-1 course=C3 completed=2025-09-01 key=a2",
                "completion.record practitioner=P-1 course=C3 completed=2026-08-01 key=a3",  // the next cycle: not in this transcript
            ] { #expect(try c.request(line).isOK, "\(line)") }
            // The cycle is audited: announced back then, drawn (every member), evidence asked for.
            try AuditProtocolTests.registeredWhenTheyJoined(owner)
            try AuditProtocolTests.announce(owner, "MYO", "2026-06", share: "100")
            for line in ["audit.draw scheme=MYO month=2026-06 share=100", "audit.request audit=1 due=2030-01-01"] {
                #expect(try c.request(line).isOK, "\(line)")
            }
            for file in ["t.csv", "t.html"] {
                let (status, said) = try ChildProcess.run([cpdctl, "transcript", "--socket", socket, "--practitioner", "P-1", "--cycle", "2025-08-01", "--out", out + "/" + file])
                #expect(status == 0 && said.contains("for 2025-07-01 to 2026-06-30 written"), "\(said)")
            }
            // Refused: another file kind; a cycle not yet begun; an unknown practitioner (nothing written).
            #expect(try ChildProcess.run([cpdctl, "transcript", "--socket", socket, "--practitioner", "P-1", "--cycle", "2099-01-01", "--out", out + "/later.csv"]).0 == 2)
            #expect(!FileManager.default.fileExists(atPath: out + "/later.csv"))
            #expect(try ChildProcess.run([cpdctl, "transcript", "--socket", socket, "--practitioner", "P-1", "--out", out + "/t.txt"]).0 != 0)
            #expect(try ChildProcess.run([cpdctl, "transcript", "--socket", socket, "--practitioner", "P-404", "--out", out + "/none.csv"]).0 == 1)
            #expect(!FileManager.default.fileExists(atPath: out + "/none.csv"))
        }
        let csv = try String(contentsOfFile: out + "/t.csv", encoding: .utf8).components(separatedBy: "\r\n").dropLast()
        #expect(Array(csv) == [
            "part,name,value,detail",
            "cycle,practitioner,P-1,", "cycle,scheme,MYO,", "cycle,cycle_start,2025-07-01,", "cycle,cycle_end,2026-06-30,",
            "standing,required,20.00,", "standing,earned,11.00,", "standing,counted,11.00,", "standing,carried,0.00,",
            "standing,shortfall,9.00,", "standing,status,non_compliant,", "standing,days_left,0,",
            "rule,delivery=in_person min=4,8.00,limit=4.00 met=yes",
            "audit,1,requested,due=2030-01-01 overdue=no evidence=0",
            "certificate,first_aid,current,expires=2028-01-01",
            "entry,1,8.00,2025-08-01 completion C8 v1", "entry,2,3.00,2025-09-01 completion C3 v1",
        ])
        let page = try String(contentsOfFile: out + "/t.html", encoding: .utf8)
        #expect(page.contains("<title>CPD transcript: P-1 (MYO), 2025-07-01 to 2026-06-30</title>") && page.contains("@media print"))
        guard let chromium = NightlyReportTests.chromium else { return }
        let (status, dom) = try ChildProcess.run([
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(out)/profile", "--dump-dom", "file://\(out)/t.html",
        ])
        #expect(status == 0, "\(dom)")
        #expect(dom.contains("<dd id=\"counted\">11.00</dd>") && dom.contains("<dd id=\"status\">non_compliant</dd>"), "\(dom.prefix(2000))")
        // Rules: a header and 1 row; no renewal (the scheme takes none); the audit: 2; certificates: 2; entries: a header and 2.
        #expect(dom.components(separatedBy: "<tr>").count - 1 == 2 + 2 + 2 + 3)
        #expect(dom.contains("<section id=\"renewal\">") && dom.contains("<table id=\"entries-table\">"))
        #expect(dom.contains("<table id=\"audit-table\">") && dom.contains("<td>requested</td><td>2030-01-01</td>"), "\(dom.prefix(3000))")
    }
}
