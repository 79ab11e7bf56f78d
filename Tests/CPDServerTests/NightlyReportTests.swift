import AdminClient
import CPDCore
import CPDReport
import Foundation
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// The nightly report end to end: a registry seeded so that every figure is known in advance,
/// reports made with `cpdctl report nightly` as cron makes them, and their files read back.
///
/// The registry on 2027-04-01, the second report's date (MYO cycles run 1 July to 30 June, so every
/// MYO member is exactly 90 days from the end of the cycle; a steady pace still earns
/// 20 × 91/365 = 4.99 points by then):
/// - P-1 Ada: 8 + 3, then 2 after the first report = 13; shortfall 7 > 4.99: at risk.
/// - P-2 Ben: 8 + 8 + 3 + 3 + 2 = 24, then a 3 reversed after the first report = 21: compliant;
///   first aid expires 2027-05-30, in 59 days: expiring.
/// - P-3 Cat: 8 + 8 + 3 = 19, on pace, but first aid expired 2027-03-01: non-compliant.
/// - P-4 Dan: nothing, no first aid: non-compliant, certificate missing.
/// - P-5 Eve (FIX2, calendar years, 10 required): 3 in 2026, none in 2027; 274 days left: at risk,
///   not flagged.
@Suite(.serialized) struct NightlyReportTests {
    let cpdctl = Checkout.product("cpdctl")

    static func seed(_ c: AdminClient) throws {
        let setup = [
            "provider.add code=CALM name=\"Calm Hands\"",
            "provider.add code=BOWEN name=\"Bowen Works\"",
            "course.add provider=CALM code=C8 title=\"Trigger points\" points=8 hours=8 category=clinical delivery=in_person",
            "course.add provider=CALM code=C3 title=\"Mental health evidence\" points=3 hours=3 category=mental_health delivery=online",
            "course.add provider=BOWEN code=B2 title=\"Bowen for sleep\" points=2 hours=2 category=mental_health delivery=webinar",
            "course.publish code=C8", "course.publish code=C3", "course.publish code=B2",
            "scheme.add code=MYO title=Myotherapy period=fixed length=12 start=07-01 required=20",
            "scheme.rule scheme=MYO delivery=in_person min=4",
            "scheme.certificate scheme=MYO kind=first_aid",
            "scheme.add code=FIX2 title=\"Calendar years\" period=fixed length=12 start=01-01 required=10",
            "practitioner.add id=P-1 name=Ada scheme=MYO joined=2020-01-01",
            "practitioner.add id=P-2 name=Ben scheme=MYO joined=2020-01-01",
            "practitioner.add id=P-3 name=Cat scheme=MYO joined=2020-01-01",
            "practitioner.add id=P-4 name=Dan scheme=MYO joined=2020-01-01",
            "practitioner.add id=P-5 name=Eve scheme=FIX2 joined=2020-01-01",
            "certificate.add practitioner=P-1 kind=first_aid issued=2026-01-01 expires=2029-01-01",
            "certificate.add practitioner=P-2 kind=first_aid issued=2024-05-30 expires=2027-05-30",
            "certificate.add practitioner=P-3 kind=first_aid issued=2024-03-01 expires=2027-03-01",
            "completion.record practitioner=P-1 course=C8 completed=2026-08-01 key=a1",
            "completion.record practitioner=P-1 course=C3 completed=2026-08-02 key=a2",
            "completion.record practitioner=P-2 course=C8 completed=2026-08-01 key=b1",
            "completion.record practitioner=P-2 course=C8 completed=2026-09-01 key=b2",
            "completion.record practitioner=P-2 course=C3 completed=2026-08-02 key=b3",
            "completion.record practitioner=P-2 course=C3 completed=2026-09-02 key=b4",
            "completion.record practitioner=P-2 course=B2 completed=2026-09-03 key=b5",
            "completion.record practitioner=P-3 course=C8 completed=2026-08-01 key=c1",
            "completion.record practitioner=P-3 course=C8 completed=2026-09-01 key=c2",
            "completion.record practitioner=P-3 course=C3 completed=2026-08-02 key=c3",
            "completion.record practitioner=P-5 course=C3 completed=2026-10-01 key=e1",
        ]
        for line in setup {
            let response = try c.request(line)
            guard response.isOK else { throw TestSetupError(description: "\(line): \(response.final)") }
        }
        // Refused before the first report: counted in it, not in the next.
        #expect(try c.request("completion.record practitioner=P-1 course=NOPE completed=2026-08-01 key=x0").errorCode == "not_found")
    }

    /// What happens between the first report and the second.
    static func changesAfterTheFirstReport(_ c: AdminClient) throws {
        #expect(try c.request("completion.record practitioner=P-1 course=B2 completed=2026-10-05 key=a3").final == "OK entry=12 points=2.00")
        #expect(try c.request("entry.reverse entry=6 reason=\"wrong member\" key=r1").final == "OK entry=13 points=-3.00")
        #expect(try c.request("course.update code=C3 points=4").final == "OK version=2")
        #expect(try c.request("course.add provider=BOWEN code=B9 title=\"New course\" points=1 hours=1 category=clinical delivery=reading").isOK)
        // Refused writes: two unknown members, a second reversal, an adjustment with no reason.
        #expect(try c.request("completion.record practitioner=P-9999 course=C3 completed=2026-10-01 key=x1").errorCode == "not_found")
        #expect(try c.request("completion.record practitioner=P-9999 course=C3 completed=2026-10-01 key=x2").errorCode == "not_found")
        #expect(try c.request("entry.reverse entry=6 reason=again key=r2").errorCode == "conflict")
        #expect(try c.request("entry.adjust practitioner=P-1 points=1 key=x3").errorCode == "invalid_argument")
        // Reads are not writes, whatever they answer.
        #expect(try c.request("points practitioner=P-9999").errorCode == "not_found")
    }

    func report(_ socket: String, _ out: String, date: String) throws -> (Int32, String) {
        try ChildProcess.run([cpdctl, "report", "nightly", "--socket", socket, "--date", date, "--out", out])
    }

    func csv(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\r\n").dropLast().map { $0 }
    }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test func theReportsSectionsOnASeededRegistryHaveTheFiguresKnownInAdvance() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let cpdctl = self.cpdctl
        try await withRegistry(label: "report") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            try Self.seed(c)
            let (firstStatus, firstSaid) = try report(socket, out, date: "2027-03-31")
            #expect(firstStatus == 0, "\(firstSaid)")
            let first = try json(out + "/2027-03-31/summary.json")
            #expect(first["since_run"] is NSNull, "the first run counts from the beginning")
            #expect((first["since_previous_run"] as? [String: Any])?["completions"] as? Int == 11)
            #expect((first["since_previous_run"] as? [String: Any])?["rejected_writes"] as? Int == 1)
            #expect((first["totals"] as? [String: Any])?["recorded"] as? String == "57.00")

            try Self.changesAfterTheFirstReport(c)
            let (status, said) = try report(socket, out, date: "2027-04-01")
            #expect(status == 0, "\(said)")
            let day = out + "/2027-04-01"
            #expect(try csv(day + "/at_risk.csv") == [
                "scheme,practitioner,name,status,required,counted,shortfall,cycle_end,days_left,flag,carried",
                "FIX2,P-5,Eve,at_risk,10.00,0.00,10.00,2027-12-31,274,,0.00",
                "MYO,P-1,Ada,at_risk,20.00,13.00,7.00,2027-06-30,90,90,0.00",
                "MYO,P-3,Cat,non_compliant,20.00,19.00,1.00,2027-06-30,90,90,0.00",
                "MYO,P-4,Dan,non_compliant,20.00,0.00,20.00,2027-06-30,90,90,0.00",
            ])
            #expect(try csv(day + "/certificates.csv") == [
                "scheme,practitioner,name,certificate,state,expires,days_left",
                "MYO,P-2,Ben,first_aid,expiring,2027-05-30,59",
                "MYO,P-3,Cat,first_aid,expired,2027-03-01,-31",
                "MYO,P-4,Dan,first_aid,missing,,",
            ])
            #expect(try csv(day + "/scheme_status.csv") == [
                "scheme,title,members,compliant,on_track,at_risk,non_compliant",
                "FIX2,Calendar years,1,0,0,1,0",
                "MYO,Myotherapy,4,1,0,1,2",
            ])
            #expect(try csv(day + "/completions_by_course.csv") == [
                "course,provider,completions,points,reversals,reversed_points",
                "B2,BOWEN,1,2.00,0,0.00",
                "C3,CALM,0,0.00,1,3.00",
            ])
            #expect(try csv(day + "/completions_by_provider.csv") == [
                "provider,completions,points,reversals,reversed_points",
                "BOWEN,1,2.00,0,0.00",
                "CALM,0,0.00,1,3.00",
            ])
            let events = try csv(day + "/course_events.csv").dropFirst().map { $0.split(separator: ",").prefix(4).joined(separator: ",") }
            #expect(events == ["C3,CALM,updated,2", "B9,BOWEN,added,1"])
            #expect(try csv(day + "/rejected_writes.csv") == [
                "command,code,reason,count",
                "completion.record,not_found,no practitioner P-9999,2",
                "entry.adjust,invalid_argument,entry.adjust needs reason=; usage: entry.adjust practitioner= points= reason= key= [category=] [delivery=],1",
                "entry.reverse,conflict,entry 6 was already reversed by entry 13,1",
            ])
            let verify = try c.request("ledger.verify").final
            let head = String(verify.split(separator: "=").last!)
            #expect(try csv(day + "/integrity.csv") == ["status,entries,head,broken_entry,problem", "verified,13,\(head),,"])
            #expect(try csv(day + "/totals.csv") == [
                "recorded,reversed,net,balances,members_with_entries,reconciles", "59.00,3.00,56.00,56.00,4,yes",
            ])
            let run = try csv(day + "/run.csv")
            #expect(run.count == 2 && run[1].hasPrefix("2027-04-01,") && run[1].hasSuffix(",2027-03-31,11,2"), "\(run)")

            let summary = try json(day + "/summary.json")
            #expect(summary["members"] as? Int == 5)
            #expect(summary["status"] as? [String: Int] == ["compliant": 1, "on_track": 0, "at_risk": 2, "non_compliant": 2])
            #expect(summary["flagged"] as? [String: Int] == ["within_30_days": 0, "within_60_days": 0, "within_90_days": 3])
            #expect(summary["certificates"] as? [String: Int] == ["expiring": 1, "expired": 1, "missing": 1])
            let since = summary["since_previous_run"] as? [String: Any]
            #expect(since?["entries"] as? Int == 2 && since?["completions"] as? Int == 1 && since?["reversals"] as? Int == 1)
            #expect(since?["course_events"] as? Int == 2 && since?["rejected_writes"] as? Int == 4)

            // Runs are in the database: two good ones, the second counting from the first.
            let runs = try owner.query("SELECT id, report_date::text AS d, status, since_run FROM report_run ORDER BY id")
            #expect(runs.count == 2)
            #expect(try runs[1]["since_run"] as Int64? == (try runs[0]["id"] as Int64))

            // The points recorded per day are counted on the day they were recorded: today, here.
            let today: String = try owner.query("SELECT ((now() AT TIME ZONE time_zone)::date)::text FROM registry")[0][0]
            let (todayStatus, todaySaid) = try report(socket, out, date: today)
            #expect(todayStatus == 0, "\(todaySaid)")
            let days = try csv(out + "/\(today)/points_per_day.csv")
            #expect(days.count == 31, "a header and 30 days")
            #expect(days.last == "\(today),12,59.00,3.00")
            #expect(days.dropFirst().dropLast().allSatisfy { $0.hasSuffix(",0,0.00,0.00") })
        }
        _ = cpdctl
    }

    /// The issue's example, as a registry admin would try it: an anniversary scheme (20 a year, at
    /// most 10 carried), a member who joined on 2024-03-01 and earned 34 in their first year and 8 in
    /// their second. 14 above the requirement, capped at 10, carry: 18 of 20 on the last day of the
    /// second year, non-compliant by 2. `points`, `statement` and the report agree, before and after
    /// the report runs, with nothing written for the carry.
    @Test func carryOverShowsInPointsStatementAndTheReportWithNoJobHavingRun() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try await withRegistry(label: "carry") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            for line in [
                "provider.add code=CALM name=\"Calm Hands\"",
                "course.add provider=CALM code=C8 title=\"Trigger points\" points=8 hours=8 category=clinical delivery=in_person",
                "course.add provider=CALM code=C2 title=\"Sleep\" points=2 hours=2 category=mental_health delivery=webinar",
                "course.publish code=C8", "course.publish code=C2",
                "scheme.add code=CMA title=\"Anniversary years\" period=anniversary length=12 required=20 carry_over_max=10",
                "practitioner.add id=P-7 name=Kim scheme=CMA joined=2024-03-01",
                "completion.record practitioner=P-7 course=C8 completed=2024-04-01 key=k1",
                "completion.record practitioner=P-7 course=C8 completed=2024-05-01 key=k2",
                "completion.record practitioner=P-7 course=C8 completed=2024-06-01 key=k3",
                "completion.record practitioner=P-7 course=C8 completed=2024-07-01 key=k4",
                "completion.record practitioner=P-7 course=C2 completed=2024-08-01 key=k5",
                "completion.record practitioner=P-7 course=C8 completed=2025-06-01 key=k6",
            ] {
                let response = try c.request(line)
                guard response.isOK else { throw TestSetupError(description: "\(line): \(response.final)") }
            }
            let summary = "kind=summary practitioner=P-7 scheme=CMA cycle_start=2025-03-01 cycle_end=2026-02-28 required=20.00 earned=18.00 counted=18.00 carried=10.00 shortfall=2.00 status=non_compliant days_left=0"
            #expect(try c.request("points practitioner=P-7 on=2026-02-28").data.first == summary)
            #expect(try c.request("points practitioner=P-7 on=2024-12-01").data.first?.contains(" earned=34.00 counted=34.00 carried=0.00 ") == true, "the first year carries nothing in")
            let statement = try c.request("statement practitioner=P-7 from=2025-03-01 to=2026-02-28")
            #expect(statement.data.count == 2)
            #expect(statement.data.first == #"kind=carry_over date=2025-03-01 points=10.00 reason="carried from the cycle 2024-03-01 to 2025-02-28""#)
            #expect(statement.data.last?.hasPrefix("entry=6 kind=completion date=2025-06-01 points=8.00 course=C8 ") == true)
            #expect(statement.final == "OK 1 entries, 1 carried in")

            let (status, said) = try report(socket, out, date: "2026-02-28")
            #expect(status == 0, "\(said)")
            #expect(try csv(out + "/2026-02-28/at_risk.csv") == [
                "scheme,practitioner,name,status,required,counted,shortfall,cycle_end,days_left,flag,carried",
                "CMA,P-7,Kim,non_compliant,20.00,18.00,2.00,2026-02-28,0,30,10.00",
            ])
            #expect(try c.request("points practitioner=P-7 on=2026-02-28").data.first == summary, "the same after the report")
            #expect(try owner.query("SELECT count(*) FROM ledger_entry")[0][0] as Int == 6, "nothing was written for the carry")
            // Short at the close of the second year: nothing carries into the third.
            #expect(try c.request("points practitioner=P-7 on=2026-03-01").data.first?.contains(" carried=0.00 ") == true)
        }
    }

    @Test func aSecondRunForTheSameDateReplacesThatDaysReportAndCountsFromTheSameRun() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try await withRegistry(label: "rerun") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            try Self.seed(c)
            #expect(try report(socket, out, date: "2027-03-31").0 == 0)
            #expect(try report(socket, out, date: "2027-04-01").0 == 0)
            #expect(try c.request("completion.record practitioner=P-1 course=B2 completed=2026-10-05 key=a3").isOK)
            let (status, said) = try report(socket, out, date: "2027-04-01")
            #expect(status == 0, "\(said)")
            #expect(try csv(out + "/2027-04-01/completions_by_course.csv") == [
                "course,provider,completions,points,reversals,reversed_points", "B2,BOWEN,1,2.00,0,0.00",
            ], "the re-run counts from the run for the previous date, so it sees the new completion")
            let hidden = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".2027-04-01") }
            #expect(hidden.count == 1, "one directory for the day: \(hidden)")
            let sinceRuns = try owner.query("SELECT since_run FROM report_run WHERE report_date = '2027-04-01' ORDER BY id")
            #expect(sinceRuns.count == 2)
            #expect(try sinceRuns[0]["since_run"] as Int64? == sinceRuns[1]["since_run"] as Int64?)
        }
    }

    @Test func aBrokenHashChainMakesTheReportExitNonZeroWithTheReason() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try await withRegistry(label: "broken") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            try Self.seed(c)
            #expect(try report(socket, out, date: "2027-03-31").0 == 0)
            // What cpdd cannot do, the database owner can: change an entry behind the triggers' back.
            try owner.execute(script: """
                ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_no_update_or_delete;
                UPDATE ledger_entry SET points = 80 WHERE id = 5;
                ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_no_update_or_delete;
                """)
            let (status, said) = try report(socket, out, date: "2027-04-01")
            #expect(status == 1)
            #expect(said.contains("hash chain breaks at entry 5: its content does not match its hash"), "\(said)")
            let summary = try json(out + "/2027-04-01/summary.json")
            #expect((summary["ledger"] as? [String: Any])?["status"] as? String == "broken", "the report is still written, to be read")
            #expect((summary["ledger"] as? [String: Any])?["broken_entry"] as? Int == 5)
            #expect(!FileManager.default.fileExists(atPath: out + "/2027-04-01/ledger-head.txt"), "a broken chain publishes no head")
            let failed = try owner.query("SELECT status, problem FROM report_run WHERE report_date = '2027-04-01'")
            #expect(try failed.first?["status"] as String? == "failed")

            // A failed run does not count as the previous run: the next report counts from 2027-03-31's.
            let (again, _) = try report(socket, out, date: "2027-04-02")
            #expect(again == 1)
            let run = try csv(out + "/2027-04-02/run.csv")
            #expect(run.count == 2 && run[1].contains(",2027-03-31,"), "\(run)")
        }
    }

    /// What the database's owner can do: change entry 5 and recompute every hash after it, so that
    /// the chain verifies again.
    static let rewriteRecomputingEveryHash = """
        ALTER TABLE ledger_entry DISABLE TRIGGER USER;
        UPDATE ledger_entry SET points = 80 WHERE id = 5;
        DO $$
        DECLARE
            r record;
            prev bytea;
        BEGIN
            SELECT hash INTO prev FROM ledger_entry WHERE id = 4;
            FOR r IN SELECT id FROM ledger_entry WHERE id >= 5 ORDER BY id LOOP
                UPDATE ledger_entry SET prev_hash = prev WHERE id = r.id;
                UPDATE ledger_entry e SET hash = ledger_entry_digest(e) WHERE e.id = r.id RETURNING e.hash INTO prev;
            END LOOP;
        END $$;
        ALTER TABLE ledger_entry ENABLE TRIGGER USER;
        """

    @Test func headsPublishedByReportsExposeARewriteThatRecomputedEveryHash() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let cpdctl = self.cpdctl
        try await withRegistry(label: "anchors") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            try Self.seed(c)
            #expect(try report(socket, out, date: "2027-03-31").0 == 0)
            let firstHead = try #require(try c.request("ledger.verify").final.split(separator: "=").last.map(String.init))
            #expect(try String(contentsOfFile: out + "/2027-03-31/ledger-head.txt", encoding: .utf8) == "11:\(firstHead)\n")
            try Self.changesAfterTheFirstReport(c)
            #expect(try report(socket, out, date: "2027-04-01").0 == 0)
            let secondHead = try #require(try c.request("ledger.verify").final.split(separator: "=").last.map(String.init))
            let (held, heldSaid) = try ChildProcess.run([cpdctl, "ledger", "verify", "--socket", socket, "--anchors", out])
            #expect(held == 0, "\(heldSaid)")
            #expect(heldSaid.contains("the 2 ledger heads published by 2 reports under \(out) hold (OK entries=13 head=\(secondHead) anchors=2)"), "\(heldSaid)")
            let entry3: String = try owner.query("SELECT encode(hash, 'hex') FROM ledger_entry WHERE id = 3")[0][0]

            try owner.execute(script: Self.rewriteRecomputingEveryHash)
            #expect(try owner.query("SELECT points::text FROM ledger_entry WHERE id = 5")[0][0] as String == "80.00")
            let plain = try c.request("ledger.verify").final
            #expect(plain.hasPrefix("OK entries=13 head=") && !plain.hasSuffix(secondHead), "the chain verifies again: \(plain)")

            let (status, said) = try ChildProcess.run([cpdctl, "ledger", "verify", "--socket", socket, "--anchors", out])
            #expect(status == 1, "\(said)")
            #expect(said.contains("not held: entry 11 hash \(firstHead), published by the report of 2027-03-31: entry 11's hash is now "), "\(said)")
            #expect(said.contains("not held: entry 13 hash \(secondHead), published by the report of 2027-04-01: entry 13's hash is now "), "\(said)")
            #expect(said.contains("2 of 2 anchors do not hold"), "\(said)")

            // Over the socket: a head before the rewritten entry still holds; one after it is named.
            let both = try c.request("ledger.verify anchors=3:\(entry3),11:\(firstHead)")
            #expect(both.data.first == "anchor=3:\(entry3) holds=yes")
            #expect(both.data.last?.hasPrefix("anchor=11:\(firstHead) holds=no problem=\"entry 11's hash is now ") == true)
            #expect(both.errorCode == "conflict" && both.final.contains("1 of 2 anchors do not hold: 11:\(firstHead) (entry 11's hash is now "), "\(both.final)")
            #expect(try c.request("ledger.verify anchors=3:\(entry3)").final.hasSuffix(" anchors=1"))
            #expect(try c.request("ledger.verify anchors=99:\(entry3)").final.contains("entry 99 is not in the ledger, which has 13 entries"))
            for bad in ["3:xyz", "", "3:\(entry3),", "x:\(entry3)"] {
                #expect(try c.request("ledger.verify anchors=\"\(bad)\"").errorCode == "invalid_argument", "\(bad)")
            }
            // A directory with no heads proves nothing: it fails.
            let empty = try TestDatabase.scratchDirectory("no-reports")
            let (none, noneSaid) = try ChildProcess.run([cpdctl, "ledger", "verify", "--socket", socket, "--anchors", empty])
            #expect(none == 1 && noneSaid.contains("no ledger head is published under"), "\(noneSaid)")
        }
        _ = cpdctl
    }

    @Test func aReportThatCannotBeMadeWritesNothingAndSaysWhy() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try await withRegistry(label: "nodate") { socket, _ in
            let (status, said) = try report(socket, out, date: "2027-02-30")
            #expect(status == 1)
            #expect(said.contains("could not be made") && said.contains("invalid_argument"), "\(said)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }.isEmpty)
            let (unreachable, why) = try ChildProcess.run([cpdctl, "report", "nightly", "--socket", out + "/none.sock", "--out", out])
            #expect(unreachable == 3, "\(why)")
        }
    }

    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The page as a browser builds it: Debian's chromium, headless, dumps the DOM it rendered.
    @Test(.enabled(if: chromium != nil, "needs Debian's chromium package (scripts/test installs it when it can)"))
    func thePageRendersInABrowserWithTheHeadlineFiguresAndBothCharts() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try await withRegistry(label: "browser") { socket, owner in
            let c = try AdminClient(socketPath: socket)
            try Self.seed(c)
            let today: String = try owner.query("SELECT ((now() AT TIME ZONE time_zone)::date)::text FROM registry")[0][0]
            #expect(try report(socket, out, date: today).0 == 0)
        }
        let page = try FileManager.default.destinationOfSymbolicLink(atPath: out + "/" + (try FileManager.default.contentsOfDirectory(atPath: out).first { !$0.hasPrefix(".") })!)
        let (status, dom) = try ChildProcess.run([
            Self.chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(out)/profile",
            "--dump-dom", "file://\(out)/\(page)/index.html",
        ])
        #expect(status == 0, "\(dom)")
        #expect(dom.contains("<dd id=\"members\">5</dd>"), "\(dom.prefix(2000))")
        #expect(dom.contains("<dd id=\"completions-since\">11</dd>"))
        #expect(dom.contains("<dd id=\"ledger-status\">verified</dd>"))
        #expect(dom.contains("<dd id=\"totals-reconcile\">yes</dd>"))
        // Points per day: 30 bars, today's (57 points) the full height of the plot, the others empty.
        let bars = dom.components(separatedBy: "<rect class=\"bar\"").dropFirst()
        #expect(bars.count == 30)
        #expect(bars.last?.contains("height=\"168\" data-day=") == true && bars.last?.contains("data-points=\"57.00\"") == true)
        #expect(bars.dropLast().allSatisfy { $0.contains("height=\"0\"") })
        // Status per scheme (which statuses depends on today's date): each scheme's segments add up
        // to its members, and every segment has a status.
        let segments = dom.components(separatedBy: "<rect class=\"segment\"").dropFirst().map { String($0.prefix(300)) }
        var members: [String: Int] = [:]
        for segment in segments {
            let scheme = segment.firstMatch(of: /data-scheme="([^"]+)"/)?.1, status = segment.firstMatch(of: /data-status="([a-z_]+)"/)?.1
            let count = segment.firstMatch(of: /data-count="(\d+)"/).flatMap { Int($0.1) }
            #expect(scheme != nil && status != nil && count != nil, "\(segment)")
            if let scheme, let count { members[String(scheme), default: 0] += count }
        }
        #expect(members == ["MYO": 4, "FIX2": 1])
        #expect(dom.contains("<table id=\"at-risk-table\">"))
    }
}
