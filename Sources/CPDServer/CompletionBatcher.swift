import CPDStore
import Postgres

/// Group commit for completions. Requests from every connection queue here; one batch at a time is
/// recorded in one transaction (one commit, one fsync, for the lot), and while it commits the next
/// batch gathers, so the busier the registry, the larger the batches. Each request is answered only
/// after its batch has committed; one refused request fails alone.
actor CompletionBatcher {
    typealias Outcome = Result<EntryReceipt, Error>

    let pool: PostgresPool
    let maxBatch: Int
    private var pending: [(request: LedgerStore.CompletionRequest, reply: CheckedContinuation<Outcome, Never>)] = []
    private var draining = false
    /// Batches committed and requests in them, for tests and logs.
    private(set) var batches = 0

    init(pool: PostgresPool, maxBatch: Int = 256) {
        self.pool = pool
        self.maxBatch = maxBatch
    }

    func record(_ request: LedgerStore.CompletionRequest) async -> Outcome {
        await withCheckedContinuation { continuation in
            pending.append((request, continuation))
            if !draining {
                draining = true
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            let requests = batch.map(\.request)
            let outcomes: [Outcome]
            do {
                outcomes = try await pool.withConnection { c in try LedgerStore.recordCompletions(requests, c) }
            } catch {
                outcomes = Array(repeating: .failure(error), count: batch.count)
            }
            batches += 1
            for (item, outcome) in zip(batch, outcomes) { item.reply.resume(returning: outcome) }
        }
        draining = false
    }
}
