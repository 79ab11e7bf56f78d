import Logging
import Postgres
import Synchronization

/// Group commit for completions. Requests from every connection queue here, in the order they are
/// enqueued; one batch at a time is recorded with one commit (one fsync for the lot), and while it
/// commits the next batch gathers, so the busier the registry, the larger the batches. A batch's
/// statements go through a non-blocking driver of its own (one connection: the batches follow one
/// another, and a commit waiting for its fsync never holds up a read batched behind it), so no
/// thread sleeps in libpq for them. Each request's promise is kept only after its batch has
/// committed; one refused request fails alone.
public final class CompletionBatcher: Sendable {
    public typealias Outcome = Result<EntryReceipt, StoreError>

    let driver: PostgresDriver
    let maxBatch: Int
    let logger: Logger
    private let state = Mutex((pending: [(LedgerStore.CompletionRequest, CompletionPromise)](), draining: false))

    init(driver: PostgresDriver, maxBatch: Int = 256, logger: Logger) {
        self.driver = driver
        self.maxBatch = maxBatch
        self.logger = logger
    }

    /// Queues a request now (so requests keep the order they are enqueued in) and returns the promise
    /// of its outcome.
    func enqueue(_ request: LedgerStore.CompletionRequest) -> CompletionPromise {
        let promise = CompletionPromise()
        let startDrain = state.withLock { state -> Bool in
            state.pending.append((request, promise))
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDrain { Task { await drain() } }
        return promise
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [(LedgerStore.CompletionRequest, CompletionPromise)] in
                let batch = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let requests = batch.map(\.0)
            let outcomes: [Outcome]
            do {
                outcomes = try await LedgerStore.recordCompletions(requests, driver)
                    .map { $0.mapError { [logger] in StoreError($0, during: "completion.record", logger: logger) } }
            } catch {
                outcomes = Array(repeating: .failure(StoreError(error, during: "completion.record", logger: logger)), count: batch.count)
            }
            for (item, outcome) in zip(batch, outcomes) { item.1.keep(outcome) }
        }
    }
}

/// The outcome of a queued completion, known once its batch has committed; any number of tasks may wait for it.
public final class CompletionPromise: Sendable {
    private let state = Mutex((outcome: CompletionBatcher.Outcome?.none, waiters: [CheckedContinuation<CompletionBatcher.Outcome, Never>]()))

    func keep(_ outcome: CompletionBatcher.Outcome) {
        let waiters = state.withLock { state -> [CheckedContinuation<CompletionBatcher.Outcome, Never>] in
            state.outcome = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: outcome) }
    }

    public var outcome: CompletionBatcher.Outcome {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> CompletionBatcher.Outcome? in
                    if let outcome = state.outcome { return outcome }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
