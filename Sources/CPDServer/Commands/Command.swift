import CPDCore
import CPDStore

/// A request read into typed values. The session answers `session` commands itself; the runner
/// answers `store` commands; each switches over its cases exhaustively, so a command without a
/// handler does not compile.
public enum Command: Sendable {
    case session(SessionCommand)
    case store(StoreCommand)
}

/// The commands that need no database.
public enum SessionCommand: Sendable, Equatable {
    case ping
    case whoami
    case quit
    case help(topic: String?)
    case format(json: Bool)
}

/// The commands that read or write the registry, each with its arguments as domain values.
/// Whose points or statement (`practitioner` nil: the sender's own) is decided by the handler,
/// against the connection's principal at the time it runs.
public enum StoreCommand: Sendable {
    case providerAdd(Provider)
    case courseAdd(code: String, provider: String, content: CourseContent)
    case courseUpdate(code: String, changes: CatalogueStore.CourseChanges)
    case courseSetStatus(code: String, status: CourseStatus)
    case courseShow(code: String)
    case courseSearch(CatalogueStore.SearchFilter)
    case schemeAdd(Scheme, start: String?)
    case schemeRule(scheme: String, rule: SchemeRule)
    case schemeCertificate(scheme: String, kind: String)
    case schemeShow(code: String)
    case practitionerAdd(Practitioner)
    case certificateAdd(Certificate)
    case completionRecord(practitioner: String, course: String, completed: Day, key: String, explain: Bool)
    case entryReverse(entry: Int64, reason: String, key: String)
    case entryAdjust(practitioner: String, points: Points, reason: String, category: String?, delivery: Delivery?, key: String)
    case points(practitioner: String?, on: Day?)
    case renewalSubmit(practitioner: String?, cycle: Day?)
    case renewalApprove(practitioner: String, cycle: Day?)
    /// `month` is the month's first day.
    case auditDraw(scheme: String, month: Day, share: Points)
    case auditSample(scheme: String, month: Day)
    case auditList(practitioner: String?, scheme: String?, state: AuditState?)
    case auditShow(audit: Int64)
    /// A step in an audit's life: `audit.request`, `.submit`, `.review`, `.decide`, `.ask`, `.answer`.
    case auditStep(audit: Int64, AuditStore.Action)
    case statement(practitioner: String?, from: Day?, to: Day?)
    case reportNightly(date: Day?)
    case ledgerVerify(anchors: [LedgerAnchor])
    case principalAdd(account: PrincipalStore.Grant.Account, role: Role, provider: String?, practitioner: String?)
    case principalList
    case principalRemove(account: PrincipalStore.Grant.Account)
}
