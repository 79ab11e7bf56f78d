import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDReport

/// A small report, as cpdd would send it.
func sampleRows(date: String = "2027-04-01", run: String = "7", atRiskName: String = "Alex Ng") -> [ReportRow] {
    [
        ReportRow(.run, [date, "\(date)T02:30:00", "Demo registry", "Australia/Melbourne", run, "6", "2027-03-31", "40", "5"]),
        ReportRow(.atRisk, ["MYO-AA", "P-1001", atRiskName, "at_risk", "20.00", "4.00", "16.00", "2027-06-30", "90", "90", "0.00"]),
        ReportRow(.atRisk, ["MYO-AA", "P-1002", "Sam, \"Jr\" Lee", "non_compliant", "20.00", "0.00", "20.00", "2027-06-30", "90", "90", "0.00"]),
        ReportRow(.atRisk, ["RMT", "P-1003", "Kim Tran", "at_risk", "30.00", "10.00", "20.00", "2027-04-20", "19", "30", "2.00"]),
        ReportRow(.certificates, ["MYO-AA", "P-1002", "Sam Lee", "first_aid", "expiring", "2027-05-30", "59"]),
        ReportRow(.certificates, ["MYO-AA", "P-1004", "Jo Park", "first_aid", "expired", "2027-03-01", "-31"]),
        ReportRow(.schemeStatus, ["MYO-AA", "Myotherapy", "3", "1", "0", "1", "1"]),
        ReportRow(.schemeStatus, ["RMT", "Remedial", "2", "0", "1", "1", "0"]),
        ReportRow(.completionsByCourse, ["MH-EVID", "CALM", "3", "9.00", "1", "3.00"]),
        ReportRow(.completionsByCourse, ["NMT-ANX", "CALM", "1", "8.00", "0", "0.00"]),
        ReportRow(.completionsByProvider, ["CALM", "4", "17.00", "1", "3.00"]),
        ReportRow(.courseEvents, ["MH-EVID", "CALM", "updated", "2", "calm", "2027-03-31T10:00:00"]),
        ReportRow(.rejectedWrites, ["completion.record", "not_found", "no practitioner P-9999", "2"]),
        ReportRow(.pointsPerDay, ["2027-03-31", "2", "6.00", "0.00"]),
        ReportRow(.pointsPerDay, ["2027-04-01", "2", "11.00", "3.00"]),
        ReportRow(.integrity, ["verified", "40", String(repeating: "ab", count: 32), "", ""]),
        ReportRow(.totals, ["120.00", "3.00", "117.00", "117.00", "5", "yes"]),
    ]
}

@Suite struct ReportFilesTests {
    @Test func aCSVHasTheSectionsColumnsAsHeaderAndQuotesWhatNeedsIt() {
        let csv = CSVFile.render(.atRisk, Array(sampleRows()[1...2]))
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines[0] == "scheme,practitioner,name,status,required,counted,shortfall,cycle_end,days_left,flag,carried")
        #expect(lines[1] == "MYO-AA,P-1001,Alex Ng,at_risk,20.00,4.00,16.00,2027-06-30,90,90,0.00")
        #expect(lines[2] == "MYO-AA,P-1002,\"Sam, \"\"Jr\"\" Lee\",non_compliant,20.00,0.00,20.00,2027-06-30,90,90,0.00")
        #expect(lines.count == 4 && lines[3].isEmpty, "every record ends in CRLF")
    }

    @Test func aCSVFieldThatASpreadsheetWouldRunAsAFormulaIsDefused() {
        #expect(CSVFile.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSVFile.field("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSVFile.field("-31") == "-31", "a negative number stays a number")
        #expect(CSVFile.field("-2.50") == "-2.50")
        #expect(CSVFile.field("line\r\nbreak") == "\"line\r\nbreak\"")
    }

    @Test func dataLinesInJSONAreReadBackIntoRows() throws {
        let lines = [
            #"{"section":"at_risk","scheme":"MYO-AA","practitioner":"P-1","name":"Zoë \"Z\" \\ O\u2019Neil","status":"at_risk","required":"20.00","counted":"1.00","shortfall":"19.00","cycle_end":"2027-06-30","days_left":"5","flag":"30"}"#,
            #"{"section":"totals","recorded":"1.00","reversed":"0.00","net":"1.00","balances":"1.00","members_with_entries":"1","reconciles":"yes"}"#,
        ]
        let report = try NightlyReport(jsonLines: lines)
        #expect(report[.atRisk].first?["name"] == "Zoë \"Z\" \\ O\u{2019}Neil")
        #expect(report[.totals].first?["reconciles"] == "yes")
        #expect(throws: ReportFormatError.self) { try NightlyReport(jsonLines: [#"{"section":"nonsense"}"#]) }
        #expect(throws: ReportFormatError.self) { try NightlyReport(jsonLines: [#"{"section":"totals""#]) }
    }

    @Test func theSummaryAddsUpTheSections() {
        let s = NightlyReport(rows: sampleRows()).summary
        #expect(s.members == 5)
        #expect(s.byStatus == [.compliant: 1, .onTrack: 1, .atRisk: 2, .nonCompliant: 1])
        #expect(s.flagged == [90: 2, 30: 1])
        #expect(s.certificates == ["expiring": 1, "expired": 1])
        #expect(s.completionsSince == 4 && s.pointsSince == Points(17) && s.reversalsSince == 1 && s.reversedPointsSince == Points(3))
        #expect(s.rejectedWritesSince == 2 && s.courseEventsSince == 1)
        #expect(s.pointsLast30Days == Points(17))
        #expect(s.ledgerStatus == "verified" && s.ledgerEntries == 40 && s.reconciles)
        let json = s.json
        #expect(json.contains(#""members":5"#))
        #expect(json.contains(#""flagged":{"within_30_days":1,"within_60_days":0,"within_90_days":2}"#))
        #expect(json.contains(#""since_previous_run":{"entries":5,"completions":4,"points":"17.00","reversals":1,"reversed_points":"3.00","course_events":1,"rejected_writes":2}"#))
        #expect(json.contains(#""reconciles":true"#))
        #expect((try? JSONSerialization.jsonObject(with: Data(json.utf8))) is [String: Any], "summary.json is valid JSON")
    }

    @Test func thePageShowsTheHeadlineFiguresChartsAndAtRiskListMostUrgentFirst() {
        let html = HTMLPage.render(NightlyReport(rows: sampleRows()))
        #expect(html.contains(#"<dd id="members">5</dd>"#))
        #expect(html.contains(#"<dd id="at-risk">2</dd>"#))
        #expect(html.contains(#"<dd id="flag-90">2</dd>"#))
        let bars = html.components(separatedBy: "<rect class=\"bar\"").dropFirst()
        #expect(bars.count == 2, "a bar per day")
        #expect(bars.last?.contains(#"height="168""#) == true, "the day with the most points is the full height")
        #expect(bars.first?.contains(#"height="92""#) == true, "6 of 11 points is 92 of 168 pixels")
        #expect(html.components(separatedBy: "<rect class=\"segment\"").count - 1 == 5, "a segment per scheme and status with members")
        let kim = html.range(of: "Kim Tran")!, alex = html.range(of: "Alex Ng")!
        #expect(kim.lowerBound < alex.lowerBound, "19 days left comes before 90")
        #expect(!html.contains("ledger-alert"))
    }

    @Test func namesFromOutsideAreEscapedInThePage() {
        let html = HTMLPage.render(NightlyReport(rows: sampleRows(atRiskName: "<script>alert(1)</script>")))
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func aBrokenLedgerIsTheFirstThingOnThePage() {
        var rows = sampleRows()
        rows[rows.firstIndex { $0.section == .integrity }!] = ReportRow(.integrity, ["broken", "40", "", "17", "its content does not match its hash"])
        let html = HTMLPage.render(NightlyReport(rows: rows))
        let alert = html.range(of: #"id="ledger-alert""#)
        #expect(alert != nil && alert!.lowerBound < html.range(of: #"id="headline""#)!.lowerBound)
        #expect(html.contains("entry 17: its content does not match its hash"))
    }
}

@Suite struct ReportDirectoryTests {
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func aReportIsWrittenAsOneDirectoryPerDayAndASecondRunReplacesIt() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let first = NightlyReport(rows: sampleRows(run: "7"))
        let path = try ReportDirectory.publish(first.files, in: out, date: "2027-04-01")
        #expect(path == out + "/2027-04-01")
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        #expect(names == (ReportSection.allCases.map { "\($0.rawValue).csv" } + ["index.html", "ledger-head.txt", "summary.json"]).sorted())
        #expect(read(path + "/summary.json")?.contains(#""run":7"#) == true)

        try ReportDirectory.publish(NightlyReport(rows: sampleRows(run: "8")).files, in: out, date: "2027-04-01")
        #expect(read(path + "/summary.json")?.contains(#""run":8"#) == true)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".2027") }
        #expect(hidden.count == 1, "only the current report's directory is kept: \(hidden)")
    }

    @Test func eachReportWhoseChainVerifiedPublishesItsHeadAndTheyAreReadBackByDate() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let head = String(repeating: "ab", count: 32)
        try ReportDirectory.publish(NightlyReport(rows: sampleRows(date: "2027-04-01")).files, in: out, date: "2027-04-01")
        #expect(read(out + "/2027-04-01/ledger-head.txt") == "40:\(head)\n", "entry 40, the last of the 40 verified, and its hash")
        // A broken chain vouches for nothing: no head.
        var broken = sampleRows(date: "2027-04-02")
        broken[broken.firstIndex { $0.section == .integrity }!] = ReportRow(.integrity, ["broken", "41", "", "17", "its content does not match its hash"])
        try ReportDirectory.publish(NightlyReport(rows: broken).files, in: out, date: "2027-04-02")
        #expect(read(out + "/2027-04-02/ledger-head.txt") == nil)
        try ReportDirectory.publish(NightlyReport(rows: sampleRows(date: "2027-03-31")).files, in: out, date: "2027-03-31")
        let heads = try ReportDirectory.publishedHeads(in: out)
        #expect(heads.map(\.date) == ["2027-03-31", "2027-04-01"])
        #expect(heads.map(\.anchor.description) == ["40:\(head)", "40:\(head)"])
        // A head file that is not one ENTRY:HASH line is named, not skipped.
        try "40:not-a-hash\n".write(toFile: out + "/2027-04-01/ledger-head.txt", atomically: false, encoding: .utf8)
        let error = #expect(throws: ReportFormatError.self) { try ReportDirectory.publishedHeads(in: out) }
        #expect(error?.description.contains("2027-04-01/ledger-head.txt") == true)
    }

    @Test func aWriteThatFailsHalfWayLeavesThePreviousReportWhole() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        try ReportDirectory.publish(NightlyReport(rows: sampleRows(run: "7")).files, in: out, date: "2027-04-01")
        struct DiskFull: Error {}
        #expect(throws: DiskFull.self) {
            try ReportDirectory.publish(NightlyReport(rows: sampleRows(run: "8")).files, in: out, date: "2027-04-01") { name in
                if name == "summary.json" { throw DiskFull() }
            }
        }
        #expect(read(out + "/2027-04-01/summary.json")?.contains(#""run":7"#) == true)
        #expect(read(out + "/2027-04-01/index.html")?.hasSuffix("</html>\n") == true)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".2027") }
        #expect(hidden.count == 1, "the half-written directory is gone: \(hidden)")
    }

    @Test func aReaderNeverSeesHalfAReportWhileItIsReplaced() async throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let versions = (1...40).map { NightlyReport(rows: sampleRows(run: String($0))).files }
        try ReportDirectory.publish(versions[0], in: out, date: "2027-04-01")
        let complete = Set(versions.map { $0.first { $0.name == "index.html" }!.content })
        let stop = Locked(false)
        let seen = Locked<[String]>([])
        let reader = Thread {
            while !stop.value {
                let page = (try? String(contentsOfFile: out + "/2027-04-01/index.html", encoding: .utf8)) ?? "<missing>"
                seen.withLock { $0.append(page) }
            }
        }
        reader.start()
        for version in versions.dropFirst() { try ReportDirectory.publish(version, in: out, date: "2027-04-01") }
        stop.withLock { $0 = true }
        while !reader.isFinished { usleep(1000) }
        let pages = seen.value
        #expect(pages.count > 40)
        let partial = pages.filter { !complete.contains($0) }
        #expect(partial.isEmpty, "\(partial.count) of \(pages.count) reads saw something other than a whole report")
    }

    @Test func aDateThatIsNotADateIsRefused() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        #expect(throws: ReportWriteError.self) { try ReportDirectory.publish([], in: out, date: "../etc") }
    }
}

/// What a publisher does when the report directory holds something planted there: it never writes or
/// removes through a link.
@Suite struct ReportDirectoryLinkTests {
    @Test func aLinkPlantedAtTheLockFileMakesTheReportFailAndWritesNothingThroughIt() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let elsewhere = try TestDatabase.scratchDirectory("elsewhere")
        #expect(symlink(elsewhere + "/victim", out + "/.lock") == 0)
        let error = #expect(throws: ReportWriteError.self) {
            try ReportDirectory.publish(NightlyReport(rows: sampleRows()).files, in: out, date: "2027-04-01")
        }
        #expect(error?.description.contains("symbolic link") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: elsewhere + "/victim"), "nothing is created where the link points")
        #expect(!FileManager.default.fileExists(atPath: out + "/2027-04-01"), "no report is published")
    }

    @Test func anOldReportFolderThatIsALinkIsUnlinkedAndWhatItPointsToSurvives() throws {
        let out = try TestDatabase.scratchDirectory("reports")
        let elsewhere = try TestDatabase.scratchDirectory("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere + "/keep/inner", withIntermediateDirectories: true)
        try "precious\n".write(toFile: elsewhere + "/keep/inner/data.txt", atomically: false, encoding: .utf8)
        try "precious\n".write(toFile: elsewhere + "/keep/data.txt", atomically: false, encoding: .utf8)
        // Looks like a leftover of a crashed run, so the publisher removes it.
        #expect(symlink(elsewhere + "/keep", out + "/.2027-04-01.1-2-3") == 0)
        // A leftover folder that holds a link to a folder elsewhere.
        try FileManager.default.createDirectory(atPath: out + "/.2027-04-01.4-5-6", withIntermediateDirectories: true)
        #expect(symlink(elsewhere + "/keep/inner", out + "/.2027-04-01.4-5-6/inner") == 0)

        try ReportDirectory.publish(NightlyReport(rows: sampleRows()).files, in: out, date: "2027-04-01")
        let hidden = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".2027") }
        #expect(hidden.count == 1, "both leftovers are gone: \(hidden)")
        #expect(try String(contentsOfFile: elsewhere + "/keep/data.txt", encoding: .utf8) == "precious\n")
        #expect(try String(contentsOfFile: elsewhere + "/keep/inner/data.txt", encoding: .utf8) == "precious\n")
        #expect(FileManager.default.fileExists(atPath: out + "/2027-04-01/index.html"))
    }
}

/// The umask is one per process, so these tests run one at a time and put it back at once.
@Suite(.serialized) struct ReportFileModeTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    func publish(underUmask mask: mode_t) throws -> (out: String, report: String) {
        let out = try TestDatabase.scratchDirectory("reports") + "/new/reports"
        let previous = umask(mask)
        defer { umask(previous) }
        let link = try ReportDirectory.publish(NightlyReport(rows: sampleRows()).files, in: out, date: "2027-04-01")
        return (out, out + "/" + (try FileManager.default.destinationOfSymbolicLink(atPath: link)))
    }

    func expectReportModes(_ out: String, _ report: String) throws {
        #expect(mode(out) == 0o750, "a folder the publisher creates")
        #expect(mode((out as NSString).deletingLastPathComponent) == 0o750, "and its parent it creates")
        #expect(mode(report) == 0o750, "the report's folder")
        #expect(mode(out + "/.lock") == 0o640)
        let names = try FileManager.default.contentsOfDirectory(atPath: report)
        // A CSV a section, summary.json, index.html, and ledger-head.txt where the chain verified.
        #expect(names.count >= ReportSection.allCases.count + 2)
        for name in names { #expect(mode(report + "/" + name) == 0o640, "\(name)") }
    }

    @Test func filesAre0640AndFolders0750UnderAnOpenUmask() throws {
        let (out, report) = try publish(underUmask: 0)
        try expectReportModes(out, report)
    }

    @Test func filesAre0640AndFolders0750UnderAClosedUmask() throws {
        let (out, report) = try publish(underUmask: 0o077)
        try expectReportModes(out, report)
    }
}
