import Synchronization

/// The bytes of one connection's answers that are made but not yet handed to its socket, with the
/// bounds Redis calls client-output-buffer-limit. A client that sends requests and never reads its
/// answers would otherwise have them queue in cpdd without end. Past the soft bound the connection's
/// reader stops taking requests until the writer has brought the backlog back under it; a backlog
/// over the soft bound for the stall time, or past the hard bound at any moment, closes the connection.
final class OutputBacklog: Sendable {
    struct Limits: Sendable, Equatable {
        var soft: Int
        var hard: Int
        var stall: Duration
    }

    let limits: Limits
    /// `wait` numbers the reader's waits, so that the timer of an earlier wait cannot end a later one.
    private let state = Mutex((bytes: 0, waiter: CheckedContinuation<Bool, Never>?.none, wait: 0, closed: false))

    init(limits: Limits) {
        self.limits = limits
    }

    static func size(_ lines: [String]) -> Int { lines.reduce(0) { $0 + $1.utf8.count + 1 } }

    var bytes: Int { state.withLock { $0.bytes } }

    /// Counts answers made; false when that takes the backlog past the hard bound (close the connection).
    func add(_ count: Int) -> Bool {
        state.withLock { state in
            state.bytes += count
            return state.bytes <= limits.hard
        }
    }

    /// Counts answers handed to the socket, and lets a waiting reader go on once under the soft bound.
    func remove(_ count: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.bytes -= count
            guard state.bytes <= limits.soft else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }

    /// Wakes a waiting reader for good: the connection is closing. False when it already was.
    func close() -> Bool {
        let (first, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            let first = !state.closed
            state.closed = true
            defer { state.waiter = nil }
            return (first, state.waiter)
        }
        waiter?.resume(returning: false)
        return first
    }

    /// Returns at once when the backlog is within the soft bound; else waits until the writer has
    /// brought it back within, and returns true, or for the stall time, and returns false (the
    /// connection should close). One reader waits at a time.
    func drained() async -> Bool {
        enum Now { case fine, closed, wait(Int) }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Now in
                if state.closed { return .closed }
                if state.bytes <= limits.soft { return .fine }
                state.waiter = continuation
                state.wait += 1
                return .wait(state.wait)
            }
            switch now {
            case .fine: continuation.resume(returning: true)
            case .closed: continuation.resume(returning: false)
            case .wait(let wait):
                let stall = limits.stall
                Task { [weak self] in
                    try? await Task.sleep(for: stall)
                    self?.giveUp(wait)
                }
            }
        }
    }

    /// The stall time has passed: a reader still waiting is told to close.
    private func giveUp(_ wait: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.wait == wait else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }
}
