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
        /// When the session refused a known command itself (its role or its arguments): the command
        /// and the refusal, so that a refused write can be noted for the nightly report.
        public var refused: Refusal?
        public init(lines: [String], closeAfterwards: Bool = false, refused: Refusal? = nil) {
            self.lines = lines
            self.closeAfterwards = closeAfterwards
            self.refused = refused
        }
        static func error(_ code: ErrorCode, _ message: String) -> Reply {
            Reply(lines: [ResponseLine.err(code, message)])
        }
        static func refusing(_ definition: CommandDefinition, _ error: CommandError) -> Reply {
            Reply(lines: [error.line], refused: Refusal(command: definition.name, error: error))
        }
    }

    /// A known command refused, and why.
    public struct Refusal: Sendable, Equatable {
        public var command: String
        public var error: CommandError
    }

    public enum Step: Sendable {
        /// Answer with these lines.
        case reply(Reply)
        /// A command read into its typed form (its role allowed, its arguments checked), for the runner.
        case execute(StoreCommand, CommandDefinition)
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
        guard let definition = CommandTable.byName[request.command] else {
            return .reply(.error(.unknownCommand, "no command '\(request.command.prefix(64))'; 'help' lists the commands"))
        }
        let command: Command
        do {
            try Self.check(request, against: definition, by: principal)
            command = try definition.parse(request)
        } catch {
            return .reply(.refusing(definition, error))
        }
        switch command {
        case .session(let command): return .reply(answer(command))
        case .store(let command): return .execute(command, definition)
        }
    }

    /// What every command's arguments must satisfy, from its definition: the role, known arguments
    /// only, no NUL, the required ones, exactly one of each group, bare words only where it takes them.
    static func check(_ request: Request, against definition: CommandDefinition, by principal: Principal) throws(CommandError) {
        guard definition.roles.contains(principal.role) else {
            throw CommandError(.permissionDenied, "\(definition.name) is not for the \(principal.role.rawValue) role")
        }
        let allowed = Set(definition.required + definition.optional)
        if let unknown = request.arguments.first(where: { !allowed.contains($0.key) }) {
            throw CommandError(.invalidArgument, "\(definition.name) takes no argument '\(unknown.key)'; usage: \(definition.usage)", field: unknown.key)
        }
        // libpq takes C strings: a NUL would cut a value short, so no value with one goes further.
        if let bad = request.arguments.first(where: { $0.value.unicodeScalars.contains("\u{0}") }) {
            throw CommandError(.invalidArgument, "\(bad.key): must not contain NUL (U+0000)", field: bad.key)
        }
        if let missing = definition.required.first(where: { request[$0] == nil }) {
            throw CommandError(.invalidArgument, "\(definition.name) needs \(missing)=; usage: \(definition.usage)", field: missing)
        }
        for group in definition.oneOf where group.filter({ request[$0] != nil }).count != 1 {
            let names = group.map { "\($0)=" }
            let listed = names.count == 2 ? names.joined(separator: " or ") : names.joined(separator: ", ")
            throw CommandError(.invalidArgument, "\(group[0]): give exactly one of \(listed)", field: group[0])
        }
        for group in definition.anyOf where !group.contains(where: { request[$0] != nil }) {
            throw CommandError(
                .invalidArgument, "\(group[0]): give at least one of \(group.map { "\($0)=" }.joined(separator: ", "))", field: group[0])
        }
        guard request.positional.count <= (definition.takesWords ? 1 : 0) else {
            throw CommandError(.invalidArgument, "\(definition.name) takes no bare words; usage: \(definition.usage)")
        }
    }

    static let pong = [ResponseLine.ok("pong")]

    /// The commands that need no database.
    private mutating func answer(_ command: SessionCommand) -> Reply {
        switch command {
        case .ping:
            return Reply(lines: Self.pong)
        case .quit:
            return Reply(lines: [ResponseLine.ok("bye")], closeAfterwards: true)
        case .whoami:
            var record = Record()
            record.add("principal", principal.name)
            record.add("role", principal.role.rawValue)
            record.add("provider", principal.provider)
            record.add("practitioner", principal.practitioner)
            return Reply(lines: [record.line(json: json), ResponseLine.ok()])
        case .format(let json):
            self.json = json
            return Reply(lines: [ResponseLine.ok("format \(json ? "json" : "text")")])
        case .help(let topic?):
            guard let command = CommandTable.byName[topic.lowercased()], command.roles.contains(principal.role) else {
                return .error(.notFound, "no command '\(topic.prefix(64))' for the \(principal.role.rawValue) role")
            }
            var record = Record()
            record.add("command", command.name)
            record.add("usage", command.usage)
            record.add("summary", command.summary)
            return Reply(lines: [record.line(json: json), ResponseLine.ok()])
        case .help(nil):
            let mine = CommandTable.all.filter { $0.roles.contains(principal.role) }
            let lines = mine.map { command -> String in
                var record = Record()
                record.add("command", command.name)
                record.add("usage", command.usage)
                return record.line(json: json)
            }
            return Reply(lines: lines + [ResponseLine.ok("\(mine.count) commands")])
        }
    }
}
