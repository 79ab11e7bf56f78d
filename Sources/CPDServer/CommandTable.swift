import CPDCore

/// One command of the protocol: who may use it and which arguments it takes.
public struct CommandSpec: Sendable {
    public var name: String
    public var roles: Set<Role>
    public var required: [String]
    public var optional: [String]
    /// Bare words it takes (`format json`), at most.
    public var positional: Int = 0
    public var summary: String

    public var usage: String {
        ([name] + required.map { "\($0)=" } + optional.map { "[\($0)=]" }).joined(separator: " ")
    }
}

/// Every command, as docs/protocol.md lists them.
public enum CommandTable {
    static let everyone: Set<Role> = Set(Role.allCases)
    static let adminOrProvider: Set<Role> = [.admin, .provider]
    static let readers: Set<Role> = [.admin, .reporter, .practitioner]

    public static let all: [CommandSpec] = [
        CommandSpec(name: "ping", roles: everyone, required: [], optional: [], summary: "OK pong"),
        CommandSpec(name: "whoami", roles: everyone, required: [], optional: [], summary: "your principal and role"),
        CommandSpec(name: "help", roles: everyone, required: [], optional: [], positional: 1, summary: "the commands you may use, or one command's arguments"),
        CommandSpec(name: "format", roles: everyone, required: [], optional: [], positional: 1, summary: "format text or format json: how data lines are written"),
        CommandSpec(name: "quit", roles: everyone, required: [], optional: [], summary: "OK bye, then the server closes"),
        CommandSpec(name: "provider.add", roles: [.admin], required: ["code", "name"], optional: [], summary: "register a course provider"),
        CommandSpec(name: "course.add", roles: adminOrProvider, required: ["provider", "code", "title", "points", "hours", "category", "delivery"], optional: ["modalities", "summary"], summary: "add a course as a draft, version 1"),
        CommandSpec(name: "course.update", roles: adminOrProvider, required: ["code"], optional: ["title", "points", "hours", "category", "delivery", "modalities", "summary"], summary: "make a new version of a course"),
        CommandSpec(name: "course.publish", roles: adminOrProvider, required: ["code"], optional: [], summary: "publish a draft course"),
        CommandSpec(name: "course.retire", roles: adminOrProvider, required: ["code"], optional: [], summary: "retire a course"),
        CommandSpec(name: "course.show", roles: everyone, required: ["code"], optional: [], summary: "one course at its current version"),
        CommandSpec(name: "course.search", roles: everyone, required: [], optional: ["q", "modality", "category", "provider", "delivery", "limit", "offset"], summary: "published courses, best match first"),
        CommandSpec(name: "scheme.add", roles: [.admin], required: ["code", "title", "period", "length", "required"], optional: ["start", "carry_over_max", "opening", "pro_rata"], summary: "define a CPD scheme"),
        CommandSpec(name: "scheme.rule", roles: [.admin], required: ["scheme"], optional: ["category", "delivery", "min", "max", "min_share", "max_share"], summary: "a minimum or cap on one category or delivery mode"),
        CommandSpec(name: "scheme.certificate", roles: [.admin], required: ["scheme", "kind"], optional: [], summary: "members must hold a current certificate of this kind"),
        CommandSpec(name: "scheme.show", roles: everyone, required: ["code"], optional: [], summary: "a scheme and its rules"),
        CommandSpec(name: "practitioner.add", roles: [.admin], required: ["id", "name", "scheme", "joined"], optional: ["modalities"], summary: "register a practitioner"),
        CommandSpec(name: "certificate.add", roles: adminOrProvider, required: ["practitioner", "kind", "issued", "expires"], optional: ["ref"], summary: "record a certificate such as first aid"),
        CommandSpec(name: "completion.record", roles: adminOrProvider, required: ["practitioner", "course", "completed", "key"], optional: ["explain"], summary: "append a completion; idempotent by key (explain=yes adds a data line replayed=yes|no)"),
        CommandSpec(name: "entry.reverse", roles: adminOrProvider, required: ["entry", "reason", "key"], optional: [], summary: "append the reversal of an entry recorded in error"),
        CommandSpec(name: "entry.adjust", roles: [.admin], required: ["practitioner", "points", "reason", "key"], optional: ["category", "delivery"], summary: "append a manual adjustment"),
        CommandSpec(name: "points", roles: readers, required: [], optional: ["practitioner", "on"], summary: "a practitioner's standing in a cycle"),
        CommandSpec(name: "statement", roles: readers, required: [], optional: ["practitioner", "from", "to"], summary: "a practitioner's ledger entries, oldest first"),
        CommandSpec(name: "report.nightly", roles: [.admin, .reporter], required: [], optional: ["date"], summary: "the nightly report as data lines, each with section=; the run is recorded (docs/report.md)"),
        CommandSpec(name: "ledger.verify", roles: [.admin, .reporter], required: [], optional: ["anchors"], summary: "check the ledger's hash chain, and that heads published earlier (anchors=ENTRY:HASH,...) still hold"),
        CommandSpec(name: "principal.add", roles: [.admin], required: ["role"], optional: ["uid", "user", "provider", "practitioner"], summary: "map a Unix account to a role"),
        CommandSpec(name: "principal.list", roles: [.admin], required: [], optional: [], summary: "the principals"),
        CommandSpec(name: "principal.remove", roles: [.admin], required: [], optional: ["uid", "user"], summary: "remove an account's principal"),
    ]

    public static let byName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
