/// Audits: each cycle an association asks a sample of a scheme's members for the evidence behind
/// their points. This file holds the rules of an audit's life, with no I/O; the store keeps audits
/// and draws the sample (docs/rules.md, Audits).
public enum AuditState: String, Sendable, CaseIterable {
    /// Drawn in the sample; nothing asked of the member yet.
    case selected
    /// Evidence asked for, by a due date.
    case requested
    /// The member has supplied evidence (they may add more until it is reviewed).
    case submitted
    /// A reviewer has looked at the evidence; a decision follows.
    case reviewed
    case passed
    case failed
    /// Excused by an exemption granted on the member's request.
    case exempt

    /// Decided: nothing more happens to it.
    public var isClosed: Bool { self == .passed || self == .failed || self == .exempt }
}

/// What a member may ask for while an audit is open.
public enum AuditAsk: String, Sendable, CaseIterable {
    /// A later due date for the evidence.
    case `extension`
    /// To be excused from this audit, and from audits drawn while the exemption is open.
    case exemption
}

/// One audit as the rules see it.
public struct Audit: Sendable, Equatable {
    public var state: AuditState
    public var due: Day?
    public var pending: (ask: AuditAsk, until: Day, reason: String)?
    public var exemptFrom: Day?
    public var exemptUntil: Day?
    public var decided: Day?
    public var note: String?

    public init(state: AuditState, due: Day? = nil, pending: (ask: AuditAsk, until: Day, reason: String)? = nil,
                exemptFrom: Day? = nil, exemptUntil: Day? = nil, decided: Day? = nil, note: String? = nil) {
        self.state = state
        self.due = due
        self.pending = pending
        self.exemptFrom = exemptFrom
        self.exemptUntil = exemptUntil
        self.decided = decided
        self.note = note
    }

    public static func == (a: Audit, b: Audit) -> Bool {
        a.state == b.state && a.due == b.due && a.pending?.ask == b.pending?.ask && a.pending?.until == b.pending?.until
            && a.pending?.reason == b.pending?.reason && a.exemptFrom == b.exemptFrom
            && a.exemptUntil == b.exemptUntil && a.decided == b.decided && a.note == b.note
    }

    /// Past its due date with no evidence in.
    public func isOverdue(on day: Day) -> Bool {
        state == .requested && due.map { day > $0 } == true
    }

    /// A step in an audit's life, as a command asks for it.
    public enum Step: Sendable, Equatable {
        /// Ask the member for evidence by `due`.
        case request(due: Day)
        /// The member supplies one piece of evidence; `known` is true when the same file was
        /// supplied before (its hash is on file), which makes the step a replay.
        case submit(sha256: String, description: String, known: Bool)
        case review(note: String?)
        case decide(passed: Bool, note: String)
        case ask(AuditAsk, until: Day, reason: String)
        /// Grant or refuse request `request` (the number of the event that asked it, which the
        /// audit shows as `pending_request` while it waits).
        case answer(request: Int64, granted: Bool, note: String?)

        /// What the step leaves in the audit's history. The same step again finds it there and is a
        /// replay (`applying`), so each step is applied once, however often it is sent.
        public var event: AuditEvent {
            switch self {
            case .request(let due): AuditEvent("requested", "due \(due)")
            case .submit(let sha256, let description, _): AuditEvent("submitted", "\(sha256) \(description)")
            case .review(let note): AuditEvent("reviewed", note)
            case .decide(let passed, let note): AuditEvent(passed ? "passed" : "failed", note)
            case .ask(let ask, let until, let reason): AuditEvent("\(ask.rawValue)_asked", "until \(until): \(reason)")
            case .answer(let request, let granted, let note):
                // The kind is the request's; `applying` names the event once it knows it.
                AuditEvent(granted ? "granted" : "refused", "request \(request)" + (note.map { ": " + $0 } ?? ""))
            }
        }
    }

    /// The audit after `step` on `today`, and whether the step had been done already: a step found
    /// in `history` (or, for evidence, a file already on file) is answered as before and changes
    /// nothing. Anything else out of turn is refused with the reason and what to do instead.
    public func applying(_ step: Step, on today: Day, history: [AuditEvent] = []) throws(AuditRefusal) -> (audit: Audit, replayed: Bool) {
        switch step {
        case .submit(_, _, let known):
            // The same file again is a retry of a step done, whatever has happened since.
            if known { return (self, true) }
        case .answer(let request, let granted, _):
            // A request is answered once: the same answer again is a replay, another a conflict.
            if let answer = history.first(where: { Self.answers($0, request) }) {
                guard answer.event.hasSuffix(granted ? "_granted" : "_refused") else {
                    throw AuditRefusal(.conflict, "request \(request) was \(answer.event.hasSuffix("_granted") ? "granted" : "refused") already")
                }
                return (self, true)
            }
        default:
            if history.contains(step.event) { return (self, true) }
        }
        var next = self
        switch step {
        case .request(let due):
            if let current = self.due, state != .selected, !state.isClosed {
                throw AuditRefusal(.conflict, "evidence was requested already, due \(current); an extension moves the date")
            }
            guard state == .selected else { throw closed("request evidence") }
            guard due >= today else { throw AuditRefusal(.invalid, "due \(due) is before today (\(today))") }
            next.state = .requested
            next.due = due

        case .submit:
            switch state {
            case .requested, .submitted: next.state = .submitted
            case .selected: throw AuditRefusal(.conflict, "evidence has not been requested yet")
            case .reviewed: throw AuditRefusal(.conflict, "the evidence has been reviewed; nothing more can be added")
            case .passed, .failed, .exempt: throw closed("submit evidence")
            }

        case .review:
            guard state == .submitted else {
                if state == .reviewed { throw AuditRefusal(.conflict, "the evidence has been reviewed already, with another note") }
                throw state.isClosed ? closed("review it") : AuditRefusal(.conflict, "there is no evidence to review (the audit is \(state.rawValue))")
            }
            next.state = .reviewed

        case .decide(let passed, let note):
            switch state {
            case .reviewed:
                break
            case .requested where !passed && isOverdue(on: today):
                break  // no evidence by the due date: it can fail without any
            case .submitted:
                throw AuditRefusal(.conflict, "the evidence has not been reviewed yet (audit.review first)")
            case .selected, .requested:
                throw AuditRefusal(.conflict, "no evidence has been reviewed; an audit fails without evidence only once its due date has passed")
            case .passed, .failed, .exempt:
                throw closed("decide it again")
            }
            next.state = passed ? .passed : .failed
            next.decided = today
            next.note = note
            next.pending = nil

        case .ask(let ask, let until, let reason):
            if let pending {
                throw AuditRefusal(.conflict, "a request for an \(pending.ask.rawValue) until \(pending.until) is waiting for an answer")
            }
            guard !state.isClosed else { throw closed("ask for an \(ask.rawValue)") }
            switch ask {
            case .extension:
                guard state == .requested, let due else {
                    throw AuditRefusal(.conflict, "an extension moves the due date of evidence requested and not yet supplied; the audit is \(state.rawValue)")
                }
                guard until > due else { throw AuditRefusal(.invalid, "until \(until) is not after the due date \(due)") }
            case .exemption:
                guard until >= today else { throw AuditRefusal(.invalid, "until \(until) is before today (\(today))") }
            }
            next.pending = (ask, until, reason)

        case .answer(let request, let granted, let note):
            guard let pending else { throw AuditRefusal(.conflict, "no request is waiting for an answer") }
            guard let waiting = Self.pendingRequest(in: history), waiting == request else {
                throw AuditRefusal(.conflict, "request \(request) is not the one waiting" + (Self.pendingRequest(in: history).map { " (request \($0))" } ?? ""))
            }
            next.pending = nil
            if granted {
                switch pending.ask {
                case .extension:
                    next.due = pending.until
                case .exemption:
                    next.state = .exempt
                    next.exemptFrom = today
                    next.exemptUntil = max(pending.until, today)
                    next.decided = today
                    next.note = note ?? pending.reason
                }
            }
        }
        return (next, false)
    }

    /// The number of the request waiting: the last ask in the history (a new ask is refused while
    /// one waits, so the last one is the one waiting whenever one does).
    public static func pendingRequest(in history: [AuditEvent]) -> Int64? {
        history.last { $0.event.hasSuffix("_asked") }?.id
    }

    /// `event` is an answer to request `request`.
    static func answers(_ event: AuditEvent, _ request: Int64) -> Bool {
        (event.event.hasSuffix("_granted") || event.event.hasSuffix("_refused"))
            && (event.detail == "request \(request)" || event.detail?.hasPrefix("request \(request): ") == true)
    }

    /// The event an answer leaves, named for the kind of request it answers.
    public func answerEvent(_ step: Step) -> AuditEvent {
        guard case .answer = step, let pending else { return step.event }
        var event = step.event
        event.event = "\(pending.ask.rawValue)_\(event.event)"
        return event
    }

    func closed(_ what: String) -> AuditRefusal {
        AuditRefusal(.conflict, "the audit is \(state.rawValue)\(decided.map { " since \($0)" } ?? ""); it is too late to \(what)")
    }
}

/// One step in an audit's history: what happened (`requested`, `extension_granted`, ...) and its
/// detail (a due date, a note, what was asked).
public struct AuditEvent: Sendable, Equatable {
    public var event: String
    public var detail: String?
    /// Its number in the store (nil for one not yet recorded); not part of what the event is.
    public var id: Int64?
    public init(_ event: String, _ detail: String?, id: Int64? = nil) {
        self.event = event
        self.detail = detail
        self.id = id
    }
    public static func == (a: AuditEvent, b: AuditEvent) -> Bool { a.event == b.event && a.detail == b.detail }
}

/// Why a step was refused: out of turn (`conflict`) or a value that cannot be (`invalid`).
public struct AuditRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable { case conflict, invalid }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// The sample's size and order, from the members' keys; the keys (SHA-256 of `seed:practitioner`)
/// are made where the hash is at hand, in the store.
public enum AuditDraw {
    /// How many of `count` members a share (a percentage, 0.01 to 100) selects: rounded up, so a
    /// share of any non-empty scheme selects at least one.
    public static func size(of count: Int, share: Points) -> Int {
        guard count > 0, share.hundredths > 0 else { return 0 }
        let hundredths = min(share.hundredths, 10_000)
        // count is a number of members (far below 2^40); the product cannot overflow.
        let (product, overflow) = count.multipliedReportingOverflow(by: Int(hundredths))
        guard !overflow else { return count }
        return min(count, (product + 9_999) / 10_000)
    }

    /// The members selected: the `size` with the lowest keys (ties, which SHA-256 does not give,
    /// broken by id).
    public static func select(_ keyed: [(practitioner: String, key: String)], share: Points) -> Set<String> {
        let ranked = keyed.sorted { ($0.key, $0.practitioner) < ($1.key, $1.practitioner) }
        return Set(ranked.prefix(size(of: keyed.count, share: share)).map(\.practitioner))
    }
}
