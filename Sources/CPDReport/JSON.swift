import AdminProtocol

/// Just enough JSON for the report: writing objects with keys in a fixed order, and reading the
/// flat objects of strings that `format json` data lines are.
final class JSONWriter {
    private(set) var text = ""
    private var needsComma = false

    func object(_ body: () -> Void) {
        if needsComma { text += "," }
        text += "{"
        needsComma = false
        body()
        text += "}"
        needsComma = true
    }

    func key(_ name: String) {
        if needsComma { text += "," }
        text += Self.quoted(name) + ":"
        needsComma = false
    }

    func field(_ name: String, _ value: String?) {
        key(name)
        text += value.map(Self.quoted) ?? "null"
        needsComma = true
    }

    func field(_ name: String, _ value: Int?) {
        key(name)
        text += value.map(String.init) ?? "null"
        needsComma = true
    }

    func field(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
        needsComma = true
    }

    static func quoted(_ value: String) -> String { jsonString(value) }
}

/// A parser for `{"key":"value",...}` with string values only: what cpdd's JSON data lines are.
enum JSONObjectOfStrings {
    static func parse(_ line: String) -> [String: String]? {
        var scalars = Array(line.unicodeScalars)[...]
        func skipSpace() { while let c = scalars.first, c == " " || c == "\t" { scalars.removeFirst() } }
        func string() -> String? {
            guard scalars.first == "\"" else { return nil }
            scalars.removeFirst()
            var out = String.UnicodeScalarView()
            while let c = scalars.popFirst() {
                switch c {
                case "\"": return String(out)
                case "\\":
                    guard let e = scalars.popFirst() else { return nil }
                    switch e {
                    case "\"", "\\", "/": out.append(e)
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "b": out.append("\u{8}")
                    case "f": out.append("\u{C}")
                    case "u":
                        guard scalars.count >= 4, let value = UInt32(String(String.UnicodeScalarView(scalars.prefix(4))), radix: 16) else { return nil }
                        scalars.removeFirst(4)
                        var code = value
                        if (0xD800...0xDBFF).contains(value) {
                            // A surrogate pair: \uD83D\uDE00.
                            guard scalars.count >= 6, scalars.first == "\\", scalars.dropFirst().first == "u",
                                  let low = UInt32(String(String.UnicodeScalarView(scalars.dropFirst(2).prefix(4))), radix: 16),
                                  (0xDC00...0xDFFF).contains(low) else { return nil }
                            scalars.removeFirst(6)
                            code = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        out.append(scalar)
                    default: return nil
                    }
                default: out.append(c)
                }
            }
            return nil
        }
        skipSpace()
        guard scalars.popFirst() == "{" else { return nil }
        var object: [String: String] = [:]
        skipSpace()
        if scalars.first == "}" { scalars.removeFirst(); skipSpace(); return scalars.isEmpty ? object : nil }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard scalars.popFirst() == ":" else { return nil }
            skipSpace()
            guard let value = string() else { return nil }
            object[key] = value
            skipSpace()
            switch scalars.popFirst() {
            case ",": continue
            case "}":
                skipSpace()
                return scalars.isEmpty ? object : nil
            default: return nil
            }
        }
    }
}
