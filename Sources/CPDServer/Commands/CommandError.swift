import AdminProtocol
import CPDCore
import CPDStore
import Logging

/// A refusal on its way to the wire: its contract code, the argument at fault when there is one,
/// and its message. Domain and store errors become one here, and `line` is the one place an ERR
/// answer to a command is written; nothing reads an ERR line back.
public struct CommandError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var field: String?
    public var message: String

    public init(_ code: ErrorCode, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var line: String { ResponseLine.err(code, message) }

    /// Refusals for overload or an outage are not refusals of the request itself: the sender is told
    /// to try again, and the rejection log does not count them.
    var isTransient: Bool { code == .busy || code == .unavailable }

    init(_ error: ValidationError) {
        self.init(.invalidArgument, error.description, field: error.field)
    }

    init(_ error: StoreError) {
        switch error {
        case .notFound(let m): self.init(.notFound, m)
        case .conflict(let m): self.init(.conflict, m)
        case .invalid(let e): self.init(e)
        case .outOfRange(let e): self.init(.invalidArgument, e.description)
        case .permissionDenied(let m): self.init(.permissionDenied, m)
        case .busy(let m): self.init(.busy, m)
        case .unavailable(let m): self.init(.unavailable, m)
        case .unexpected(let m): self.init(.internal, m)
        }
    }

    /// Any error a command's reading or handling throws. Those are the types above; anything else is
    /// a fault in cpdd, logged here, its details kept from the sender.
    init(_ error: any Error, in command: String) {
        switch error {
        case let error as CommandError: self = error
        case let error as ValidationError: self.init(error)
        case let error as StoreError: self.init(error)
        case let error as DayOutOfRange: self.init(.invalidArgument, error.description)
        default:
            Self.logger.error("command failed", metadata: ["command": "\(command)", "error": "\(error)"])
            self.init(.internal, "\(command) failed unexpectedly; the error is in cpdd's log")
        }
    }

    static let logger = Logger(label: "cpd.commands")
}
