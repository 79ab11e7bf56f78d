/// The error codes of final `ERR` lines. Scripts test these; their spelling never changes.
public enum ErrorCode: String, Sendable, CaseIterable {
    case syntax
    case unknownCommand = "unknown_command"
    case invalidArgument = "invalid_argument"
    case notFound = "not_found"
    case conflict
    case permissionDenied = "permission_denied"
    case lineTooLong = "line_too_long"
    case unavailable
    case busy
    case `internal`
}

/// Lines the server sends. Every response is zero or more data lines and exactly one final line.
public enum ResponseLine {
    /// `OK` or `OK <summary>`.
    public static func ok(_ summary: String? = nil) -> String {
        guard let summary, !summary.isEmpty else { return "OK" }
        return "OK " + singleLine(summary)
    }

    /// `ERR <code> <message>`; the message is kept to one line.
    public static func err(_ code: ErrorCode, _ message: String) -> String {
        "ERR \(code.rawValue) " + singleLine(message)
    }

    /// `* key=value ...`, values quoted where they need it.
    public static func data(_ fields: [(String, String)]) -> String {
        "* " + fields.map { "\($0.0)=\(quote($0.1))" }.joined(separator: " ")
    }

    /// A value as it is written on the wire: bare when it can be, else in double quotes with `\"`,
    /// `\\`, `\n`, `\t` (and `\r`) escaped.
    public static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Final lines carry prose; a line break in it would end the response early. By Unicode scalar,
    /// not by Character: CR LF is one Character and would slip past a Character comparison. Other
    /// controls and the Unicode line separators go too, since some line readers split on them.
    static func singleLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: breaksLine) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(breaksLine(scalar) ? " " : scalar) }
        return String(out)
    }

    static func breaksLine(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F || scalar.value == 0x85
            || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// The line as it goes on the wire, with its LF: the one place every line cpdd sends passes
    /// through, so that no CR or LF inside it (whatever a message echoed) can end a response early
    /// and put every later answer on the connection off by one. Formatting already keeps them out;
    /// this is the guarantee.
    public static func wireBytes(_ line: String, into bytes: inout [UInt8]) {
        for byte in line.utf8 {
            // In UTF-8, bytes 0x0A and 0x0D only ever stand for LF and CR themselves.
            bytes.append(byte == 0x0A || byte == 0x0D ? 0x20 : byte)
        }
        bytes.append(0x0A)
    }
}

/// A JSON string literal (data lines after `format json` send every value as one, so that points
/// keep their two places).
public func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
