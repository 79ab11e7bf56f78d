import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The pool could not give out a connection.
public struct PostgresPoolError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case closed, acquireTimeout }
    public var kind: Kind
    public var description: String {
        switch kind {
        case .closed: return "the connection pool is closed"
        case .acquireTimeout: return "no database connection became free in time"
        }
    }
}

/// A bounded set of connections, each used by one thread at a time.
///
/// libpq blocks, so work never runs on an event loop or on Swift's cooperative pool: the pool owns a
/// thread pool as large as its connection limit and runs every `body` there. Before a connection is
/// handed out it is checked: a read of whatever the server sent while it was idle (no round trip),
/// and after a long idle spell a ping; a dead connection is reopened, so a restarted server costs the
/// pool nothing but the reconnects. Runs as a `Service`: on graceful shutdown it closes.
public final class PostgresPool: Sendable, Service {
    public struct Configuration: Sendable {
        /// A libpq conninfo string or URI; empty means libpq's `PG*` environment variables.
        public var conninfo: String
        public var maxConnections: Int
        /// How long a caller waits for a free connection before `PostgresPoolError.acquireTimeout`.
        public var acquireTimeout: Duration
        public var connectTimeoutSeconds: Int
        /// A connection idle for longer than this is pinged before it is handed out.
        public var healthCheckAfterIdle: Duration
        public var applicationName: String
        /// A statement every new connection runs first, such as `SET ROLE cpd_app`.
        public var sessionSetup: String?

        public init(
            conninfo: String, maxConnections: Int = 8, acquireTimeout: Duration = .seconds(5),
            connectTimeoutSeconds: Int = 5, healthCheckAfterIdle: Duration = .seconds(30), applicationName: String = "cpd",
            sessionSetup: String? = nil
        ) {
            precondition(maxConnections >= 1, "a pool needs at least one connection")
            self.conninfo = conninfo
            self.maxConnections = maxConnections
            self.acquireTimeout = acquireTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.healthCheckAfterIdle = healthCheckAfterIdle
            self.applicationName = applicationName
            self.sessionSetup = sessionSetup
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let threads: NIOThreadPool
    private let state = Mutex(State())

    /// Holds a connection while it moves between threads; only one lease holder uses it at a time.
    final class Slot: @unchecked Sendable {
        let connection: PostgresConnection
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    enum Lease: Sendable {
        case existing(Slot)
        case openNew
    }

    struct State: ~Copyable {
        var idle: [Slot] = []
        /// Connections that exist or are being opened, idle or leased.
        var open = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Lease, Error>)] = []
        var nextWaiterID = 0
        var closed = false
    }

    public init(configuration: Configuration, logger: Logger = Logger(label: "cpd.postgres.pool")) {
        self.configuration = configuration
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        threads.start()
    }

    // MARK: - Using a connection

    /// Runs `body` with a connection, on a thread of the pool's own.
    @discardableResult
    public func withConnection<R: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> R) async throws
        -> R
    {
        let lease = try await acquire()
        let outcome: (Slot?, Result<R, Error>)
        do {
            outcome = try await threads.runIfActive { () -> (Slot?, Result<R, Error>) in
                let slot: Slot
                do {
                    slot = try self.ready(lease)
                } catch {
                    return (nil, .failure(error))
                }
                return (slot, Result { try body(slot.connection) })
            }
        } catch {
            // The work did not run: the task was cancelled before a thread took it (CancellationError),
            // or the thread pool has shut down because the pool is closing.
            if case .existing(let slot) = lease { release(slot) } else { releaseSlot() }
            if error is CancellationError { throw error }
            throw PostgresPoolError(kind: .closed)
        }
        if let slot = outcome.0 { release(slot) } else { releaseSlot() }
        return try outcome.1.get()
    }

    /// Runs `body` in a transaction (see `PostgresConnection.withTransaction`). With
    /// `retry.retriesConnectionLoss`, a lost connection runs `body` again on a fresh one.
    @discardableResult
    public func withTransaction<R: Sendable>(
        isolation: IsolationLevel = .readCommitted, readOnly: Bool = false, retry: RetryPolicy = .serializationFailures,
        _ body: @escaping @Sendable (PostgresConnection) throws -> R
    ) async throws -> R {
        var attempt = 1
        while true {
            do {
                // The connection retries serialization failures itself; a lost connection is retried
                // here, on a fresh one, not on the dead one.
                let inner = RetryPolicy(maxAttempts: retry.maxAttempts, baseDelay: retry.baseDelay, retriesConnectionLoss: false)
                return try await withConnection { connection in
                    try connection.withTransaction(isolation: isolation, readOnly: readOnly, retry: inner, body)
                }
            } catch {
                attempt += 1
                guard retry.retriesConnectionLoss, let error = error as? PostgresError, error.isConnectionLoss,
                    attempt <= retry.maxAttempts
                else { throw error }
                logger.debug("retrying transaction on a new connection", metadata: ["error": "\(error)"])
                try await Task.sleep(for: retry.delay(beforeAttempt: attempt))
            }
        }
    }

    /// True when a connection can be had and the server answers a ping.
    public func healthCheck() async -> Bool {
        do {
            try await withConnection { try $0.ping() }
            return true
        } catch {
            return false
        }
    }

    /// Connections open now, idle or in use.
    public var openConnections: Int { state.withLock { $0.open } }

    // MARK: - Lifecycle

    /// Waits for graceful shutdown, then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes idle connections, fails waiting callers, and closes busy connections as they come back.
    public func close() async {
        let (idle, waiters) = state.withLock { state -> ([Slot], [CheckedContinuation<Lease, Error>]) in
            if state.closed { return ([], []) }
            state.closed = true
            state.open -= state.idle.count
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters.map(\.continuation))
        }
        waiters.forEach { $0.resume(throwing: PostgresPoolError(kind: .closed)) }
        _ = idle  // dropping the slots closes their connections (PQfinish in deinit)
        try? await threads.shutdownGracefully()
    }

    // MARK: - Leases

    private func acquire() async throws -> Lease {
        enum Decision {
            case lease(Lease)
            case wait(Int)
            case closed
        }
        // Decided and, if it must wait, enqueued under one lock, so no release can slip between.
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, Error>) in
            let decision = state.withLock { state -> Decision in
                if state.closed { return .closed }
                if let slot = state.idle.popLast() { return .lease(.existing(slot)) }
                if state.open < configuration.maxConnections {
                    state.open += 1
                    return .lease(.openNew)
                }
                state.nextWaiterID += 1
                state.waiters.append((state.nextWaiterID, continuation))
                return .wait(state.nextWaiterID)
            }
            switch decision {
            case .closed: continuation.resume(throwing: PostgresPoolError(kind: .closed))
            case .lease(let lease): continuation.resume(returning: lease)
            case .wait(let id):
                let timeout = configuration.acquireTimeout
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    self?.failWaiter(id, with: PostgresPoolError(kind: .acquireTimeout))
                }
            }
        }
    }

    private func failWaiter(_ id: Int, with error: Error) {
        let continuation = state.withLock { state -> CheckedContinuation<Lease, Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(throwing: error)
    }

    /// Returns a connection. A broken one, or one left inside a transaction, is closed and its place
    /// given to the next waiter as a new connection.
    private func release(_ slot: Slot) {
        let reusable = slot.connection.isOpen && slot.connection.transactionStatus == .idle
        let handOff = state.withLock { state -> (CheckedContinuation<Lease, Error>, Lease)? in
            if state.closed {
                state.open -= 1
                return nil
            }
            if !reusable {
                state.open -= 1
                guard !state.waiters.isEmpty else { return nil }
                state.open += 1
                return (state.waiters.removeFirst().continuation, .openNew)
            }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst().continuation, .existing(slot)) }
            state.idle.append(slot)
            return nil
        }
        if !reusable {
            logger.debug("dropping a connection", metadata: ["open": "\(slot.connection.isOpen)"])
        }
        if let (continuation, lease) = handOff { continuation.resume(returning: lease) }
    }

    /// Gives back a place whose connection could not be opened or reopened.
    private func releaseSlot() {
        let handOff = state.withLock { state -> CheckedContinuation<Lease, Error>? in
            state.open -= 1
            guard !state.closed, !state.waiters.isEmpty else { return nil }
            state.open += 1
            return state.waiters.removeFirst().continuation
        }
        handOff?.resume(returning: .openNew)
    }

    /// On the worker thread: a connection that is open and answering, or an error.
    private func ready(_ lease: Lease) throws -> Slot {
        switch lease {
        case .openNew:
            return Slot(try PostgresConnection(
                conninfo: configuration.conninfo, applicationName: configuration.applicationName,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds, sessionSetup: configuration.sessionSetup, logger: logger))
        case .existing(let slot):
            let connection = slot.connection
            if !connection.checkAlive() {
                logger.info("reconnecting a connection the server closed")
                try connection.reconnect()
            } else if ContinuousClock.now - connection.lastUsed > configuration.healthCheckAfterIdle {
                do {
                    try connection.ping()
                } catch {
                    try connection.reconnect()
                }
            }
            return slot
        }
    }
}
