import Foundation
import Postgres
import Synchronization

/// Database connections of their own for the reads that take minutes over the whole ledger
/// (`report.nightly`, which needs two at once in one snapshot, and `ledger.verify`), apart from the
/// shared pool. Taken from the pool, two reports could each hold one connection while waiting for a
/// second, and a few verifications could hold them all, while `points` waited behind them. Here a
/// long read first reserves its share of at most `limit` connections, waiting while holding nothing,
/// then opens its connections, each on a thread of its own (libpq blocks), and closes them after.
final class LongReads: Sendable {
    let limit: Int
    private let state: Mutex<(free: Int, waiters: [(id: Int, count: Int, continuation: CheckedContinuation<Void, Error>)], nextID: Int)>

    init(limit: Int) {
        precondition(limit >= 2, "a report needs two connections at once")
        self.limit = limit
        state = Mutex((free: limit, waiters: [], nextID: 0))
    }

    /// Runs `body` with `count` connections reserved, waiting (first come, first served) until they are free.
    func reserving<R: Sendable>(_ count: Int, _ body: () async throws -> R) async throws -> R {
        try await reserve(count)
        defer { release(count) }
        return try await body()
    }

    /// Opens a connection on a thread of its own, runs `body` on it there, and closes it.
    func onConnectionOfItsOwn<R: Sendable>(
        _ configuration: PostgresPool.Configuration, _ body: @escaping @Sendable (PostgresConnection) throws -> R
    ) async throws -> R {
        try await onThreadOfItsOwn {
            let connection = try PostgresConnection(
                conninfo: configuration.conninfo, applicationName: configuration.applicationName + " long read",
                connectTimeoutSeconds: configuration.connectTimeoutSeconds, sessionSetup: configuration.sessionSetup)
            return try body(connection)
        }
    }

    private func reserve(_ count: Int) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                enum Now { case go, cancelled, wait }
                let now = state.withLock { state -> Now in
                    if Task.isCancelled { return .cancelled }
                    if state.waiters.isEmpty, state.free >= count {
                        state.free -= count
                        return .go
                    }
                    state.waiters.append((id, count, continuation))
                    return .wait
                }
                switch now {
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiting?.resume(throwing: CancellationError())
            release(0)  // those behind it may fit now
        }
    }

    private func release(_ count: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Error>] in
            state.free += count
            var ready: [CheckedContinuation<Void, Error>] = []
            while let first = state.waiters.first, first.count <= state.free {
                state.free -= first.count
                ready.append(state.waiters.removeFirst().continuation)
            }
            return ready
        }
        ready.forEach { $0.resume() }
    }
}

/// Runs blocking work (libpq) on a thread of its own, never on an event loop or Swift's cooperative pool.
public func onThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
