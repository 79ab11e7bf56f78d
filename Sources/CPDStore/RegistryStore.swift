import CPDCore
import Foundation
import Logging
import Postgres

/// The registry's data behind one door, for the daemon: it owns the connection pool, the group
/// commit of completions, the batching of reads and the connections of the long reads, runs each
/// operation in its transactions, and throws only `StoreError`, so that the layer above never sees a connection, a
/// libpq error or a pool. (The `*Store` enums below it are the SQL, one statement set per concern.)
public final class RegistryStore: Sendable {
    let pool: PostgresPool
    /// Where the nightly report reads: a replica, or nil for the pool's database.
    let reportDatabase: PostgresPool.Configuration?
    let completions: CompletionBatcher
    /// `points` requests from every connection, answered a batch at a time.
    let standings: ReadBatcher<LedgerStore.StandingRequest, [PostgresQueryResult], LedgerStore.MemberStanding>
    /// `course.search` requests likewise.
    let searches: ReadBatcher<CatalogueStore.SearchFilter, [Result<PostgresQueryResult, PostgresError>], [Course]>
    /// The connections the batched reads go through, in non-blocking pipeline mode.
    let driver: PostgresDriver
    /// The group commit's connection, likewise.
    let writer: PostgresDriver
    /// The report's and `ledger.verify`'s connections, apart from the pool.
    let longReads: LongReads
    let logger: Logger

    public init(
        pool: PostgresPool, reportDatabase: PostgresPool.Configuration? = nil, longReadConnections: Int = 4,
        logger: Logger = Logger(label: "cpd.store")
    ) {
        self.pool = pool
        self.reportDatabase = reportDatabase
        var appending = pool.configuration
        if appending.sessionSetup == ApplicationRole.sessionSetup { appending.sessionSetup = ApplicationRole.appendSessionSetup }
        let writer = PostgresDriver(configuration: appending, connections: 1, logger: logger)
        self.writer = writer
        self.completions = CompletionBatcher(driver: writer, logger: logger)
        // A batch's statements run in one server process: as many batches at once as cores (measured
        // on two: one left a core idle under search, four cost more per request than two).
        let readBatches = min(max(2, ProcessInfo.processInfo.activeProcessorCount), pool.configuration.maxConnections)
        let driver = PostgresDriver(configuration: pool.configuration, connections: readBatches, logger: logger)
        self.driver = driver
        self.standings = ReadBatcher(
            pool: pool, operation: "points", concurrentBatches: readBatches, logger: logger,
            fetch: { requests in try await driver.pipeline(LedgerStore.standingStatements(requests)) },
            decide: { requests, rows in try LedgerStore.standings(requests, from: rows) },
            alone: { request, c in try LedgerStore.standing(practitioner: request.practitioner, on: request.day, c) })
        self.searches = ReadBatcher(
            pool: pool, operation: "course.search", concurrentBatches: readBatches, logger: logger,
            fetch: { filters in try await driver.pipelineEach(filters.map(CatalogueStore.searchStatement)) },
            decide: { filters, results in CatalogueStore.searches(from: results).map { $0 } },
            alone: { filter, c in try CatalogueStore.search(filter, c) })
        self.longReads = LongReads(limit: max(2, longReadConnections))
        self.logger = logger
    }

    /// Closes the batched reads' and the group commit's own connections (the pool is a service of its
    /// own, closed by cpdd's service group). A read batched after this goes to the pool; a completion
    /// or a `statement` after it is answered `unavailable`.
    public func close() {
        driver.close()
        writer.close()
    }

    /// Runs `body` on one of the pool's connections, its errors as store errors.
    func onPool<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.withConnection(body)
        } catch {
            throw StoreError(error, during: operation, logger: logger)
        }
    }

    // MARK: - Catalogue

    public func addProvider(_ provider: Provider) async throws(StoreError) {
        try await onPool("provider.add") { c in try CatalogueStore.addProvider(provider, c) }
    }

    public func addCourse(code: String, provider: String, content: CourseContent, by principal: String, actingProvider: String?) async throws(StoreError) {
        try await onPool("course.add") { c in
            try CatalogueStore.addCourse(code: code, provider: provider, content: content, by: principal, actingProvider: actingProvider, c)
        }
    }

    /// The new version's number.
    public func updateCourse(code: String, changes: CatalogueStore.CourseChanges, by principal: String, actingProvider: String?) async throws(StoreError) -> Int {
        try await onPool("course.update") { c in
            try CatalogueStore.updateCourse(code: code, changes: changes, by: principal, actingProvider: actingProvider, c)
        }
    }

    public func setCourseStatus(code: String, to status: CourseStatus, by principal: String, actingProvider: String?) async throws(StoreError) {
        try await onPool(status == .published ? "course.publish" : "course.retire") { c in
            try CatalogueStore.setStatus(code: code, to: status, by: principal, actingProvider: actingProvider, c)
        }
    }

    public func course(_ code: String) async throws(StoreError) -> Course {
        try await onPool("course.show") { c in try CatalogueStore.course(code, c) }
    }

    /// Batched with the other searches waiting (`ReadBatcher`, `CatalogueStore.searches`).
    public func searchCourses(_ filter: CatalogueStore.SearchFilter) async throws(StoreError) -> [Course] {
        try await searches.answer(filter)
    }

    // MARK: - Schemes and members

    public func addScheme(_ scheme: Scheme, startText: String?) async throws(StoreError) {
        try await onPool("scheme.add") { c in try SchemeStore.addScheme(scheme, startText: startText, c) }
    }

    public func addRule(scheme: String, _ rule: SchemeRule) async throws(StoreError) {
        try await onPool("scheme.rule") { c in try SchemeStore.addRule(scheme: scheme, rule, c) }
    }

    public func addRequiredCertificate(scheme: String, kind: String) async throws(StoreError) {
        try await onPool("scheme.certificate") { c in try SchemeStore.addRequiredCertificate(scheme: scheme, kind: kind, c) }
    }

    /// A scheme, and its `start` as it was given (`MM-DD` or a date), when it was.
    public func scheme(_ code: String) async throws(StoreError) -> (scheme: Scheme, startText: String?) {
        try await onPool("scheme.show") { c in (try SchemeStore.scheme(code, c), try SchemeStore.startText(code, c)) }
    }

    public func addPractitioner(_ practitioner: Practitioner, by recorder: Recorder) async throws(StoreError) {
        try await onPool("practitioner.add") { c in try SchemeStore.addPractitioner(practitioner, by: recorder, c) }
    }

    /// Renews the cycle that holds `cycle` (nil: the last one closed); done once.
    public func submitRenewal(practitioner: String, cycle: Day?, by principal: String) async throws(StoreError) -> RenewalStore.Answer {
        try await onPool("renewal.submit") { c in try RenewalStore.submit(practitioner: practitioner, cycleDay: cycle, by: principal, c) }
    }

    public func approveRenewal(practitioner: String, cycle: Day?, by principal: String) async throws(StoreError) -> RenewalStore.Answer {
        try await onPool("renewal.approve") { c in try RenewalStore.approve(practitioner: practitioner, cycleDay: cycle, by: principal, c) }
    }

    public func drawAudits(scheme: String, month: Day, share: Points, by principal: String) async throws(StoreError) -> AuditStore.DrawAnswer {
        try await onPool("audit.draw") { c in try AuditStore.draw(scheme: scheme, month: month, share: share, by: principal, c) }
    }

    public func auditSample(scheme: String, month: Day) async throws(StoreError) -> (AuditStore.Sample, [AuditStore.Drawn]) {
        try await onPool("audit.sample") { c in try AuditStore.sample(scheme: scheme, month: month, c) }
    }

    public func audits(practitioner: String?, scheme: String?, state: AuditState?) async throws(StoreError) -> [AuditStore.Row] {
        try await onPool("audit.list") { c in try AuditStore.list(practitioner: practitioner, scheme: scheme, state: state, c) }
    }

    public func audit(_ id: Int64, owner: String?) async throws(StoreError) -> (AuditStore.Row, [AuditStore.Event], [AuditStore.Evidence]) {
        try await onPool("audit.show") { c in
            let row = try AuditStore.audit(id, owner: owner, c)
            let (events, evidence) = try AuditStore.history(id, c)
            return (row, events, evidence)
        }
    }

    public func stepAudit(_ id: Int64, _ action: AuditStore.Action, owner: String?, by principal: String) async throws(StoreError) -> AuditStore.Row {
        try await onPool("audit step") { c in try AuditStore.step(id, action, owner: owner, by: principal, c) }
    }

    public func addCertificate(_ certificate: Certificate, by principal: String) async throws(StoreError) {
        try await onPool("certificate.add") { c in try SchemeStore.addCertificate(certificate, by: principal, c) }
    }

    // MARK: - The ledger

    /// Queues a completion for group commit now, in the caller's order; the promise is kept once its
    /// batch has committed (or it was refused).
    public func enqueue(_ completion: LedgerStore.CompletionRequest) -> CompletionPromise {
        completions.enqueue(completion)
    }

    public func reverse(entry: Int64, reason: String, key: String, by recorder: Recorder) async throws(StoreError) -> EntryReceipt {
        try await onPool("entry.reverse") { c in try LedgerStore.reverse(entry: entry, reason: reason, key: key, by: recorder, c) }
    }

    public func adjust(
        practitioner: String, points: Points, reason: String, category: String?, delivery: Delivery?, key: String, by recorder: Recorder
    ) async throws(StoreError) -> EntryReceipt {
        try await onPool("entry.adjust") { c in
            try LedgerStore.adjust(
                practitioner: practitioner, points: points, reason: reason, category: category, delivery: delivery, key: key, by: recorder, c)
        }
    }

    /// Batched with the other `points` requests waiting (`ReadBatcher`, `LedgerStore.standings`).
    public func standing(practitioner: String, on day: Day?) async throws(StoreError) -> LedgerStore.MemberStanding {
        try await standings.answer(LedgerStore.StandingRequest(practitioner: practitioner, day: day))
    }

    /// Through the reads' driver, not batched: a practitioner's occasional read, whose second round
    /// trip depends on the first's scheme.
    public func statement(practitioner: String, from: Day?, to: Day?) async throws(StoreError) -> [LedgerStore.StatementLine] {
        do {
            return try await LedgerStore.statement(practitioner: practitioner, from: from, to: to, driver)
        } catch {
            throw StoreError(error, during: "statement", logger: logger)
        }
    }

    /// Walks the whole hash chain, on a connection of its own (`LongReads`), not the pool's.
    public func verifyLedger(anchors: [LedgerAnchor]) async throws(StoreError) -> (LedgerStore.Verification, [LedgerStore.AnchorCheck]) {
        let configuration = pool.configuration
        do {
            return try await longReads.reserving(1) {
                try await longReads.onConnectionOfItsOwn(configuration) { c in try LedgerStore.verify(anchors: anchors, c) }
            }
        } catch {
            throw StoreError(error, during: "ledger.verify", logger: logger)
        }
    }

    // MARK: - Principals

    public func addPrincipal(_ grant: PrincipalStore.Grant, by principal: String) async throws(StoreError) {
        try await onPool("principal.add") { c in try PrincipalStore.add(grant, by: principal, c) }
    }

    public func principals() async throws(StoreError) -> [PrincipalStore.Grant] {
        try await onPool("principal.list") { c in try PrincipalStore.list(c) }
    }

    public func removePrincipal(_ account: PrincipalStore.Grant.Account, accountUID: UInt32?) async throws(StoreError) {
        try await onPool("principal.remove") { c in try PrincipalStore.remove(account, accountUID: accountUID, c) }
    }

    /// The grant of the account with `uid` (or, for one added by name, `userName`), if any.
    public func principal(uid: UInt32, userName: String?) async throws(StoreError) -> PrincipalStore.Grant? {
        try await onPool("principal lookup") { c in try PrincipalStore.resolve(uid: uid, userName: userName, c) }
    }

    /// The database's count of changes to the principals (`principal_generation`).
    public func principalGeneration() async throws(StoreError) -> Int64 {
        try await onPool("principal generation") { c in try PrincipalStore.generation(c) }
    }

    // MARK: - The rejection log

    public func logRejections(_ rejections: [ReportStore.Rejection], bounds: ReportStore.RejectionBounds) async throws(StoreError) -> ReportStore.LoggedRejections {
        try await onPool("rejected writes") { c in try ReportStore.logRejections(rejections, bounds: bounds, c) }
    }
}

extension StoreError {
    /// `error` as a store error: the store's own as they are, domain refusals as `invalid`, the
    /// pool's and the connection's as `busy` or `unavailable`, and anything else as `unexpected`,
    /// logged here with the operation, since its sender is told only that it failed.
    init(_ error: any Error, during operation: String, logger: Logger) {
        switch error {
        case let error as StoreError:
            self = error
        case let error as ValidationError:
            self = .invalid(error)
        case let error as DayOutOfRange:
            self = .outOfRange(error)
        case let error as PostgresPoolError:
            self = error.kind == .acquireTimeout
                ? .busy("every database connection is in use; try again")
                : .unavailable("cpdd is shutting down")
        case let error as PostgresError where error.isConnectionLoss:
            logger.warning("database unavailable", metadata: ["operation": "\(operation)", "error": "\(error)"])
            self = .unavailable("the database cannot be reached; try again")
        case is CancellationError:
            self = .unavailable("cpdd is shutting down")
        default:
            logger.error("store operation failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
            self = .unexpected("\(operation) failed unexpectedly; the error is in cpdd's log")
        }
    }
}
