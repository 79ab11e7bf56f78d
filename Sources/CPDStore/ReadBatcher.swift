import Logging
import Postgres
import Synchronization

/// Reads batched the way group commit batches writes (`CompletionBatcher`): requests of one kind from
/// every connection queue here, and a batch is answered from one round trip through the non-blocking
/// driver (`PostgresDriver`: no thread sleeps in libpq for it); while it runs the next batch gathers,
/// so the busier the registry, the fewer round trips per request. Each request gets its own outcome:
/// one that fails (an unknown member) fails alone. A request the batch could not answer (nil), or
/// every request of a batch whose statements failed as a whole (a lost connection included), is asked
/// alone on a pool connection, so that only the request at fault fails and the pool's reconnects and
/// timeouts apply as for any other command.
///
/// Equal requests in one batch are asked once and share the answer: both were waiting when it was
/// read, so it is what either would have read at that moment (many members searching for one word
/// cost the database one search).
///
/// A batch is two steps: its round trip (`fetch`) and the making of its answers from the rows
/// (`decide`: the rules, in Swift). Deciding beside the next batch's round trip, in a task of its
/// own, was tried and measured: no difference under `points` at 20,000 or 100,000 members, beyond
/// the runs' own spread, so a batch decides in its place.
final class ReadBatcher<Request: Sendable & Hashable, Rows: Sendable, Answer: Sendable>: Sendable {
    typealias Outcome = Result<Answer, StoreError>
    typealias Waiter = (request: Request, continuation: CheckedContinuation<Outcome, Never>)

    let pool: PostgresPool
    let operation: String
    let maxBatch: Int
    /// Batches that may run at once, each on a connection of its own: one would leave every other
    /// core idle while its statements run in one server process.
    let concurrentBatches: Int
    let logger: Logger
    /// The batch's round trip; throws when the statements fail as a whole.
    let fetch: @Sendable ([Request]) async throws -> Rows
    /// The batch's answers from its rows, in the requests' order (nil: ask that one alone).
    let decide: @Sendable ([Request], Rows) throws -> [Result<Answer, Error>?]
    /// One request alone, on a pool connection.
    let alone: @Sendable (Request, PostgresConnection) throws -> Answer
    private let state = Mutex((pending: [Waiter](), draining: 0))

    init(
        pool: PostgresPool, operation: String, maxBatch: Int = 256, concurrentBatches: Int = 2, logger: Logger,
        fetch: @escaping @Sendable ([Request]) async throws -> Rows,
        decide: @escaping @Sendable ([Request], Rows) throws -> [Result<Answer, Error>?],
        alone: @escaping @Sendable (Request, PostgresConnection) throws -> Answer
    ) {
        self.pool = pool
        self.operation = operation
        self.maxBatch = maxBatch
        self.concurrentBatches = max(1, concurrentBatches)
        self.logger = logger
        self.fetch = fetch
        self.decide = decide
        self.alone = alone
    }

    /// Queues the request and waits for its batch's answer.
    func answer(_ request: Request) async throws(StoreError) -> Answer {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let startDrain = state.withLock { state -> Bool in
                state.pending.append((request, continuation))
                guard state.draining < concurrentBatches else { return false }
                state.draining += 1
                return true
            }
            if startDrain { Task { await drain() } }
        }
        return try outcome.get()
    }

    private func drain() async {
        while true {
            let waiters = state.withLock { state -> [Waiter] in
                let batch = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining -= 1 }
                return batch
            }
            if waiters.isEmpty { return }
            var distinct: [Request] = []
            var position: [Request: Int] = [:]
            let positions = waiters.map { waiter -> Int in
                if let known = position[waiter.request] { return known }
                position[waiter.request] = distinct.count
                distinct.append(waiter.request)
                return distinct.count - 1
            }
            let rows: Result<Rows, Error>
            do {
                rows = .success(try await fetch(distinct))
            } catch {
                rows = .failure(error)
            }
            let outcomes = await answers(distinct, from: rows)
            for (waiter, index) in zip(waiters, positions) { waiter.continuation.resume(returning: outcomes[index]) }
        }
    }

    /// Every request's outcome, in order: never fewer than the requests.
    private func answers(_ requests: [Request], from rows: Result<Rows, Error>) async -> [Outcome] {
        var answers: [Result<Answer, Error>?]
        do {
            answers = try decide(requests, try rows.get())
            if answers.count != requests.count {
                logger.error("a batch of reads gave the wrong number of answers", metadata: ["operation": "\(operation)"])
                answers = Array(repeating: nil, count: requests.count)
            }
        } catch {
            logger.debug("a batch of reads failed; asking one at a time", metadata: ["operation": "\(operation)", "error": "\(error)"])
            answers = Array(repeating: nil, count: requests.count)
        }
        let alone = requests.indices.filter { answers[$0] == nil }.map { ($0, requests[$0]) }
        if !alone.isEmpty {
            let ask = self.alone, operation = self.operation, logger = self.logger
            do {
                let outcomes = try await pool.withConnection { c in
                    alone.map { index, request in (index, Result { try ask(request, c) }.mapError { StoreError($0, during: operation, logger: logger) }) }
                }
                for (index, outcome) in outcomes { answers[index] = outcome.mapError { $0 } }
            } catch {
                let failure = StoreError(error, during: operation, logger: logger)
                for (index, _) in alone { answers[index] = .failure(failure) }
            }
        }
        return answers.map { answer in
            (answer ?? .failure(StoreError.unexpected("\(operation) failed unexpectedly"))).mapError { StoreError($0, during: operation, logger: logger) }
        }
    }
}
