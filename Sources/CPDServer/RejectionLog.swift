import AdminProtocol
import CPDStore
import Logging
import Postgres
import Synchronization

/// Writes that cpdd refused, on their way to the `rejected_write` table for the nightly report.
/// Noting one never delays the answer: refusals queue here and are written in the background, many
/// per statement. It is a log, not the ledger: refusals noted while the database is down, or in the
/// instant before cpdd is killed, are lost (and say so in cpdd's log). It is bounded: at most
/// `bounds.perPrincipalPerDay` rows per principal per day are kept and the rest counted, and rows
/// older than `bounds.retentionDays` are deleted as new ones are written.
final class RejectionLog: Sendable {
    let pool: PostgresPool
    let logger: Logger
    /// Rows kept per principal per day (the rest are counted), and for how many days.
    let bounds: ReportStore.RejectionBounds
    private let state = Mutex((pending: [ReportStore.Rejection](), draining: false, waiters: [CheckedContinuation<Void, Never>](), dropped: 0))

    /// Refusals held at most while they wait to be written.
    static let pendingBound = 10_000

    init(pool: PostgresPool, logger: Logger, bounds: ReportStore.RejectionBounds = ReportStore.RejectionBounds()) {
        self.pool = pool
        self.logger = logger
        self.bounds = bounds
    }

    /// The commands that change something: an ERR answer to one of them is a rejected write.
    static let writeCommands: Set<String> = [
        "provider.add", "course.add", "course.update", "course.publish", "course.retire", "scheme.add", "scheme.rule",
        "scheme.certificate", "practitioner.add", "certificate.add", "completion.record", "entry.reverse", "entry.adjust",
        "principal.add", "principal.remove",
    ]

    /// Notes `final` when it refuses a write. Overload and outages are not refusals of the write
    /// itself (the sender is told to try again), so `busy` and `unavailable` are not noted.
    func note(command: String, final: String, principal: String) {
        guard Self.writeCommands.contains(command), final.hasPrefix("ERR ") else { return }
        let rest = final.dropFirst(4)
        let code = rest.prefix { $0 != " " }
        guard code != ErrorCode.busy.rawValue, code != ErrorCode.unavailable.rawValue else { return }
        let reason = rest.dropFirst(code.count).drop { $0 == " " }
        let rejection = ReportStore.Rejection(command: command, code: String(code), reason: String(reason), principal: principal)
        let startDrain = state.withLock { state -> Bool in
            // While the database is down the queue cannot drain: past a bound, refusals are dropped
            // (and counted in cpdd's log) rather than held without end.
            guard state.pending.count < Self.pendingBound else {
                state.dropped += 1
                return false
            }
            state.pending.append(rejection)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDrain { Task { await drain() } }
    }

    /// Returns once every refusal noted before the call has been written (or given up on).
    func flush() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                guard state.draining else { return true }
                state.waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let (batch, waiters, dropped) = state.withLock { state -> ([ReportStore.Rejection], [CheckedContinuation<Void, Never>], Int) in
                let dropped = state.dropped
                state.dropped = 0
                let batch = Array(state.pending.prefix(1000))
                state.pending.removeFirst(batch.count)
                guard batch.isEmpty else { return (batch, [], dropped) }
                state.draining = false
                defer { state.waiters = [] }
                return (batch, state.waiters, dropped)
            }
            if dropped > 0 {
                logger.warning("dropped rejected writes past the queue's bound", metadata: ["count": "\(dropped)", "bound": "\(Self.pendingBound)"])
            }
            if batch.isEmpty {
                waiters.forEach { $0.resume() }
                return
            }
            do {
                let bounds = self.bounds
                let logged = try await pool.withConnection { c in try ReportStore.logRejections(batch, bounds: bounds, c) }
                if logged.failed > 0 {
                    logger.warning("could not log some rejected writes", metadata: ["count": "\(logged.failed)"])
                }
            } catch {
                logger.warning("could not log rejected writes", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            }
        }
    }
}
