import CPDCore

/// index.html: one self-contained page for a registry admin (no scripts, no outside resources):
/// the headline figures, two inline SVG charts (points recorded per day over the last 30 days;
/// compliance status per scheme), the at-risk list, and the other sections as tables. Long lists
/// show their most urgent rows and point to the CSV that has them all.
public enum HTMLPage {
    /// Rows a table shows before it points to its CSV.
    public static let tableLimit = 1000

    public static func render(_ report: NightlyReport) -> String {
        let s = report.summary
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>CPD nightly report \(escape(s.date)) · \(escape(s.registry))</title>
            <style>\(style)</style>
            </head>
            <body>
            <header>
            <h1>Nightly report, <span id="report-date">\(escape(s.date))</span></h1>
            <p class="meta">\(escape(s.registry)) (\(escape(s.timeZone))) · made \(escape(s.generatedAt)) · run \(escape(s.run)) · \(sinceText(s))</p>
            </header>

            """
        html += alerts(s)
        html += headline(s)
        html += "<section id=\"charts\">\n"
        html += "<h2>\(escape(ReportSection.pointsPerDay.title))</h2>\n" + pointsChart(report[.pointsPerDay])
        html += "<h2>\(escape(ReportSection.schemeStatus.title))</h2>\n" + statusChart(report[.schemeStatus])
        html += "</section>\n"
        let urgent = report[.atRisk].sorted { a, b in
            let (da, db) = (Int(a["days_left"] ?? "") ?? .max, Int(b["days_left"] ?? "") ?? .max)
            if da != db { return da < db }
            return points(a["shortfall"]) > points(b["shortfall"])
        }
        html += table(.atRisk, urgent, id: "at-risk", note: "most urgent first")
        html += table(.certificates, report[.certificates].sorted { (Int($0["days_left"] ?? "") ?? .min) < (Int($1["days_left"] ?? "") ?? .min) }, id: "certificates")
        html += table(.renewals, report[.renewals].sorted { ($0["due"] ?? "") < ($1["due"] ?? "") }, id: "renewals", note: "earliest due first")
        html += table(.audits, report[.audits], id: "audits", note: "audits to draw first; then by scheme, not yet requested, then earliest due")
        for section in [ReportSection.schemeStatus, .completionsByProvider, .completionsByCourse, .courseEvents, .rejectedWrites, .integrity, .totals] {
            html += table(section, report[section], id: section.rawValue.replacingOccurrences(of: "_", with: "-"))
        }
        html += "<footer><p>Every section in full: "
        html += ReportSection.allCases.map { "<a href=\"\($0.rawValue).csv\">\($0.rawValue).csv</a>" }.joined(separator: " · ")
        html += " · <a href=\"summary.json\">summary.json</a></p></footer>\n</body>\n</html>\n"
        return html
    }

    static func sinceText(_ s: ReportSummary) -> String {
        s.sinceRun.isEmpty ? "first run: changes since the registry began" : "changes since run \(escape(s.sinceRun)) of \(escape(s.sinceDate))"
    }

    static func alerts(_ s: ReportSummary) -> String {
        var out = ""
        if s.ledgerStatus != "verified" {
            out += "<p class=\"alert\" id=\"ledger-alert\">The ledger does not verify: entry \(escape(s.brokenEntry)): \(escape(s.ledgerProblem))</p>\n"
        }
        if !s.reconciles {
            out += "<p class=\"alert\" id=\"totals-alert\">The totals do not reconcile: recorded \(s.recorded) − reversed \(s.reversed) ≠ balances \(s.balances)</p>\n"
        }
        return out
    }

    static func headline(_ s: ReportSummary) -> String {
        let figures: [(id: String, label: String, value: String)] = [
            ("members", "Members", String(s.members)),
            ("compliant", "Compliant", String(s.byStatus[.compliant, default: 0])),
            ("on-track", "On track", String(s.byStatus[.onTrack, default: 0])),
            ("at-risk", "At risk", String(s.byStatus[.atRisk, default: 0])),
            ("non-compliant", "Non-compliant", String(s.byStatus[.nonCompliant, default: 0])),
            ("flag-30", "Due within 30 days", String(s.flagged[30, default: 0])),
            ("flag-60", "Within 60 days", String(s.flagged[60, default: 0])),
            ("flag-90", "Within 90 days", String(s.flagged[90, default: 0])),
            ("certificates-expired", "Certificates expired", String(s.certificates["expired", default: 0])),
            ("certificates-expiring", "Certificates expiring (60 days)", String(s.certificates["expiring", default: 0])),
            ("certificates-missing", "Certificates missing", String(s.certificates["missing", default: 0])),
            ("completions-since", "Completions since last run", String(s.completionsSince)),
            ("points-since", "Points since last run", s.pointsSince.description),
            ("reversals-since", "Reversals since last run", String(s.reversalsSince)),
            ("rejected-writes", "Writes rejected since last run", String(s.rejectedWritesSince)),
            ("ledger-status", "Ledger", s.ledgerStatus),
            ("ledger-entries", "Ledger entries", String(s.ledgerEntries)),
            ("totals-reconcile", "Totals reconcile", s.reconciles ? "yes" : "no"),
        ]
        var out = "<section id=\"headline\"><h2>Headline figures</h2>\n<dl class=\"figures\">\n"
        for figure in figures {
            out += "<div><dt>\(escape(figure.label))</dt><dd id=\"\(figure.id)\">\(escape(figure.value))</dd></div>\n"
        }
        out += "</dl>\n<p class=\"meta\">Ledger head <code id=\"ledger-head\">\(escape(s.ledgerHead))</code></p>\n</section>\n"
        return out
    }

    // MARK: - Charts

    /// A bar per day; the tallest bar is the chart's height. Each bar carries its figures in a
    /// `<title>` (a tooltip) and in data attributes.
    static func pointsChart(_ rows: [ReportRow]) -> String {
        let width = 720, height = 220, left = 56, bottom = 40, top = 12
        let plotHeight = height - bottom - top
        let values = rows.map { points($0["points"]).hundredths }
        let most = max(values.max() ?? 0, 1)
        let step = rows.isEmpty ? 0 : (width - left - 8) / rows.count
        var out = "<svg id=\"chart-points-per-day\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Points recorded per day over the last 30 days\">\n"
        out += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - 4)\" y2=\"\(top + plotHeight)\" class=\"axis\"/>\n"
        out += "<text x=\"\(left - 6)\" y=\"\(top + 4)\" class=\"label\" text-anchor=\"end\">\(escape(Points(hundredths: most).description))</text>\n"
        out += "<text x=\"\(left - 6)\" y=\"\(top + plotHeight)\" class=\"label\" text-anchor=\"end\">0</text>\n"
        for (index, row) in rows.enumerated() {
            let value = values[index]
            let barHeight = Int((Double(value) / Double(most) * Double(plotHeight)).rounded())
            let x = left + index * step + 1
            let day = row["day"] ?? ""
            out += "<rect class=\"bar\" x=\"\(x)\" y=\"\(top + plotHeight - barHeight)\" width=\"\(max(step - 2, 1))\" height=\"\(barHeight)\" data-day=\"\(escape(day))\" data-points=\"\(escape(row["points"] ?? ""))\">"
            out += "<title>\(escape(day)): \(escape(row["points"] ?? "")) points, \(escape(row["completions"] ?? "")) completions</title></rect>\n"
            if index % 5 == 0 || index == rows.count - 1 {
                out += "<text x=\"\(x + step / 2)\" y=\"\(height - bottom + 16)\" class=\"label\" text-anchor=\"middle\">\(escape(String(day.suffix(5))))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    static let statusColours: [(ComplianceStatus, String)] = [
        (.compliant, "#2e7d32"), (.onTrack, "#1565c0"), (.atRisk, "#ef6c00"), (.nonCompliant, "#c62828"),
    ]

    /// A bar per scheme, split by status in proportion to its members.
    static func statusChart(_ rows: [ReportRow]) -> String {
        let width = 720, barHeight = 22, gap = 10, left = 110, legend = 28
        let height = legend + rows.count * (barHeight + gap) + 4
        let plotWidth = width - left - 70
        var out = "<svg id=\"chart-scheme-status\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Compliance status per scheme\">\n"
        for (index, (status, colour)) in statusColours.enumerated() {
            let x = left + index * 130
            out += "<rect x=\"\(x)\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(colour)\"/><text x=\"\(x + 16)\" y=\"15\" class=\"label\">\(status.rawValue.replacingOccurrences(of: "_", with: " "))</text>\n"
        }
        for (index, row) in rows.enumerated() {
            let y = legend + index * (barHeight + gap)
            let scheme = row["scheme"] ?? ""
            let members = Int(row["members"] ?? "") ?? 0
            out += "<text x=\"\(left - 6)\" y=\"\(y + 15)\" class=\"label\" text-anchor=\"end\">\(escape(scheme))</text>\n"
            var x = Double(left)
            for (status, colour) in statusColours {
                let count = Int(row[status.rawValue] ?? "") ?? 0
                guard count > 0, members > 0 else { continue }
                let segment = Double(plotWidth) * Double(count) / Double(members)
                out += "<rect class=\"segment\" x=\"\(format(x))\" y=\"\(y)\" width=\"\(format(segment))\" height=\"\(barHeight)\" fill=\"\(colour)\" data-scheme=\"\(escape(scheme))\" data-status=\"\(status.rawValue)\" data-count=\"\(count)\">"
                out += "<title>\(escape(scheme)): \(count) \(status.rawValue.replacingOccurrences(of: "_", with: " ")) of \(members)</title></rect>\n"
                x += segment
            }
            out += "<text x=\"\(left + plotWidth + 6)\" y=\"\(y + 15)\" class=\"label\">\(members)</text>\n"
        }
        return out + "</svg>\n"
    }

    static func format(_ value: Double) -> String { String(Double((value * 10).rounded()) / 10) }

    // MARK: - Tables

    static func table(_ section: ReportSection, _ rows: [ReportRow], id: String, note: String? = nil) -> String {
        var out = "<section id=\"\(id)\">\n<h2>\(escape(section.title)) <span class=\"count\">(\(rows.count))</span></h2>\n"
        if rows.isEmpty { return out + "<p class=\"none\">None.</p>\n</section>\n" }
        if rows.count > tableLimit {
            out += "<p class=\"meta\">The first \(tableLimit) of \(rows.count)\(note.map { ", \($0)" } ?? ""); all of them are in <a href=\"\(section.rawValue).csv\">\(section.rawValue).csv</a>.</p>\n"
        } else if let note {
            out += "<p class=\"meta\">\(escape(note.prefix(1).uppercased() + note.dropFirst())).</p>\n"
        }
        out += "<table id=\"\(id)-table\">\n<thead><tr>" + section.columns.map { "<th>\(escape($0.replacingOccurrences(of: "_", with: " ")))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows.prefix(tableLimit) {
            let flag = row["flag"].flatMap { $0.isEmpty ? nil : " class=\"flag-\($0)\"" } ?? ""
            out += "<tr\(flag)>" + row.values.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    static func escape<S: StringProtocol>(_ text: S) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
        .meta{color:#555;font-size:.9rem}.alert{background:#fdecea;border:1px solid #c62828;padding:.6rem;font-weight:600}
        .figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:.6rem}
        .figures div{border:1px solid #ddd;border-radius:6px;padding:.5rem .7rem}
        dt{font-size:.8rem;color:#555}dd{margin:0;font-size:1.5rem;font-weight:600}
        table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .4rem;text-align:left}
        th{background:#f5f5f5}tr.flag-30 td{background:#fdecea}tr.flag-60 td{background:#fff3e0}tr.flag-90 td{background:#fffde7}
        svg .bar{fill:#1565c0}svg .axis{stroke:#888}svg .label{font-size:11px;fill:#444}
        """
}
