/// The CPDServer module: the daemon's runtime. It owns the Unix socket, connections, sessions and
/// lifecycle, and turns requests into calls on the store; it holds no SQL and no domain rules.
import CPDCore
import CPDStore
import Glibc

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
    public var accountName: String { UnixAccounts.name(of: uid) ?? "uid:\(uid)" }
}

/// The password database, through the reentrant calls: connections are set up concurrently, and
/// getpwuid and getpwnam return a buffer that every thread shares.
public enum UnixAccounts {
    /// The name of the account with this uid; nil when there is none (or it cannot be read).
    public static func name(of uid: UInt32) -> String? {
        (try? lookUp({ getpwuid_r(uid, $0, $1, $2, $3) }, { String(cString: $0.pw_name) })) ?? nil
    }

    /// The uid of the account with this name; nil when there is none.
    public static func uid(named name: String) throws(AccountLookupError) -> UInt32? {
        try lookUp({ getpwnam_r(name, $0, $1, $2, $3) }, { $0.pw_uid })
    }

    private static func lookUp<T>(
        _ call: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> Int32,
        _ read: (passwd) -> T
    ) throws(AccountLookupError) -> T? {
        var size = 4096
        while true {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>? = nil
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let status = call(&entry, buffer, size, &result)
            // A long entry (many groups' worth of gecos, a long home) needs a larger buffer.
            if status == ERANGE, size < 1 << 20 {
                size *= 2
                continue
            }
            // getpwnam_r(3): these numbers, like 0 with no result, may mean "no such account".
            if status == 0 || status == ENOENT || status == ESRCH || status == EBADF || status == EPERM {
                return result.map { read($0.pointee) }
            }
            throw AccountLookupError(errno: status)
        }
    }
}

/// The password database could not be read (an I/O error, no memory, no file descriptors).
public struct AccountLookupError: Error, CustomStringConvertible {
    public var errno: Int32
    public var description: String { "cannot read the password database: \(String(cString: strerror(errno)))" }
}

/// Maps a peer to a principal: root and the daemon's own account are always admin; any other account
/// is looked up (in the database's principals, for cpdd).
public struct PrincipalResolver: Sendable {
    public let daemonUID: UInt32
    let lookup: (@Sendable (PeerCredentials) async throws -> Principal?)?
    /// When principals change, for re-resolving the principals of connections already open; nil
    /// when principals cannot change (no database).
    let changes: PrincipalChanges?

    public init(
        daemonUID: UInt32 = geteuid(), lookup: (@Sendable (PeerCredentials) async throws -> Principal?)? = nil,
        changes: PrincipalChanges? = nil
    ) {
        self.daemonUID = daemonUID
        self.lookup = lookup
        self.changes = changes
    }

    /// Root and the daemon's own account: admin whatever the principals say, so never re-resolved.
    public func isBuiltIn(_ peer: PeerCredentials) -> Bool { peer.uid == 0 || peer.uid == daemonUID }

    /// Nil when the account has no principal; throws when the lookup cannot be made (database down).
    public func principal(for peer: PeerCredentials) async throws -> Principal? {
        if isBuiltIn(peer) {
            return Principal(name: peer.accountName, role: .admin, uid: peer.uid)
        }
        return try await lookup?(peer)
    }
}

extension PrincipalResolver {
    /// Looks accounts up in the principals table (by uid, then by user name).
    public static func database(_ store: RegistryStore) -> PrincipalResolver {
        PrincipalResolver(
            lookup: { peer in
                let name = peer.accountName
                let grant = try await store.principal(uid: peer.uid, userName: name)
                return grant.map { Principal(name: name, role: $0.role, provider: $0.provider, practitioner: $0.practitioner, uid: peer.uid) }
            },
            changes: PrincipalChanges(store: store))
    }
}

/// The layout of the kernel's `struct ucred` (pid_t, uid_t, gid_t), which glibc declares only under
/// _GNU_SOURCE and so Swift does not import.
struct KernelPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
