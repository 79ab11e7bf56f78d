import AdminProtocol
import CPDCore

/// What a command does, which decides where it runs, how the reader orders it, and whether its
/// refusal is a rejected write.
public enum CommandEffect: Sendable, Equatable {
    /// Answered by the session alone, without the database.
    case session
    case read
    case write
    /// A write that goes to the group-commit batcher with the writes of other connections.
    case batchedWrite
}

/// One command of the protocol, defined once: its name, who may run it, its arguments, what it
/// does, and how a request is read into its typed form. `help`, the session's checks, the reader's
/// ordering, the rejection log and the contract's command tables (checked by a test) all come
/// from these definitions; `CommandTable.all` lists them.
public struct CommandDefinition: Sendable {
    public let name: String
    public let roles: Set<Role>
    public let required: [String]
    public let optional: [String]
    /// Groups of optional arguments of which exactly one must be given (`(uid= or user=)`).
    public let oneOf: [[String]]
    /// Groups of optional arguments of which at least one must be given (`(category= and/or delivery=)`).
    public let anyOf: [[String]]
    /// The bare words it takes, as its usage shows them (`[command]`); nil for none.
    public let words: String?
    public let summary: String
    public let effect: CommandEffect
    /// After it has committed, connections already open look their principal up again.
    public let changesPrincipals: Bool
    /// Reads a request the session has checked against this definition (a known argument set, the
    /// required ones present, one of each `oneOf` group, at least one of each `anyOf` group, no NUL)
    /// into the command's typed form.
    let read: @Sendable (Arguments) throws -> Command

    init(
        _ name: String, _ roles: Set<Role>, required: [String] = [], optional: [String] = [], oneOf: [[String]] = [],
        anyOf: [[String]] = [], words: String? = nil, effect: CommandEffect, changesPrincipals: Bool = false,
        summary: String, read: @escaping @Sendable (Arguments) throws -> Command
    ) {
        self.name = name
        self.roles = roles
        self.required = required
        self.optional = optional
        self.oneOf = oneOf
        self.anyOf = anyOf
        self.words = words
        self.summary = summary
        self.effect = effect
        self.changesPrincipals = changesPrincipals
        self.read = read
    }

    /// An ERR answer to it is a rejected write, for the nightly report.
    public var writes: Bool { effect == .write || effect == .batchedWrite }

    /// Takes at most one bare word (`help ping`, `format json`).
    var takesWords: Bool { words != nil }

    /// As `help` and the contract show it: `course.show code=`, `principal.remove (uid= or user=)`,
    /// `scheme.rule scheme= (category= and/or delivery= and/or modality=) (min= or max= or min_share= or max_share=) [advisory=]`.
    public var usage: String {
        let grouped = Set(oneOf.joined()).union(anyOf.joined())
        var parts = [name]
        if let words { parts.append(words) }
        parts += required.map { "\($0)=" }
        parts += anyOf.map { "(" + $0.map { "\($0)=" }.joined(separator: " and/or ") + ")" }
        parts += oneOf.map { "(" + $0.map { "\($0)=" }.joined(separator: " or ") + ")" }
        parts += optional.filter { !grouped.contains($0) }.map { "[\($0)=]" }
        return parts.joined(separator: " ")
    }

    /// The request in its typed form, or the refusal, typed.
    func parse(_ request: Request) throws(CommandError) -> Command {
        do {
            return try read(Arguments(request: request))
        } catch {
            throw CommandError(error, in: name)
        }
    }
}
