import AdminProtocol
import CPDCore

/// The version cpdd reports in its greeting and `--version`.
public enum CPDVersion {
    public static let current = "0.1.0"
}

/// One connection's conversation, without the socket: frames in, response lines out.
public struct Session: Sendable {
    public let principal: Principal
    public let lineLimit: Int

    public init(principal: Principal, lineLimit: Int) {
        self.principal = principal
        self.lineLimit = lineLimit
    }

    public var greeting: String {
        ResponseLine.ok("cpdd \(CPDVersion.current) principal=\(ResponseLine.quote(principal.name)) role=\(principal.role.rawValue)")
    }

    /// What to send back for one frame, and whether to close afterwards. Nil for a blank line or a
    /// comment, which get no answer.
    public struct Reply: Sendable, Equatable {
        public var lines: [String]
        public var closeAfterwards = false
    }

    public mutating func reply(to frame: FramedLine) -> Reply? {
        let bytes: [UInt8]
        switch frame {
        case .tooLong:
            return Reply(lines: [ResponseLine.err(.lineTooLong, "a request line may be at most \(lineLimit) bytes; the line was discarded")])
        case .line(let line):
            bytes = line
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return Reply(lines: [ResponseLine.err(.syntax, "the line is not valid UTF-8")])
        }
        let request: Request
        do {
            guard let parsed = try RequestParser.parse(text) else { return nil }
            request = parsed
        } catch {
            return Reply(lines: [ResponseLine.err(.syntax, error.message)])
        }
        return reply(to: request)
    }

    mutating func reply(to request: Request) -> Reply {
        switch request.command {
        case "ping":
            guard request.arguments.isEmpty else { return Reply(lines: [noArguments(request)]) }
            return Reply(lines: [ResponseLine.ok("pong")])
        case "whoami":
            guard request.arguments.isEmpty else { return Reply(lines: [noArguments(request)]) }
            return Reply(lines: [
                ResponseLine.data([("principal", principal.name), ("role", principal.role.rawValue)]), ResponseLine.ok(),
            ])
        case "quit":
            return Reply(lines: [ResponseLine.ok("bye")], closeAfterwards: true)
        default:
            return Reply(lines: [ResponseLine.err(.unknownCommand, "no command '\(request.command.prefix(64))'; this cpdd answers ping, whoami and quit")])
        }
    }

    private func noArguments(_ request: Request) -> String {
        ResponseLine.err(.invalidArgument, "\(request.command) takes no arguments")
    }
}
