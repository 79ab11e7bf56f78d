/// The CPDServer module: the daemon's runtime. It owns the Unix socket, connections, sessions and
/// lifecycle, and turns requests into calls on the store; it holds no SQL and no domain rules.
import CPDCore
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
    public var accountName: String {
        guard let entry = getpwuid(uid) else { return "uid:\(uid)" }
        return String(cString: entry.pointee.pw_name)
    }
}

/// Maps a peer to a principal. Root and the daemon's own account are always admin; other accounts
/// have no principal yet (the principals table arrives with the full protocol).
public struct PrincipalResolver: Sendable {
    public let daemonUID: UInt32

    public init(daemonUID: UInt32 = geteuid()) {
        self.daemonUID = daemonUID
    }

    public func principal(for peer: PeerCredentials) -> Principal? {
        if peer.uid == 0 || peer.uid == daemonUID {
            return Principal(name: peer.accountName, role: .admin)
        }
        return nil
    }
}

/// The layout of the kernel's `struct ucred` (pid_t, uid_t, gid_t), which glibc declares only under
/// _GNU_SOURCE and so Swift does not import.
struct KernelPeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
