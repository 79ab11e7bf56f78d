/// The CPDCore module: the registry's domain in pure Swift (principals and roles so far; courses,
/// practitioners, schemes and the ledger to come). No I/O: no database, no sockets, no clock reads;
/// everything here is tested without a server.

/// What a principal may do; see docs/protocol.md for each command's roles.
public enum Role: String, Sendable, CaseIterable {
    case admin
    case provider
    case practitioner
    case reporter
}

/// Who is on the other end of a connection: a Unix account mapped to a role.
public struct Principal: Sendable, Equatable {
    /// The Unix account's name (or `uid:N` when it has none).
    public var name: String
    public var role: Role
    /// For a provider principal: the provider it acts for.
    public var provider: String?
    /// For a practitioner principal: the practitioner it is.
    public var practitioner: String?
    /// The Unix account's uid, as the kernel gave it (nil for a principal made without a peer).
    public var uid: UInt32?

    public init(name: String, role: Role, provider: String? = nil, practitioner: String? = nil, uid: UInt32? = nil) {
        self.name = name
        self.role = role
        self.provider = provider
        self.practitioner = practitioner
        self.uid = uid
    }

    /// Who this principal is when it appends to the ledger: a provider acts for its provider, every
    /// other role for the registry.
    public var recorder: Recorder {
        Recorder(name: name, uid: uid, provider: role == .provider ? provider : nil)
    }
}

/// Who appends a ledger entry, and what its idempotency keys belong to. A key belongs to what the
/// sender acts for, not to its account: every account of one provider shares that provider's keys
/// (a roster sent again from a colleague's account is a replay), two providers never share keys,
/// and every admin shares the registry's. A renamed account keeps its keys; a new account that takes
/// an old account's name gets none of them.
public struct Recorder: Sendable, Hashable {
    /// The account's name, kept as `recorded_by`: who did it, for people to read.
    public var name: String
    /// The account's uid, kept beside the name.
    public var uid: UInt32?
    /// The provider it acts for; nil when it acts for the registry. It may record only that
    /// provider's courses and reverse only what that provider recorded.
    public var provider: String?
    /// What its keys belong to: `provider:CODE`, `registry`, or `cpdd`.
    public var keyScope: String

    public init(name: String, uid: UInt32?, provider: String?) {
        self.name = name
        self.uid = uid
        self.provider = provider
        self.keyScope = provider.map { "provider:" + $0 } ?? "registry"
    }

    /// cpdd itself, for entries it derives (opening balances, carry-over): keys of its own, which no
    /// sender's key can meet.
    public static func cpdd(for sender: Recorder) -> Recorder {
        var recorder = sender
        recorder.provider = nil
        recorder.keyScope = "cpdd"
        return recorder
    }

    /// cpdd acting on its own, with no sender (the carry-over into a new cycle).
    public static let daemon = cpdd(for: Recorder(name: "cpdd", uid: nil, provider: nil))
}
