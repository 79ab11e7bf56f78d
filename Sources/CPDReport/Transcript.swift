/// A practitioner's record for one cycle, made from the answers to `points`, `statement` and
/// `audit.list` for it (their data lines after `format json`): the standing and its rules, the renewal of the cycle
/// before, the audit of the cycle, the certificates, and the entries. As a page that prints well, and as a CSV of
/// `part,name,value,detail` rows a spreadsheet opens.
public struct Transcript: Sendable {
    public var summary: [String: String]
    public var rules: [[String: String]]
    public var renewal: [String: String]?
    public var certificates: [[String: String]]
    public var entries: [[String: String]]
    /// The audits of this cycle (`audit.list`'s lines for the member whose `cycle_start` is the cycle's).
    public var audits: [[String: String]]

    public init(points: [String], statement: [String], audits: [String] = []) throws(ReportFormatError) {
        func objects(_ lines: [String], _ what: String) throws(ReportFormatError) -> [[String: String]] {
            var objects: [[String: String]] = []
            for (index, line) in lines.enumerated() {
                guard let object = JSONObjectOfStrings.parse(line) else {
                    throw ReportFormatError("\(what) line \(index + 1) is not a JSON object of strings")
                }
                objects.append(object)
            }
            return objects
        }
        let standing = try objects(points, "points")
        guard let summary = standing.first(where: { $0["kind"] == "summary" }) else { throw ReportFormatError("points gave no summary") }
        self.summary = summary
        rules = standing.filter { $0["kind"] == "rule" }
        renewal = standing.first { $0["kind"] == "renewal" }
        certificates = standing.filter { $0["kind"] == "certificate" }
        entries = try objects(statement, "statement")
        // The audit of this cycle: its cycle ends within it (the same cycle, in a fixed or anniversary
        // scheme; in a rolling one, an audited window that ends in this one). ISO dates order as text.
        let start = summary["cycle_start"] ?? "", end = summary["cycle_end"] ?? ""
        self.audits = try objects(audits, "audit.list").filter { audit in
            guard audit["kind"] == "audit", let auditEnd = audit["cycle_end"] else { return false }
            return auditEnd >= start && auditEnd <= end
        }
    }

    /// `part,name,value,detail`: the cycle, the standing's figures, each rule, the renewal, each
    /// certificate, each entry (a carry-over line has no entry number).
    public var csv: String {
        var rows: [[String]] = [["part", "name", "value", "detail"]]
        for name in ["practitioner", "scheme", "cycle_start", "cycle_end"] { rows.append(["cycle", name, summary[name] ?? "", ""]) }
        for name in ["required", "earned", "counted", "carried", "shortfall", "status", "days_left"] {
            rows.append(["standing", name, summary[name] ?? "", ""])
        }
        for rule in rules {
            let gap = ["missing", "uncounted", "over"].compactMap { key in rule[key].map { "\(key)=\($0)" } }
            rows.append(["rule", rule["rule"] ?? "", rule["value"] ?? "", (["limit=\(rule["limit"] ?? "")", "met=\(rule["met"] ?? "")"] + gap).joined(separator: " ")])
        }
        if let renewal {
            let detail = ["due", "submitted", "approved"].compactMap { key in renewal[key].map { "\(key)=\($0)" } }.joined(separator: " ")
            rows.append(["renewal", "\(renewal["cycle_start"] ?? "") to \(renewal["cycle_end"] ?? "")", renewal["late"] == "yes" ? "late" : "on time", detail])
        }
        for audit in audits {
            let detail = ["due", "overdue", "evidence", "pending", "exempt_until", "decided", "note"].compactMap { key in audit[key].map { "\(key)=\($0)" } }
            rows.append(["audit", audit["audit"] ?? "", audit["state"] ?? "", detail.joined(separator: " ")])
        }
        for certificate in certificates {
            rows.append(["certificate", certificate["certificate"] ?? "", certificate["state"] ?? "", certificate["expires"].map { "expires=\($0)" } ?? ""])
        }
        for entry in entries {
            let detail = [
                entry["date"], entry["kind"], entry["course"].map { course in course + (entry["version"].map { " v" + $0 } ?? "") },
                entry["reverses"].map { "reverses=" + $0 }, entry["counted"].map { "counted=" + $0 }, entry["reason"],
            ].compactMap { $0 }.joined(separator: " ")
            rows.append(["entry", entry["entry"] ?? "", entry["points"] ?? "", detail])
        }
        return rows.map(CSVFile.line).joined()
    }

    /// One page, readable on screen and on paper: the member and cycle, the figures, then a table
    /// each for the rules, the renewal, the certificates and the entries.
    public var html: String {
        func e(_ text: String) -> String { HTMLPage.escape(text) }
        let member = summary["practitioner"] ?? "", scheme = summary["scheme"] ?? ""
        let start = summary["cycle_start"] ?? "", end = summary["cycle_end"] ?? ""
        let title = "CPD transcript: " + member + " (" + scheme + "), " + start + " to " + end
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(e(title))</title>\n"
        html += "<style>\n"
        html += HTMLPage.style
        html += "\n"
        html += Self.printStyle
        html += "\n</style>\n</head>\n<body>\n"
        html += "<h1>\(e(title))</h1>\n<dl class=\"figures\" id=\"standing\">\n"
        for name in ["required", "earned", "counted", "carried", "shortfall", "status", "days_left"] {
            let label = e(name.replacingOccurrences(of: "_", with: " ")), id = name.replacingOccurrences(of: "_", with: "-")
            html += "<div><dt>" + label + "</dt><dd id=\"" + id + "\">" + e(summary[name] ?? "") + "</dd></div>\n"
        }
        html += "</dl>\n"
        html += Self.table("Rules", id: "rules", ["rule", "value", "limit", "met", "missing", "uncounted", "over"], rules)
        html += Self.table("Renewal of the cycle before", id: "renewal", ["cycle_start", "cycle_end", "due", "submitted", "approved", "late"], renewal.map { [$0] } ?? [])
        html += Self.table("Audit of this cycle", id: "audit", ["audit", "state", "due", "overdue", "evidence", "pending", "exempt_until", "decided", "note"], audits)
        html += Self.table("Certificates", id: "certificates", ["certificate", "state", "expires"], certificates)
        html += Self.table("Entries", id: "entries", ["entry", "date", "kind", "points", "course", "version", "reverses", "counted", "reason", "recorded_by"], entries)
        return html + "</body>\n</html>\n"
    }

    static func table(_ heading: String, id: String, _ columns: [String], _ rows: [[String: String]]) -> String {
        func e(_ text: String) -> String { HTMLPage.escape(text) }
        var out = "<section id=\"\(id)\">\n<h2>\(e(heading)) <span class=\"count\">(\(rows.count))</span></h2>\n"
        if rows.isEmpty { return out + "<p class=\"none\">None.</p>\n</section>\n" }
        out += "<table id=\"\(id)-table\">\n<thead><tr>" + columns.map { "<th>\(e($0.replacingOccurrences(of: "_", with: " ")))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows { out += "<tr>" + columns.map { "<td>\(e(row[$0] ?? ""))</td>" }.joined() + "</tr>\n" }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    /// On paper: black on white, no page break inside a row, table headers repeated on each page.
    static let printStyle = """
        @media print{body{margin:0;max-width:none;font-size:11pt;color:#000}th{background:none}
        tr{break-inside:avoid}thead{display:table-header-group}.figures div{border-color:#999}}
        """
}
