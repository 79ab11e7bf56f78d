import AdminProtocol
import CPDCore

/// The version cpdd reports in its greeting and `--version`.
public enum CPDVersion {
    public static let current = "0.1.0"
}

/// One connection's conversation, without the socket: frames in, and either lines out or a command
/// for the runner (which needs the database).
public struct Session: Sendable {
    public let principal: Principal
    public let lineLimit: Int
    /// `format json` was asked for: data lines are JSON objects.
    public private(set) var json = false

    public init(principal: Principal, lineLimit: Int) {
        self.principal = principal
        self.lineLimit = lineLimit
    }

    public var greeting: String {
        ResponseLine.ok("cpdd \(CPDVersion.current) principal=\(ResponseLine.quote(principal.name)) role=\(principal.role.rawValue)")
    }

    public struct Reply: Sendable, Equatable {
        public var lines: [String]
        public var closeAfterwards = false
        /// The command this reply refuses, when the session refused a known command itself (its role
        /// or its arguments), so that a refused write can be noted for the nightly report.
        public var refusedCommand: String?
        public init(lines: [String], closeAfterwards: Bool = false, refusedCommand: String? = nil) {
            self.lines = lines
            self.closeAfterwards = closeAfterwards
            self.refusedCommand = refusedCommand
        }
        static func error(_ code: ErrorCode, _ message: String, refusing command: String? = nil) -> Reply {
            Reply(lines: [ResponseLine.err(code, message)], refusedCommand: command)
        }
    }

    public enum Step: Sendable {
        /// Answer with these lines.
        case reply(Reply)
        /// A checked request (known command, allowed role, known arguments) for the runner.
        case execute(Request, CommandSpec)
    }

    /// What to do with one frame; nil for a blank line or a comment, which get no answer.
    public mutating func step(for frame: FramedLine) -> Step? {
        let bytes: [UInt8]
        switch frame {
        case .tooLong:
            return .reply(.error(.lineTooLong, "a request line may be at most \(lineLimit) bytes; the line was discarded"))
        case .line(let line):
            bytes = line
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .reply(.error(.syntax, "the line is not valid UTF-8"))
        }
        let request: Request
        do {
            guard let parsed = try RequestParser.parse(text) else { return nil }
            request = parsed
        } catch {
            return .reply(.error(.syntax, error.message))
        }
        guard let spec = CommandTable.byName[request.command] else {
            return .reply(.error(.unknownCommand, "no command '\(request.command.prefix(64))'; 'help' lists the commands"))
        }
        guard spec.roles.contains(principal.role) else {
            return .reply(.error(.permissionDenied, "\(spec.name) is not for the \(principal.role.rawValue) role", refusing: spec.name))
        }
        let allowed = Set(spec.required + spec.optional)
        if let unknown = request.arguments.first(where: { !allowed.contains($0.key) }) {
            return .reply(.error(.invalidArgument, "\(spec.name) takes no argument '\(unknown.key)'; usage: \(spec.usage)", refusing: spec.name))
        }
        // libpq takes C strings: a NUL would cut a value short, so no value with one goes further.
        if let bad = request.arguments.first(where: { $0.value.unicodeScalars.contains("\u{0}") }) {
            return .reply(.error(.invalidArgument, "\(bad.key): must not contain NUL (U+0000)", refusing: spec.name))
        }
        if let missing = spec.required.first(where: { request[$0] == nil }) {
            return .reply(.error(.invalidArgument, "\(spec.name) needs \(missing)=; usage: \(spec.usage)", refusing: spec.name))
        }
        guard request.positional.count <= spec.positional else {
            return .reply(.error(.invalidArgument, "\(spec.name) takes no bare words; usage: \(spec.usage)", refusing: spec.name))
        }
        if let reply = sessionCommand(request, spec) { return .reply(reply) }
        return .execute(request, spec)
    }

    /// The commands that need no database.
    private mutating func sessionCommand(_ request: Request, _ spec: CommandSpec) -> Reply? {
        switch spec.name {
        case "ping":
            return Reply(lines: [ResponseLine.ok("pong")])
        case "quit":
            return Reply(lines: [ResponseLine.ok("bye")], closeAfterwards: true)
        case "whoami":
            var record = Record()
            record.add("principal", principal.name)
            record.add("role", principal.role.rawValue)
            record.add("provider", principal.provider)
            record.add("practitioner", principal.practitioner)
            return Reply(lines: [record.line(json: json), ResponseLine.ok()])
        case "format":
            switch request.positional.first {
            case "json": json = true
            case "text": json = false
            default: return .error(.invalidArgument, "format takes text or json")
            }
            return Reply(lines: [ResponseLine.ok("format \(json ? "json" : "text")")])
        case "help":
            if let name = request.positional.first {
                guard let command = CommandTable.byName[name.lowercased()], command.roles.contains(principal.role) else {
                    return .error(.notFound, "no command '\(name.prefix(64))' for the \(principal.role.rawValue) role")
                }
                var record = Record()
                record.add("command", command.name)
                record.add("usage", command.usage)
                record.add("summary", command.summary)
                return Reply(lines: [record.line(json: json), ResponseLine.ok()])
            }
            let mine = CommandTable.all.filter { $0.roles.contains(principal.role) }
            let lines = mine.map { command -> String in
                var record = Record()
                record.add("command", command.name)
                record.add("usage", command.usage)
                return record.line(json: json)
            }
            return Reply(lines: lines + [ResponseLine.ok("\(mine.count) commands")])
        default:
            return nil
        }
    }
}
