import CPDCore
import Postgres

/// The mapping of Unix accounts to roles.
public enum PrincipalStore {
    /// Who an account is: by uid first, then by the uid its user name had when the principal was
    /// added (so a renamed account keeps its grant, and a new account that takes the name does
    /// not get it), and by the name alone only for a principal added before uids were kept. Nil
    /// when it has no principal.
    public static func resolve(uid: UInt32, userName: String?, _ c: PostgresConnection) throws -> Grant? {
        let rows = try c.query(
            """
            SELECT uid, user_name, user_uid, role, provider, practitioner FROM principal
            WHERE uid = $1 OR user_uid = $1 OR (user_uid IS NULL AND $2::text IS NOT NULL AND user_name = $2)
            ORDER BY uid IS NULL, user_uid IS NULL
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
        /// For an account given by user name: its uid when the principal was added (nil for one
        /// added before uids were kept).
        public var userUID: UInt32?
        public var role: Role

        static func isUnixUserName(_ name: String) -> Bool {
            let allowed: Set<Unicode.Scalar> = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-$".unicodeScalars)
            guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 32 else { return false }
            let startsWell: Bool = ("a"..."z").contains(first) || first == "_"
            return startsWell && name.unicodeScalars.allSatisfy { allowed.contains($0) }
        }
        public var provider: String?
        public var practitioner: String?

        public init(account: Account, userUID: UInt32? = nil, role: Role, provider: String? = nil, practitioner: String? = nil) throws {
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
            self.userUID = userUID
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
        // The account may already have a grant under another form: by uid, or by a name it had
        // when that grant was added.
        if let accountUID = uid ?? grant.userUID.map({ Int64($0) }),
           try !c.query("SELECT 1 FROM principal WHERE uid = $1 OR user_uid = $1", [accountUID]).isEmpty {
            throw StoreError.conflict("\(describe(grant.account)) (uid \(accountUID)) already has a principal; remove it first")
        }
        let values: [any PostgresEncodable] = [
            uid, user, grant.userUID.map(Int64.init), grant.role.rawValue, grant.provider, grant.practitioner, principal,
        ]
        do {
            try c.query(
                "INSERT INTO principal (uid, user_name, user_uid, role, provider, practitioner, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                values)
        } catch {
            guard error.code == .uniqueViolation else { throw error }
            throw StoreError.conflict("\(describe(grant.account)) already has a principal; remove it first")
        }
    }

    public static func list(_ c: PostgresConnection) throws -> [Grant] {
        try c.query("SELECT uid, user_name, user_uid, role, provider, practitioner FROM principal ORDER BY coalesce(user_name, ''), uid").map(decode)
    }

    /// Removes every principal of an account: by uid, by user name, and a principal added by name
    /// for the account's uid (`accountUID`: the uid the user name has now, when it has one).
    public static func remove(_ account: Grant.Account, accountUID: UInt32? = nil, _ c: PostgresConnection) throws {
        let (uid, user) = columns(account)
        let owner = uid ?? accountUID.map(Int64.init)
        let deleted = try c.query("DELETE FROM principal WHERE uid = $1 OR user_name = $2 OR user_uid = $3", [uid, user, owner])
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
        let userUID: Int64? = try row["user_uid"]
        let roleName: String = try row["role"]
        let provider: String? = try row["provider"]
        let practitioner: String? = try row["practitioner"]
        let account: Grant.Account = uid.map { .uid(UInt32($0)) } ?? .user(userName ?? "")
        return try Grant(
            account: account, userUID: userUID.flatMap(UInt32.init(exactly:)), role: Role(rawValue: roleName) ?? .reporter, provider: provider,
            practitioner: practitioner)
    }
}

extension PrincipalStore {
    /// Moves on with every change to the principals, in the change's transaction (a trigger).
    public static func generation(_ c: PostgresConnection) throws -> Int64 {
        guard let row = try c.query("SELECT value FROM principal_generation").first else { return 0 }
        return try row["value"]
    }
}
