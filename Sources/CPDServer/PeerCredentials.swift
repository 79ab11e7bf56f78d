/// The CPDServer module: the daemon's runtime. It owns the Unix socket, connections, sessions and
/// lifecycle, and turns requests into calls on the store; it holds no SQL and no domain rules.
import CPDCore
import CPDStore
import Glibc
import Postgres

/// The kernel's word on who connected (SO_PEERCRED): not something the client can claim.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The account's name, or `uid:N` if the password database has none.
    public var accountName: String {
        guard let entry = getpwuid(uid) else { return "uid:\(uid)" }
        return String(cString: entry.pointee.pw_name)
    }
}

/// Maps a peer to a principal: root and the daemon's own account are always admin; any other account
/// is looked up (in the database's principals, for cpdd).
public struct PrincipalResolver: Sendable {
    public let daemonUID: UInt32
    let lookup: (@Sendable (PeerCredentials) async throws -> Principal?)?

    public init(daemonUID: UInt32 = geteuid(), lookup: (@Sendable (PeerCredentials) async throws -> Principal?)? = nil) {
        self.daemonUID = daemonUID
        self.lookup = lookup
    }

    /// Nil when the account has no principal; throws when the lookup cannot be made (database down).
    public func principal(for peer: PeerCredentials) async throws -> Principal? {
        if peer.uid == 0 || peer.uid == daemonUID {
            return Principal(name: peer.accountName, role: .admin)
        }
        return try await lookup?(peer)
    }
}

extension PrincipalResolver {
    /// Looks accounts up in the principals table (by uid, then by user name).
    public static func database(_ pool: PostgresPool) -> PrincipalResolver {
        PrincipalResolver(lookup: { peer in
            let name = peer.accountName
            let grant = try await pool.withConnection { c in try PrincipalStore.resolve(uid: peer.uid, userName: name, c) }
            return grant.map { Principal(name: name, role: $0.role, provider: $0.provider, practitioner: $0.practitioner) }
        })
    }
}

/// The layout of the kernel's `struct ucred` (pid_t, uid_t, gid_t), which glibc declares only under
/// _GNU_SOURCE and so Swift does not import.
struct KernelPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
