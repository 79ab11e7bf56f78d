import CPDCore

/// RFC 4180 CSV: a header row of the section's columns, CRLF line ends, a field in double quotes
/// (quotes doubled) when it holds a comma, a quote or a line break. A field that a spreadsheet would
/// take for a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`, since names and reasons come
/// from outside.
public enum CSVFile {
    public static func render(_ section: ReportSection, _ rows: [ReportRow]) -> String {
        var out = line(section.columns)
        for row in rows { out += line(row.values) }
        return out
    }

    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    static func field(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, "=+@".unicodeScalars.contains(first) || (first == "-" && Points(parsing: value) == nil && Int(value) == nil) {
            value = "'" + value
        }
        guard value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
