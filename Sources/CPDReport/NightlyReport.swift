/// CPDReport: the nightly report's files, made from its rows (as `report.nightly` sends them): a CSV
/// per section, `summary.json` and `index.html` with inline SVG charts, and the atomic publishing
/// of the lot. It knows nothing of sockets or SQL; cpdctl fetches the rows and calls it.
import CPDCore

/// A report's rows by section, and the headline figures drawn from them.
public struct NightlyReport: Sendable {
    public private(set) var rows: [ReportSection: [ReportRow]] = [:]

    public init(rows: [ReportRow]) {
        for row in rows { self.rows[row.section, default: []].append(row) }
    }

    /// Reads data lines sent after `format json`: one JSON object of strings per line, with
    /// `section` and that section's columns.
    public init(jsonLines: [String]) throws(ReportFormatError) {
        var rows: [ReportRow] = []
        rows.reserveCapacity(jsonLines.count)
        for (index, line) in jsonLines.enumerated() {
            guard let object = JSONObjectOfStrings.parse(line) else {
                throw ReportFormatError("data line \(index + 1) is not a JSON object of strings")
            }
            guard let name = object["section"], let section = ReportSection(rawValue: name) else {
                throw ReportFormatError("data line \(index + 1) names no known section")
            }
            rows.append(ReportRow(section, section.columns.map { object[$0] ?? "" }))
        }
        self.init(rows: rows)
    }

    public subscript(_ section: ReportSection) -> [ReportRow] { rows[section] ?? [] }

    public var summary: ReportSummary { ReportSummary(self) }
}

public struct ReportFormatError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The headline figures: what summary.json holds and index.html shows first.
public struct ReportSummary: Sendable, Equatable {
    public var date = "", generatedAt = "", registry = "", timeZone = ""
    public var run = "", sinceRun = "", sinceDate = ""
    public var members = 0
    public var byStatus: [ComplianceStatus: Int] = [:]
    /// Members at risk or non-compliant, by the tightest of the 90/60/30-day flags they are within.
    public var flagged: [Int: Int] = [:]
    public var certificates: [String: Int] = [:]
    public var completionsSince = 0, reversalsSince = 0
    public var pointsSince = Points.zero, reversedPointsSince = Points.zero
    public var entriesSince = 0
    public var courseEventsSince = 0
    public var rejectedWritesSince = 0
    public var pointsLast30Days = Points.zero
    public var ledgerStatus = "", ledgerHead = "", brokenEntry = "", ledgerProblem = ""
    public var ledgerEntries = 0
    public var recorded = Points.zero, reversed = Points.zero, balances = Points.zero
    public var reconciles = false

    init(_ report: NightlyReport) {
        if let run = report[.run].first {
            date = run["date"] ?? ""
            generatedAt = run["generated_at"] ?? ""
            registry = run["registry"] ?? ""
            timeZone = run["time_zone"] ?? ""
            self.run = run["run"] ?? ""
            sinceRun = run["since_run"] ?? ""
            sinceDate = run["since_date"] ?? ""
            entriesSince = Int(run["entries_since"] ?? "") ?? 0
        }
        for row in report[.schemeStatus] {
            members += Int(row["members"] ?? "") ?? 0
            for status in ComplianceStatus.allCases { byStatus[status, default: 0] += Int(row[status.rawValue] ?? "") ?? 0 }
        }
        for row in report[.atRisk] {
            if let flag = Int(row["flag"] ?? "") { flagged[flag, default: 0] += 1 }
        }
        for row in report[.certificates] { certificates[row["state"] ?? "", default: 0] += 1 }
        for row in report[.completionsByCourse] {
            completionsSince += Int(row["completions"] ?? "") ?? 0
            reversalsSince += Int(row["reversals"] ?? "") ?? 0
            pointsSince = pointsSince + points(row["points"])
            reversedPointsSince = reversedPointsSince + points(row["reversed_points"])
        }
        courseEventsSince = report[.courseEvents].count
        rejectedWritesSince = report[.rejectedWrites].reduce(0) { $0 + (Int($1["count"] ?? "") ?? 0) }
        pointsLast30Days = report[.pointsPerDay].reduce(Points.zero) { $0 + points($1["points"]) }
        if let integrity = report[.integrity].first {
            ledgerStatus = integrity["status"] ?? ""
            ledgerEntries = Int(integrity["entries"] ?? "") ?? 0
            ledgerHead = integrity["head"] ?? ""
            brokenEntry = integrity["broken_entry"] ?? ""
            ledgerProblem = integrity["problem"] ?? ""
        }
        if let totals = report[.totals].first {
            recorded = points(totals["recorded"])
            reversed = points(totals["reversed"])
            balances = points(totals["balances"])
            reconciles = totals["reconciles"] == "yes"
        }
    }

    /// summary.json: counts as numbers, points as strings with two places (as the protocol sends them).
    public var json: String {
        let out = JSONWriter()
        out.object {
            out.field("date", date)
            out.field("generated_at", generatedAt)
            out.field("registry", registry)
            out.field("time_zone", timeZone)
            out.field("run", Int(run))
            out.field("since_run", Int(sinceRun))
            out.field("since_date", sinceDate.isEmpty ? nil : sinceDate)
            out.field("members", members)
            out.key("status")
            out.object { for status in ComplianceStatus.allCases { out.field(status.rawValue, byStatus[status, default: 0]) } }
            out.key("flagged")
            out.object { for days in DeadlineFlag.thresholds { out.field("within_\(days)_days", flagged[days, default: 0]) } }
            out.key("certificates")
            out.object { for state in ["expiring", "expired", "missing"] { out.field(state, certificates[state, default: 0]) } }
            out.key("since_previous_run")
            out.object {
                out.field("entries", entriesSince)
                out.field("completions", completionsSince)
                out.field("points", pointsSince.description)
                out.field("reversals", reversalsSince)
                out.field("reversed_points", reversedPointsSince.description)
                out.field("course_events", courseEventsSince)
                out.field("rejected_writes", rejectedWritesSince)
            }
            out.field("points_last_30_days", pointsLast30Days.description)
            out.key("ledger")
            out.object {
                out.field("status", ledgerStatus)
                out.field("entries", ledgerEntries)
                out.field("head", ledgerHead.isEmpty ? nil : ledgerHead)
                out.field("broken_entry", Int(brokenEntry))
                out.field("problem", ledgerProblem.isEmpty ? nil : ledgerProblem)
            }
            out.key("totals")
            out.object {
                out.field("recorded", recorded.description)
                out.field("reversed", reversed.description)
                out.field("net", (recorded - reversed).description)
                out.field("balances", balances.description)
                out.field("reconciles", reconciles)
            }
        }
        return out.text + "\n"
    }
}

func points(_ text: String?) -> Points { text.flatMap(Points.init(parsing:)) ?? .zero }
