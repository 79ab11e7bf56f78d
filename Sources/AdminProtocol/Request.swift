/// One request: a command and its `key=value` arguments, in the order given.
public struct Request: Sendable, Equatable {
    /// Lower-cased, dotted: `course.add`.
    public var command: String
    public var arguments: [Argument]
    /// Bare words after the command (`format json`, `help course.add`); most commands take none.
    public var positional: [String] = []

    public struct Argument: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(command: String, arguments: [Argument] = [], positional: [String] = []) {
        self.command = command
        self.arguments = arguments
        self.positional = positional
    }

    /// The value of `key`, if given.
    public subscript(key: String) -> String? { arguments.first { $0.key == key }?.value }
}

/// Why a line is not a request. Each maps to a protocol error code.
public struct RequestSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum RequestParser {
    /// Parses one line (without its line end). Returns nil for a blank line or a `#` comment, which
    /// get no response at all.
    public static func parse(_ line: String) throws(RequestSyntaxError) -> Request? {
        var scanner = Scanner(line.unicodeScalars)
        scanner.skipBlanks()
        guard let first = scanner.peek, first != "#" else { return nil }

        let command = scanner.take { !isBlank($0) }
        guard command.unicodeScalars.allSatisfy(isCommandScalar), command.first?.isLetter == true else {
            throw RequestSyntaxError("a command is letters, digits, dots and underscores: '\(command.prefix(40))'")
        }
        var arguments: [Request.Argument] = []
        var positional: [String] = []
        while true {
            scanner.skipBlanks()
            guard scanner.peek != nil else { break }
            let key = scanner.take { $0 != "=" && !isBlank($0) && $0 != "\"" }
            guard scanner.peek == "=" else {
                // A bare word: `format json`, `help course.add`.
                guard !key.isEmpty, scanner.peek == nil || isBlank(scanner.peek!), arguments.isEmpty,
                    key.unicodeScalars.allSatisfy(isCommandScalar)
                else {
                    throw RequestSyntaxError("expected key=value, found '\(String(key.prefix(40)))'")
                }
                positional.append(key)
                continue
            }
            guard !key.isEmpty, key.unicodeScalars.allSatisfy(isKeyScalar), key.first?.isLetter == true else {
                throw RequestSyntaxError("an argument name is lower-case letters, digits and underscores: '\(key.prefix(40))'")
            }
            scanner.advance()  // "="
            let value: String
            if scanner.peek == "\"" {
                scanner.advance()
                value = try scanner.quoted()
                if let next = scanner.peek, !isBlank(next) {
                    throw RequestSyntaxError("a closing quote must be followed by a space or the end of the line")
                }
            } else {
                value = scanner.take { !isBlank($0) }
                if value.unicodeScalars.contains("\"") {
                    throw RequestSyntaxError("a value with a quote in it must be written in double quotes")
                }
            }
            if arguments.contains(where: { $0.key == key }) {
                throw RequestSyntaxError("argument '\(key)' is given twice")
            }
            arguments.append(Request.Argument(key: key, value: value))
        }
        return Request(command: command.lowercased(), arguments: arguments, positional: positional)
    }

    static func isBlank(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }

    static func isCommandScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_"
    }

    static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }
}

private struct Scanner {
    let scalars: [Unicode.Scalar]
    var position = 0
    init(_ view: String.UnicodeScalarView) { scalars = Array(view) }

    var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }
    mutating func advance() { position += 1 }

    mutating func skipBlanks() {
        while let scalar = peek, RequestParser.isBlank(scalar) { advance() }
    }

    mutating func take(while predicate: (Unicode.Scalar) -> Bool) -> String {
        var out = String.UnicodeScalarView()
        while let scalar = peek, predicate(scalar) {
            out.append(scalar)
            advance()
        }
        return String(out)
    }

    /// The rest of a quoted value, after its opening quote, up to and including its closing quote.
    mutating func quoted() throws(RequestSyntaxError) -> String {
        var out = String.UnicodeScalarView()
        while let scalar = peek {
            advance()
            switch scalar {
            case "\"": return String(out)
            case "\\":
                guard let escaped = peek else { break }
                advance()
                switch escaped {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default: throw RequestSyntaxError("unknown escape '\\\(escaped)' in a quoted value")
                }
            default: out.append(scalar)
            }
        }
        throw RequestSyntaxError("a quoted value is not closed")
    }
}
