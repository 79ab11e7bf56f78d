import Logging
import Postgres
import Synchronization

/// Reads batched the way group commit batches writes (`CompletionBatcher`): requests of one kind from
/// every connection queue here, and one batch at a time is answered from one round trip on one pool
/// connection; while it runs the next batch gathers, so the busier the registry, the fewer round trips
/// (and pool hand-offs) per request. Each request gets its own outcome: one that fails (an unknown
/// member) fails alone. Should the batch's statements fail as a whole, its requests are asked again
/// one at a time, on one connection, so that only the request at fault fails.
///
/// Equal requests in one batch are asked once and share the answer: both were waiting when it was
/// read, so it is what either would have read at that moment (many members searching for one word
/// cost the database one search).
final class ReadBatcher<Request: Sendable & Hashable, Answer: Sendable>: Sendable {
    typealias Outcome = Result<Answer, StoreError>
    typealias Waiter = (request: Request, continuation: CheckedContinuation<Outcome, Never>)

    let pool: PostgresPool
    let operation: String
    let maxBatch: Int
    /// Batches that may run at once, each on a connection of its own: one would leave every other
    /// core idle while its statements run in one server process.
    let concurrentBatches: Int
    let logger: Logger
    /// The batch's answers, in the requests' order; throws when the statements fail as a whole.
    let batch: @Sendable ([Request], PostgresConnection) throws -> [Result<Answer, Error>]
    /// One request alone.
    let alone: @Sendable (Request, PostgresConnection) throws -> Answer
    private let state = Mutex((pending: [Waiter](), draining: 0))

    init(
        pool: PostgresPool, operation: String, maxBatch: Int = 256, concurrentBatches: Int = 2, logger: Logger,
        batch: @escaping @Sendable ([Request], PostgresConnection) throws -> [Result<Answer, Error>],
        alone: @escaping @Sendable (Request, PostgresConnection) throws -> Answer
    ) {
        self.pool = pool
        self.operation = operation
        self.maxBatch = maxBatch
        self.concurrentBatches = max(1, concurrentBatches)
        self.logger = logger
        self.batch = batch
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
            let outcomes = await answers(distinct)
            for (waiter, index) in zip(waiters, positions) { waiter.continuation.resume(returning: outcomes[index]) }
        }
    }

    /// Every request's outcome, in order: never fewer than the requests.
    private func answers(_ requests: [Request]) async -> [Outcome] {
        let batch = self.batch, alone = self.alone, operation = self.operation, logger = self.logger
        do {
            let outcomes = try await pool.withConnection { c -> [Outcome] in
                do {
                    return try batch(requests, c).map { $0.mapError { StoreError($0, during: operation, logger: logger) } }
                } catch let error as PostgresError where error.isConnectionLoss {
                    throw error
                } catch {
                    guard requests.count > 1 else { throw error }
                    logger.debug("a batch of reads failed; asking one at a time", metadata: ["operation": "\(operation)", "error": "\(error)"])
                    return requests.map { request in
                        Result { try alone(request, c) }.mapError { StoreError($0, during: operation, logger: logger) }
                    }
                }
            }
            guard outcomes.count == requests.count else {
                logger.error("a batch of reads gave the wrong number of answers", metadata: ["operation": "\(operation)"])
                return Array(repeating: .failure(.unexpected("\(operation) failed unexpectedly; the error is in cpdd's log")), count: requests.count)
            }
            return outcomes
        } catch {
            return Array(repeating: .failure(StoreError(error, during: operation, logger: logger)), count: requests.count)
        }
    }
}
