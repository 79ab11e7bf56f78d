import CLibPQ
import Foundation
import Glibc
import Logging
import Synchronization

/// Statements that are not a thread sleep: a few connections in libpq's non-blocking pipeline mode,
/// driven by one I/O thread that waits on their sockets with poll(2) (a handful of sockets: epoll
/// would buy nothing, and Glibc's module does not export it). A caller's statements are sent
/// at once, behind whatever the connection already carries, and the caller's task is resumed when
/// their results have come in, so no thread blocks on a statement, and many callers' statements
/// share a connection and its round trips.
///
/// Each call is a sync group of its own: its statements take effect (or fail) whatever the other
/// callers' do. Statements are prepared once per connection, in the same pipeline; a statement name
/// is used by later calls only once its Prepare has succeeded (until then they send the statement
/// unnamed), so a Prepare that another caller's error aborts cannot fail them. Connections are opened
/// when first needed, one at a time, on a thread of their own: the I/O thread keeps serving the open
/// ones meanwhile, and for a second after a failed connect it opens none. A lost connection fails
/// what it carried (class 08) and is opened again for the next call. Not for transactions spanning
/// calls, COPY or streaming: those stay on `PostgresConnection`.
public final class PostgresDriver: Sendable {
    private let loop: DriverLoop

    /// `configuration` as for a pool (`conninfo`, `sessionSetup`, connect timeout, name); the driver
    /// opens at most `connections`.
    public init(configuration: PostgresPool.Configuration, connections: Int = 2, logger: Logger = Logger(label: "cpd.postgres.driver")) {
        loop = DriverLoop(configuration: configuration, connections: max(1, connections), logger: logger)
    }

    deinit { loop.shutDown() }

    /// Runs the statements in one pipeline, each in its own implicit transaction: one that fails fails
    /// alone, in its place. Throws only when the statements could not be sent or the connection failed.
    public func pipelineEach(_ statements: [PostgresStatement]) async throws(PostgresError) -> [Result<PostgresQueryResult, PostgresError>] {
        try await loop.submit(statements, syncAfterEach: true)
    }

    /// Runs the statements in one pipeline as one implicit transaction (one snapshot of `now()`): all
    /// take effect or none does, and the first error is thrown.
    public func pipeline(_ statements: [PostgresStatement]) async throws(PostgresError) -> [PostgresQueryResult] {
        var rows: [PostgresQueryResult] = []
        for result in try await loop.submit(statements, syncAfterEach: false) {
            switch result {
            case .success(let value): rows.append(value)
            case .failure(let error): throw error
            }
        }
        return rows
    }

    /// Runs one statement with parameters `$1`, `$2`... bound to `bindings`.
    @discardableResult
    public func query(_ sql: String, _ bindings: [any PostgresEncodable] = []) async throws(PostgresError) -> PostgresQueryResult {
        try await pipeline([PostgresStatement(sql, bindings)])[0]
    }

    /// Fails what is waiting, closes the connections and stops the I/O thread.
    public func close() { loop.shutDown() }
}

/// The I/O thread and everything it owns. Only `submit` and `shutDown` are called from other threads;
/// they hand over through `inbox` and wake the thread through a pipe.
final class DriverLoop: @unchecked Sendable {
    typealias Outcome = Result<[Result<PostgresQueryResult, PostgresError>], PostgresError>

    /// One caller's statements, in flight.
    final class Call: @unchecked Sendable {  // handed to the I/O thread, then used only there
        let statements: [PostgresStatement]
        let syncAfterEach: Bool
        let continuation: CheckedContinuation<Outcome, Never>
        var results: [Result<PostgresQueryResult, PostgresError>?]
        /// The error that aborted the rest of the sync group, reported for the statements it skipped.
        var abortedBy: PostgresError?
        var finished = false

        init(_ statements: [PostgresStatement], syncAfterEach: Bool, _ continuation: CheckedContinuation<Outcome, Never>) {
            self.statements = statements
            self.syncAfterEach = syncAfterEach
            self.continuation = continuation
            self.results = Array(repeating: nil, count: statements.count)
        }

        func finish(_ outcome: Outcome) {
            guard !finished else { return }
            finished = true
            continuation.resume(returning: outcome)
        }
    }

    /// What a connection will answer next, in the order it was sent.
    enum Expected {
        case prepare(PostgresConnection.StatementKey, name: String, Call)
        case statement(Call, index: Int)
        /// The end of a sync group: the implicit transaction of the statements at `covering` commits here.
        case sync(Call, last: Bool, covering: Range<Int>)
    }

    /// One connection in non-blocking pipeline mode.
    final class Link {
        let connection: PostgresConnection
        let socket: Int32
        /// Statements whose Prepare succeeded: later calls execute them by name.
        var prepared: [PostgresConnection.StatementKey: String] = [:]
        /// Prepares sent and not yet answered, with the call that sent each. Only that call uses the
        /// name before it is known to exist: the Prepare is in that call's sync group, which an error
        /// of that call may abort, and then every later statement of the group is aborted too.
        var preparing: [PostgresConnection.StatementKey: (name: String, by: Call)] = [:]
        var counter = 0
        var expected: [Expected] = []
        var head = 0
        /// True once the current statement's result was read; its closing NULL comes next.
        var resultRead = false
        var watchingWrites = false
        var pending: Int { expected.count - head }

        init(_ connection: PostgresConnection) {
            self.connection = connection
            self.socket = PQsocket(connection.rawHandle)
        }
    }

    /// A connection opened on a connect thread, handed to the I/O thread (which alone uses it after).
    struct Opened: @unchecked Sendable {
        let connection: PostgresConnection
    }

    let configuration: PostgresPool.Configuration
    let logger: Logger
    private let inbox = Mutex((
        calls: [Call](), connected: [(slot: Int, outcome: Result<Opened, PostgresError>)](), started: false, closed: false))
    /// A pipe: `submit` writes a byte to wake the thread, which reads them all. Nil if it could not be
    /// made: then every call fails at once, since nothing could wake the thread for it.
    private let wake: (read: Int32, write: Int32)?
    private var links: [Link?]
    /// The slot a connect thread is opening a connection for: one at a time.
    private var connecting: Int?
    /// Calls that came when no connection was open and one was being opened: sent when it is.
    private var waitingForConnection: [Call] = []
    /// When opening a connection last failed: for a second after, no connect is tried, and calls go
    /// to an open connection however busy, or fail at once if there is none (a caller falls back on a
    /// pool, or answers that the database is unavailable, and its client tries again), rather than
    /// each trying again while the database refuses or hangs.
    private var lastConnectFailure: ContinuousClock.Instant?

    init(configuration: PostgresPool.Configuration, connections: Int, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.links = Array(repeating: nil, count: connections)
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
            wake = (ends[0], ends[1])
        } else {
            logger.error("pipe failed: the driver refuses every call", metadata: ["errno": "\(errno)"])
            wake = nil
        }
    }

    deinit {
        if let wake {
            close(wake.read)
            close(wake.write)
        }
    }

    // MARK: - From any thread

    func submit(_ statements: [PostgresStatement], syncAfterEach: Bool) async throws(PostgresError)
        -> [Result<PostgresQueryResult, PostgresError>]
    {
        guard !statements.isEmpty else { return [] }
        // A NUL would make libpq cut the value short: refused before anything is sent.
        for statement in statements where statement.values.contains(where: { $0.format == .text && $0.bytes?.contains(0) == true }) {
            throw PostgresError(code: .characterNotInRepertoire, message: "a text parameter contains a NUL byte", statement: statement.sql)
        }
        guard wake != nil else {
            throw PostgresError(code: .connectionFailure, severity: "FATAL", message: "the driver has no wake-up pipe")
        }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let call = Call(statements, syncAfterEach: syncAfterEach, continuation)
            let (accepted, start, wasEmpty) = inbox.withLock { inbox -> (Bool, Bool, Bool) in
                guard !inbox.closed else { return (false, false, false) }
                let wasEmpty = inbox.calls.isEmpty && inbox.connected.isEmpty
                inbox.calls.append(call)
                defer { inbox.started = true }
                return (true, !inbox.started, wasEmpty)
            }
            guard accepted else {
                call.finish(.failure(PostgresError(code: .adminShutdown, severity: "FATAL", message: "the driver is closed")))
                return
            }
            if start {
                let thread = Thread { [self] in run() }
                thread.name = "PG-driver"
                thread.start()
            }
            if wasEmpty { signal() }
        }
        return try outcome.get()
    }

    func shutDown() {
        let wasOpen = inbox.withLock { inbox -> Bool in
            defer { inbox.closed = true }
            return !inbox.closed
        }
        if wasOpen { signal() }
    }

    private func signal() {
        guard let wake else { return }
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
    }

    // MARK: - On the I/O thread

    private func run() {
        guard let wake else { return stop() }
        var descriptors: [pollfd] = []
        var drained = [UInt8](repeating: 0, count: 256)
        while true {
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0))
            for link in links {
                guard let link else { continue }
                descriptors.append(pollfd(fd: link.socket, events: Int16(POLLIN | (link.watchingWrites ? POLLOUT : 0)), revents: 0))
            }
            if poll(&descriptors, nfds_t(descriptors.count), -1) < 0 {
                if errno == EINTR { continue }
                logger.error("poll failed", metadata: ["errno": "\(errno)"])
                break
            }
            for descriptor in descriptors.dropFirst() where descriptor.revents != 0 {
                guard let index = links.firstIndex(where: { $0?.socket == descriptor.fd }), let link = links[index] else { continue }
                if descriptor.revents & Int16(POLLOUT) != 0 { flush(link, at: index) }
                if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, links[index] === link { receive(link, at: index) }
            }
            if descriptors[0].revents != 0 {
                while read(wake.read, &drained, drained.count) > 0 {}
                let (calls, connected, closed) = inbox.withLock { inbox -> ([Call], [(slot: Int, outcome: Result<Opened, PostgresError>)], Bool) in
                    defer {
                        inbox.calls.removeAll(keepingCapacity: true)
                        inbox.connected.removeAll()
                    }
                    return (inbox.calls, inbox.connected, inbox.closed)
                }
                for (slot, outcome) in connected { opened(outcome, at: slot) }
                for call in calls { send(call) }
                if closed { break }
            }
        }
        stop()
    }

    /// Whatever ended the loop (a shutdown, a failed poll, no wake-up pipe): no call is accepted from
    /// now on, and every call accepted and not finished is failed, so that no caller waits forever.
    private func stop() {
        let (calls, _) = inbox.withLock { inbox -> ([Call], [(slot: Int, outcome: Result<Opened, PostgresError>)]) in
            inbox.closed = true
            defer {
                inbox.calls.removeAll()
                inbox.connected.removeAll()
            }
            return (inbox.calls, inbox.connected)
        }
        let closed = PostgresError(code: .adminShutdown, severity: "FATAL", message: "the driver is closed")
        for index in links.indices { drop(at: index, failing: closed, closing: true) }
        for call in waitingForConnection + calls { call.finish(.failure(closed)) }
        waitingForConnection.removeAll()
    }

    /// Where a call goes: the connection with the least in flight; or, when there is none, to wait for
    /// the one being opened. Every connection busy and a slot free starts opening one, unless a
    /// connect failed less than a second ago.
    private enum Route {
        case link(Link, Int)
        case waitForConnection
    }

    private func route() throws(PostgresError) -> Route {
        var best: (Link, Int)?
        for (index, link) in links.enumerated() {
            guard let link else { continue }
            if let current = best, current.0.pending <= link.pending { continue }
            best = (link, index)
        }
        if let best, best.0.pending == 0 { return .link(best.0, best.1) }
        let backingOff = lastConnectFailure.map { ContinuousClock.now - $0 < .seconds(1) } ?? false
        if connecting == nil, !backingOff, let free = links.firstIndex(where: { $0 == nil }) { startConnecting(slot: free) }
        if let best { return .link(best.0, best.1) }
        if connecting != nil { return .waitForConnection }
        throw PostgresError(code: .unableToEstablishConnection, severity: "FATAL", message: "the database could not be reached just now")
    }

    /// Opens a connection on a thread of its own (a connect can take up to the connect timeout, and
    /// a session setup longer), and hands it to the I/O thread through the inbox.
    private func startConnecting(slot: Int) {
        connecting = slot
        let configuration = configuration, logger = logger
        let thread = Thread { [self] in
            let outcome: Result<Opened, PostgresError>
            do throws(PostgresError) {
                let connection = try PostgresConnection(
                    conninfo: configuration.conninfo, applicationName: configuration.applicationName,
                    connectTimeoutSeconds: configuration.connectTimeoutSeconds, sessionSetup: configuration.sessionSetup, logger: logger)
                let handle = connection.rawHandle
                guard PQsetnonblocking(handle, 1) == 0, PQenterPipelineMode(handle) == 1 else {
                    throw connection.connectionError(statement: "<pipeline mode>")
                }
                outcome = .success(Opened(connection: connection))
            } catch {
                outcome = .failure(error)
            }
            // Once closed, the connection is dropped here (and closed with it).
            let accepted = inbox.withLock { inbox -> Bool in
                guard !inbox.closed else { return false }
                inbox.connected.append((slot, outcome))
                return true
            }
            if accepted { signal() }
        }
        thread.name = "PG-driver-connect"
        thread.start()
    }

    private func opened(_ outcome: Result<Opened, PostgresError>, at slot: Int) {
        connecting = nil
        let waiting = waitingForConnection
        waitingForConnection.removeAll()
        switch outcome {
        case .success(let opened):
            lastConnectFailure = nil
            links[slot] = Link(opened.connection)
            for call in waiting { send(call) }
        case .failure(let error):
            lastConnectFailure = .now
            // Info, as for a dropped connection: callers fall back on the pool, which reports it.
            logger.info("a driver connection could not be opened", metadata: ["error": "\(error)"])
            for call in waiting { call.finish(.failure(error)) }
        }
    }

    private func send(_ call: Call) {
        let chosen: (Link, Int)
        do {
            switch try route() {
            case .link(let link, let index): chosen = (link, index)
            case .waitForConnection:
                waitingForConnection.append(call)
                return
            }
        } catch {
            call.finish(.failure(error))
            return
        }
        let (link, index) = chosen
        let handle = link.connection.rawHandle
        var sent = true
        for (position, statement) in call.statements.enumerated() where sent {
            let key = PostgresConnection.StatementKey(sql: statement.sql, types: statement.values.map(\.type))
            var name = link.prepared[key]
            if name == nil, let inFlight = link.preparing[key], inFlight.by === call { name = inFlight.name }
            // While another call's Prepare of it is in flight, this one runs it unnamed: that Prepare
            // may yet be aborted by the other call's error.
            if name == nil, link.preparing[key] == nil, link.prepared.count + link.preparing.count < PostgresConnection.statementCacheLimit {
                link.counter += 1
                let fresh = "cpd_driver_\(link.counter)"
                let oids = key.types.map(\.rawValue)
                sent = oids.withUnsafeBufferPointer { PQsendPrepare(handle, fresh, key.sql, Int32(oids.count), $0.baseAddress) } == 1
                link.expected.append(.prepare(key, name: fresh, call))
                link.preparing[key] = (fresh, call)
                name = fresh
            }
            // Checked for NULs in `submit`: encoding cannot fail here.
            sent = sent && ((try? withParameterPointers(statement.values, statement: statement.sql) { count, types, pointers, lengths, formats in
                if let name {
                    PQsendQueryPrepared(handle, name, count, pointers, lengths, formats, 0)
                } else {
                    PQsendQueryParams(handle, statement.sql, count, types, pointers, lengths, formats, 0)
                }
            }) ?? 0) == 1
            link.expected.append(.statement(call, index: position))
            if call.syncAfterEach || position == call.statements.count - 1 {
                sent = sent && PQpipelineSync(handle) == 1
                let covering = call.syncAfterEach ? position..<(position + 1) : 0..<call.statements.count
                link.expected.append(.sync(call, last: position == call.statements.count - 1, covering: covering))
            }
        }
        guard sent else {
            drop(at: index, failing: link.connection.connectionError(statement: "<pipeline send>"))
            return
        }
        flush(link, at: index)
    }

    private func flush(_ link: Link, at index: Int) {
        let flushed = PQflush(link.connection.rawHandle)
        if flushed < 0 {
            drop(at: index, failing: link.connection.connectionError(statement: "<pipeline flush>"))
            return
        }
        link.watchingWrites = flushed == 1
    }

    /// Reads what has come in and hands each result to its call.
    private func receive(_ link: Link, at index: Int) {
        let handle = link.connection.rawHandle
        guard PQconsumeInput(handle) == 1 else {
            drop(at: index, failing: link.connection.connectionError(statement: nil))
            return
        }
        reading: while link.head < link.expected.count, PQisBusy(handle) == 0 {
            let result = PQgetResult(handle)
            switch link.expected[link.head] {
            case .sync(let call, let last, let covering):
                guard let result else {
                    // The NULL that ends a failed commit's error (below): the group's end comes next.
                    if link.resultRead { link.resultRead = false; continue }
                    break reading
                }
                let status = PQresultStatus(result)
                if status == PGRES_FATAL_ERROR {
                    // The group's implicit COMMIT failed (a deferred constraint, say): whatever its
                    // statements answered, none of it took effect.
                    let error = link.connection.error(from: result, statement: "COMMIT")
                    PQclear(result)
                    for position in covering { call.results[position] = .failure(error) }
                    link.resultRead = true
                    continue
                }
                PQclear(result)
                link.resultRead = false
                guard status == PGRES_PIPELINE_SYNC else {
                    drop(at: index, failing: PostgresError(code: .protocolViolation, message: "expected the end of a pipeline sync group"))
                    return
                }
                link.head += 1
                if last { complete(call) }
            case .prepare(let key, let name, let call):
                if link.resultRead {
                    // The statement's results end with a NULL.
                    if let result { PQclear(result) }
                    link.resultRead = false
                    link.head += 1
                    continue
                }
                guard let result else {
                    drop(at: index, failing: link.connection.connectionError(statement: key.sql))
                    return
                }
                link.resultRead = true
                // Named for later calls only now that it exists; if it does not, the next call prepares it again.
                if link.preparing[key]?.name == name { link.preparing[key] = nil }
                switch PQresultStatus(result) {
                case PGRES_COMMAND_OK:
                    PQclear(result)
                    link.prepared[key] = name
                case PGRES_PIPELINE_ABORTED:
                    PQclear(result)
                default:
                    call.abortedBy = call.abortedBy ?? link.connection.error(from: result, statement: key.sql)
                    PQclear(result)
                }
            case .statement(let call, let position):
                if link.resultRead {
                    if let result { PQclear(result) }
                    link.resultRead = false
                    link.head += 1
                    continue
                }
                let sql = call.statements[position].sql
                guard let result else {
                    drop(at: index, failing: link.connection.connectionError(statement: sql))
                    return
                }
                link.resultRead = true
                if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                    call.results[position] = .failure(call.abortedBy ?? PostgresError(
                        code: .pipelineAborted, message: "not run: an earlier statement in the pipeline failed", statement: sql))
                } else {
                    let outcome = Result { () throws(PostgresError) in try link.connection.consume(result, statement: sql) }
                    if case .failure(let error) = outcome {
                        call.abortedBy = call.abortedBy ?? error
                        if error.code == .invalidSQLStatementName { link.prepared = link.prepared.filter { $0.key.sql != sql } }
                    }
                    call.results[position] = outcome
                }
                // The next statement of an each-its-own-sync call is not aborted by this one's error.
                if call.syncAfterEach { call.abortedBy = nil }
            }
        }
        if link.head == link.expected.count {
            link.expected.removeAll(keepingCapacity: true)
            link.head = 0
        } else if link.head > 1024 {
            link.expected.removeFirst(link.head)
            link.head = 0
        }
        if PQstatus(handle) != CONNECTION_OK { drop(at: index, failing: link.connection.connectionError(statement: nil)) }
    }

    private func complete(_ call: Call) {
        call.finish(.success(call.results.map {
            $0 ?? .failure(PostgresError(code: .protocolViolation, message: "no result for a statement of the pipeline"))
        }))
    }

    /// Closes a connection and fails every call it carried; the next call opens another.
    private func drop(at index: Int, failing error: PostgresError, closing: Bool = false) {
        guard let link = links[index] else { return }
        links[index] = nil
        for expected in link.expected[link.head...] {
            switch expected {
            case .prepare(_, _, let call), .statement(let call, _), .sync(let call, _, _): call.finish(.failure(error))
            }
        }
        link.expected.removeAll()
        // Info, not a warning: its callers fall back on the pool, which reports an unreachable database.
        if !closing { logger.info("a driver connection was dropped", metadata: ["error": "\(error)"]) }
    }
}
