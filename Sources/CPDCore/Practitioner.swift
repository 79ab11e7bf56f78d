public struct Practitioner: Sendable, Equatable {
    /// The membership number.
    public var id: String
    public var name: String
    public var scheme: String
    public var joined: Day
    /// The modalities the member is accredited for.
    public var modalities: [String]

    public init(id: String, name: String, scheme: String, joined: Day, modalities: [String] = []) throws(ValidationError) {
        self.id = try Code.validate(id, field: "id")
        self.name = try Prose.validate(name, field: "name", maxLength: 200)
        self.scheme = try Code.validate(scheme, field: "scheme")
        self.joined = joined
        self.modalities = try modalities.map { (m: String) throws(ValidationError) in try Term.validate(m, field: "modalities") }
    }
}

/// A certificate such as first aid: tracked by its expiry date, apart from points.
public struct Certificate: Sendable, Equatable {
    public var practitioner: String
    public var kind: String
    public var issued: Day
    public var expires: Day
    public var reference: String?

    public init(practitioner: String, kind: String, issued: Day, expires: Day, reference: String? = nil) throws(ValidationError) {
        self.practitioner = try Code.validate(practitioner, field: "practitioner")
        self.kind = try Term.validate(kind, field: "kind")
        guard expires > issued else { throw ValidationError("expires", "must be after issued (\(issued))") }
        self.issued = issued
        self.expires = expires
        self.reference = try reference.map { (r: String) throws(ValidationError) in try Prose.validate(r, field: "ref", maxLength: 200) }
    }
}
