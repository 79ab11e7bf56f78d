import CPDCore
import Logging
import Synchronization

/// Who is on a connection, and the stamp of the principals its principal was resolved at (nil for
/// root and cpdd's own account, which are admin whatever the principals say).
struct ConnectionIdentity: Sendable {
    var peer: PeerCredentials
    var principal: Principal
    var stamp: PrincipalChanges.Stamp?
}

/// What the re-check before a request found.
enum Recheck: Sendable {
    /// Go on under the same principal.
    case go
    /// Answer this refusal; `close`: the principal was removed or changed, and the connection
    /// closes after it (it never goes on under a principal other than the one its greeting named).
    case refuse(CommandError, close: Bool)
    /// An earlier request's re-check closed the connection: no answer.
    case stopped
}

/// A connection's principal, looked up again before a request that reaches the database when the
/// principals changed since it was resolved. The handler runs the re-checks one after another, in
/// request order.
final class ConnectionPrincipal: Sendable {
    private let identity: Mutex<ConnectionIdentity>
    let resolver: PrincipalResolver
    let logger: Logger

    /// Root and cpdd's own account are admin whatever the principals say: never re-checked.
    let isBuiltIn: Bool

    init(_ identity: ConnectionIdentity, resolver: PrincipalResolver, logger: Logger) {
        self.isBuiltIn = identity.stamp == nil || resolver.changes == nil
        self.identity = Mutex(identity)
        self.resolver = resolver
        self.logger = logger
    }

    func recheck() async -> Recheck {
        let current = identity.withLock { $0 }
        guard let stamp = current.stamp, let changes = resolver.changes else { return .go }
        let now = await changes.stamp()
        guard now != stamp else { return .go }
        let found: Principal?
        do {
            found = try await resolver.principal(for: current.peer)
        } catch {
            logger.warning("cannot look up a principal again", metadata: ["error": "\(error)"])
            return .refuse(CommandError(.unavailable, "the database cannot be reached; try again"), close: false)
        }
        guard let found else {
            logger.notice("closed a connection whose principal was removed", metadata: ["account": "\(current.principal.name)"])
            return .refuse(CommandError(.permissionDenied, "the principal for account \(current.principal.name) was removed"), close: true)
        }
        guard found == current.principal else {
            return .refuse(CommandError(.permissionDenied, "the principal for account \(current.principal.name) changed; connect again"), close: true)
        }
        identity.withLock { $0.stamp = now }
        return .go
    }
}
