import Synchronization

/// The bytes of one connection's answers that are made but not yet handed to its socket, with the
/// bounds Redis calls client-output-buffer-limit. A client that sends requests and never reads its
/// answers would otherwise have them queue in cpdd without end. Past the soft bound the connection's
/// reader stops taking requests until the writer has brought the backlog back under it; a backlog
/// over the soft bound with no progress for the stall time, or answers piled past the hard bound,
/// closes the connection. One answer alone may be of any size (a report of every member, read by a
/// client that reads): the hard bound counts what piles up behind the answer being written, so a
/// `ping` pipelined behind a long report is not taken for a flood.
final class OutputBacklog: Sendable {
    struct Limits: Sendable, Equatable {
        var soft: Int
        var hard: Int
        var stall: Duration
    }

    let limits: Limits
    /// `total` is every unwritten byte; `sizes` the unwritten bytes of each answer by its place in
    /// request order, and `head` the place of the answer the writer is on (or waits for), which the
    /// hard bound does not count. `wait` numbers the reader's waits, so that the timer of an earlier
    /// wait cannot end a later one. `progress` counts the pieces the writer has handed over, so that a
    /// client reading a long answer slowly is not taken for one that does not read.
    private struct State {
        var total = 0
        var sizes: [Int: Int] = [:]
        var head = 0
        var waiter: CheckedContinuation<Bool, Never>? = nil
        var wait = 0
        var closed = false
        var progress = 0
    }
    private let state = Mutex(State())

    init(limits: Limits) {
        self.limits = limits
    }

    static func size(_ lines: [String]) -> Int { lines.reduce(0) { $0 + $1.utf8.count + 1 } }

    var bytes: Int { state.withLock { $0.total } }

    /// Counts the answer at `place` in request order (0 for the first answer on the connection) as
    /// made. Call it before the writer can see the answer. False when the answers behind the one at
    /// the head of the write order are then past the hard bound (close the connection).
    func add(_ count: Int, at place: Int) -> Bool {
        state.withLock { state in
            state.total += count
            state.sizes[place, default: 0] += count
            return state.total - (state.sizes[state.head] ?? 0) <= limits.hard
        }
    }

    /// Counts a piece of the answer at `place` as handed to the socket, just before it is written, so
    /// that by the time the client has read it the backlog no longer holds it. `last` marks the
    /// answer's last piece (an answer of no lines has one of 0 bytes): the next answer is then the head.
    /// Lets a waiting reader go on once under the soft bound.
    func handOver(_ count: Int, of place: Int, last: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.total -= count
            if last {
                state.sizes[place] = nil
                state.head = place + 1
            } else {
                state.sizes[place, default: 0] -= count
            }
            state.progress += 1
            guard state.total <= limits.soft else { return nil }
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
                if state.total <= limits.soft { return .fine }
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
                    var seen = self?.state.withLock { $0.progress } ?? 0
                    while true {
                        try? await Task.sleep(for: stall)
                        guard let self, let now = self.stillWaiting(wait, since: seen) else { return }
                        seen = now
                    }
                }
            }
        }
    }

    /// The stall time has passed: a reader still waiting with no progress since `seen` is told to
    /// close (nil: stop watching); with progress, the new count to watch from.
    private func stillWaiting(_ wait: Int, since seen: Int) -> Int? {
        let (waiter, progress) = state.withLock { state -> (CheckedContinuation<Bool, Never>?, Int?) in
            guard state.wait == wait, state.waiter != nil else { return (nil, nil) }
            if state.progress != seen { return (nil, state.progress) }
            defer { state.waiter = nil }
            return (state.waiter, nil)
        }
        waiter?.resume(returning: false)
        return progress
    }
}
