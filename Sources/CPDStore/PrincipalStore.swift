import CPDCore
import Postgres

/// The mapping of Unix accounts to roles.
public enum PrincipalStore {
    /// Who an account is: by uid first, else by user name. Nil when it has no principal.
    public static func resolve(uid: UInt32, userName: String?, _ c: PostgresConnection) throws -> Grant? {
        let rows = try c.query(
            """
            SELECT uid, user_name, role, provider, practitioner FROM principal
            WHERE uid = $1 OR ($2::text IS NOT NULL AND user_name = $2)
            ORDER BY uid IS NULL
            LIMIT 1
            """, [Int64(uid), userName])
        guard let row = rows.first else { return nil }
        return try decode(row)
    }

    /// A principal row: an account (uid or user name) and what it may do.
    public struct Grant: Sendable, Equatable {
        public enum Account: Sendable, Equatable {
            case uid(UInt32)
            case user(String)
        }
        public var account: Account
        public var role: Role

        static func isUnixUserName(_ name: String) -> Bool {
            let allowed: Set<Unicode.Scalar> = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-$".unicodeScalars)
            guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 32 else { return false }
            let startsWell: Bool = ("a"..."z").contains(first) || first == "_"
            return startsWell && name.unicodeScalars.allSatisfy { allowed.contains($0) }
        }
        public var provider: String?
        public var practitioner: String?

        public init(account: Account, role: Role, provider: String? = nil, practitioner: String? = nil) throws {
            let namesProvider = provider != nil
            let namesPractitioner = practitioner != nil
            if role == .provider && (!namesProvider || namesPractitioner) {
                throw ValidationError("provider", "a provider principal names one provider= and no practitioner=")
            }
            if role == .practitioner && (!namesPractitioner || namesProvider) {
                throw ValidationError("practitioner", "a practitioner principal names one practitioner= and no provider=")
            }
            if (role == .admin || role == .reporter) && (namesProvider || namesPractitioner) {
                throw ValidationError("role", "only provider and practitioner principals name a provider= or practitioner=")
            }
            if case .user(let name) = account, !Self.isUnixUserName(name) {
                throw ValidationError("user", "'\(name.prefix(40))' is not a Unix user name")
            }
            self.account = account
            self.role = role
            self.provider = provider
            self.practitioner = practitioner
        }
    }

    public static func add(_ grant: Grant, by principal: String, _ c: PostgresConnection) throws {
        if let provider = grant.provider {
            let known = try c.query("SELECT 1 FROM provider WHERE code = $1", [provider])
            if known.isEmpty { throw StoreError.notFound("no provider \(provider)") }
        }
        if let practitioner = grant.practitioner {
            let known = try c.query("SELECT 1 FROM practitioner WHERE id = $1", [practitioner])
            if known.isEmpty { throw StoreError.notFound("no practitioner \(practitioner)") }
        }
        let (uid, user) = columns(grant.account)
        let values: [any PostgresEncodable] = [uid, user, grant.role.rawValue, grant.provider, grant.practitioner, principal]
        do {
            try c.query("INSERT INTO principal (uid, user_name, role, provider, practitioner, created_by) VALUES ($1, $2, $3, $4, $5, $6)", values)
        } catch {
            guard error.code == .uniqueViolation else { throw error }
            throw StoreError.conflict("\(describe(grant.account)) already has a principal; remove it first")
        }
    }

    public static func list(_ c: PostgresConnection) throws -> [Grant] {
        try c.query("SELECT uid, user_name, role, provider, practitioner FROM principal ORDER BY coalesce(user_name, ''), uid").map(decode)
    }

    public static func remove(_ account: Grant.Account, _ c: PostgresConnection) throws {
        let (uid, user) = columns(account)
        let deleted = try c.query("DELETE FROM principal WHERE uid = $1 OR user_name = $2", [uid, user])
        guard deleted.affectedRows > 0 else { throw StoreError.notFound("no principal for \(describe(account))") }
    }

    public static func describe(_ account: Grant.Account) -> String {
        switch account {
        case .uid(let uid): return "uid \(uid)"
        case .user(let name): return "user \(name)"
        }
    }

    static func columns(_ account: Grant.Account) -> (Int64?, String?) {
        switch account {
        case .uid(let uid): return (Int64(uid), nil)
        case .user(let name): return (nil, name)
        }
    }

    static func decode(_ row: PostgresRow) throws -> Grant {
        let uid: Int64? = try row["uid"]
        let userName: String? = try row["user_name"]
        let roleName: String = try row["role"]
        let provider: String? = try row["provider"]
        let practitioner: String? = try row["practitioner"]
        let account: Grant.Account = uid.map { .uid(UInt32($0)) } ?? .user(userName ?? "")
        return try Grant(account: account, role: Role(rawValue: roleName) ?? .reporter, provider: provider, practitioner: practitioner)
    }
}
