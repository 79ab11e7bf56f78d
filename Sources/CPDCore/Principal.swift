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

    public init(name: String, role: Role, provider: String? = nil, practitioner: String? = nil) {
        self.name = name
        self.role = role
        self.provider = provider
        self.practitioner = practitioner
    }
}
