import AdminProtocol
import CPDStore
import Logging
import Synchronization

/// Writes that cpdd refused, on their way to the `rejected_write` table for the nightly report.
/// Noting one never delays the answer: refusals queue here and are written in the background, many
/// per statement. It is a log, not the ledger: refusals noted while the database is down, or in the
/// instant before cpdd is killed, are lost (and say so in cpdd's log). It is bounded: at most
/// `bounds.perPrincipalPerDay` rows per principal per day are kept and the rest counted, and rows
/// older than `bounds.retentionDays` are deleted as new ones are written.
final class RejectionLog: Sendable {
    let store: RegistryStore
    let logger: Logger
    /// Rows kept per principal per day (the rest are counted), and for how many days.
    let bounds: ReportStore.RejectionBounds
    private let state = Mutex((pending: [ReportStore.Rejection](), draining: false, waiters: [CheckedContinuation<Void, Never>](), dropped: 0))

    /// Refusals held at most while they wait to be written.
    static let pendingBound = 10_000

    init(store: RegistryStore, logger: Logger, bounds: ReportStore.RejectionBounds = ReportStore.RejectionBounds()) {
        self.store = store
        self.logger = logger
        self.bounds = bounds
    }

    /// Notes `error` when it refuses a write (the definition says whether its command writes).
    /// Overload and outages are not refusals of the write itself (the sender is told to try again),
    /// so `busy` and `unavailable` are not noted.
    func note(_ definition: CommandDefinition, _ error: CommandError, principal: String) {
        guard definition.writes, !error.isTransient else { return }
        let rejection = ReportStore.Rejection(command: definition.name, code: error.code.rawValue, reason: error.message, principal: principal)
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
                let logged = try await store.logRejections(batch, bounds: bounds)
                if logged.failed > 0 {
                    logger.warning("could not log some rejected writes", metadata: ["count": "\(logged.failed)"])
                }
            } catch {
                logger.warning("could not log rejected writes", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            }
        }
    }
}
