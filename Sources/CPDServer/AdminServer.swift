import AdminProtocol
import CPDCore
import CPDStore
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The admin socket: accepts connections on a Unix domain socket, identifies each peer by its kernel
/// credentials, and answers requests one line at a time, in order. Runs as a `Service`: on graceful
/// shutdown it stops accepting, closes its connections, and removes the socket file.
public final class AdminServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// The socket file's mode: 0660 lets the daemon's account and group connect.
        public var socketMode: mode_t = 0o660
        /// The socket file's group (the accounts that may connect are its members); nil keeps the daemon's.
        public var socketGroup: String? = nil
        /// The mode of the socket's directory if it has to be created.
        public var directoryMode: mode_t = 0o750
        public var lineLimit: Int = 16 * 1024
        /// Connections open at once, in all and per Unix account; past either the peer gets `ERR busy`
        /// and the connection closes.
        public var maxConnections: Int = 1024
        public var maxConnectionsPerAccount: Int = 64
        /// A connection that sends nothing for this long is closed.
        public var idleTimeout: Duration = .seconds(900)
        /// Answers made but not yet written, per connection (a client that does not read its answers):
        /// past the soft bound no more requests are read until they are written; past the hard bound,
        /// or over the soft bound for the stall time, the connection is closed.
        public var outputSoftLimit: Int = 1 << 20
        public var outputHardLimit: Int = 16 << 20
        public var outputStallTimeout: Duration = .seconds(60)

        public init(socketPath: String) {
            self.socketPath = socketPath
        }
    }

    public let configuration: Configuration
    private let resolver: PrincipalResolver
    private let runner: CommandRunner?
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let ready: (@Sendable () -> Void)?
    private let connections = Mutex((total: 0, perAccount: [UInt32: Int]()))

    /// - Parameter ready: called once the socket accepts connections (cpdd logs readiness there).
    public init(
        configuration: Configuration, resolver: PrincipalResolver = PrincipalResolver(), runner: CommandRunner? = nil,
        logger: Logger = Logger(label: "cpd.server"), group: MultiThreadedEventLoopGroup = .singleton,
        ready: (@Sendable () -> Void)? = nil
    ) {
        self.configuration = configuration
        self.resolver = resolver
        self.runner = runner
        self.logger = logger
        self.group = group
        self.ready = ready
    }

    struct AcceptedConnection: Sendable {
        var peer: PeerCredentials
        var channel: NIOAsyncChannel<FramedLine, ByteBuffer>
        var framing: LineFrameDecoder.Closing
    }

    public func run() async throws {
        let path = configuration.socketPath
        try SocketPlacement.prepare(path: path, directoryMode: configuration.directoryMode)
        let lineLimit = configuration.lineLimit
        let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000
            + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // A client that sends its requests and then shuts down its writing side (`printf ... | socat`,
            // `nc -U -N`) still gets every answer: end of input ends the request stream, not the connection.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: path) { channel -> EventLoopFuture<AcceptedConnection> in
                guard let options = channel as? SocketOptionProvider else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported) as EventLoopFuture<AcceptedConnection>
                }
                return options.unsafeGetSocketOption(
                    level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
                ).flatMapThrowing { (credentials: KernelPeerCredentials) in
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    let framing = LineFrameDecoder.Closing()
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(limit: lineLimit, closing: framing)))
                    return AcceptedConnection(
                        peer: PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid),
                        channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), framing: framing)
                }
            }
        defer { unlink(path) }
        guard chmod(path, configuration.socketMode) == 0 else {
            try? await server.channel.close()
            throw SocketPlacementError(description: "cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
        if let groupName = configuration.socketGroup {
            guard let group = getgrnam(groupName), chown(path, uid_t.max, group.pointee.gr_gid) == 0 else {
                try? await server.channel.close()
                throw SocketPlacementError(description: "cannot give \(path) to the group \(groupName): no such group, or \(String(cString: strerror(errno)))")
            }
        }
        logger.notice("cpdd ready", metadata: ["socket": "\(path)", "version": "\(CPDVersion.current)"])
        ready?()

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; each connection closes itself on the same signal.
            server.channel.close(promise: nil as EventLoopPromise<Void>?)
        }
        logger.info("admin socket closed", metadata: ["socket": "\(path)"])
    }

    /// Takes a place for a new connection, or nil when the server or the account is at its limit.
    private func admit(_ uid: UInt32) -> Bool {
        connections.withLock { state in
            let mine = state.perAccount[uid, default: 0]
            guard state.total < configuration.maxConnections, mine < configuration.maxConnectionsPerAccount else { return false }
            state.total += 1
            state.perAccount[uid] = mine + 1
            return true
        }
    }

    private func release(_ uid: UInt32) {
        connections.withLock { state in
            state.total -= 1
            let left = state.perAccount[uid, default: 1] - 1
            state.perAccount[uid] = left == 0 ? nil : left
        }
    }

    private func serve(_ connection: AcceptedConnection) async {
        let channel = connection.channel.channel
        var connectionLogger = logger
        connectionLogger[metadataKey: "peer"] = "uid=\(connection.peer.uid) pid=\(connection.peer.pid)"
        guard admit(connection.peer.uid) else {
            connectionLogger.notice("refused a connection over the limit")
            try? await connection.channel.executeThenClose { _, outbound in
                try await outbound.write(Self.buffer([ResponseLine.err(.busy, "too many connections; try again later")]))
            }
            return
        }
        defer { release(connection.peer.uid) }
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await connection.channel.executeThenClose { inbound, outbound in
                    let found: Principal?
                    // Taken before the look-up: a change to the principals made meanwhile gives a later stamp.
                    let stamp = resolver.isBuiltIn(connection.peer) ? nil : await resolver.changes?.stamp()
                    do {
                        found = try await resolver.principal(for: connection.peer)
                    } catch {
                        connectionLogger.warning("cannot look up a principal", metadata: ["error": "\(error)"])
                        try await outbound.write(Self.buffer([ResponseLine.err(.unavailable, "the database cannot be reached; try again")]))
                        return
                    }
                    guard let principal = found else {
                        connectionLogger.notice("refused a peer with no principal", metadata: ["account": "\(connection.peer.accountName)"])
                        try await outbound.write(Self.buffer([
                            ResponseLine.err(.permissionDenied, "no principal for account \(connection.peer.accountName) (uid \(connection.peer.uid))")
                        ]))
                        return
                    }
                    var session = Session(principal: principal, lineLimit: configuration.lineLimit)
                    try await outbound.write(Self.buffer([session.greeting]))
                    var identity = ConnectionIdentity(peer: connection.peer, principal: principal, stamp: stamp)
                    try await answer(inbound, outbound, &session, &identity, channel: channel, logger: connectionLogger)
                }
            } onCancelOrGracefulShutdown: {
                // Stop reading: what was already read is answered, then the connection closes. The
                // service group's shutdown bound cancels anything that takes longer.
                // A line cut off by this close is not a request the client finished sending.
                connection.framing.closingHere()
                channel.close(mode: .input, promise: nil as EventLoopPromise<Void>?)
            }
        } catch {
            connectionLogger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Requests in flight on one connection before it stops reading ahead.
    static let readAhead = 256
    /// Bytes of one answer handed to the socket at a time.
    static let writeChunk = 64 * 1024

    /// Answers one connection's requests, in order. Requests are read ahead: consecutive
    /// `completion.record` requests go to the group-commit batcher together, while any other command
    /// first waits for everything before it (a script that adds a practitioner and then records a
    /// completion for them must see them added). Answers are written strictly in request order.
    ///
    /// What is answered but not yet written is counted (`OutputBacklog`): a client that sends and never
    /// reads makes the reader stop reading, and then has its connection closed, instead of having its
    /// answers pile up in cpdd.
    private func answer(
        _ inbound: NIOAsyncChannelInboundStream<FramedLine>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ session: inout Session, _ identity: inout ConnectionIdentity, channel: Channel, logger: Logger
    ) async throws {
        let principal = identity.principal
        let (answers, queue) = AsyncStream<Answer>.makeStream()
        let runner = self.runner
        let backlog = OutputBacklog(limits: .init(
            soft: configuration.outputSoftLimit, hard: configuration.outputHardLimit, stall: configuration.outputStallTimeout))
        @Sendable func overflow(_ why: String) {
            guard backlog.close() else { return }
            logger.notice("closed a connection that does not read its answers", metadata: [
                "why": "\(why)", "unwritten": "\(backlog.bytes)",
            ])
            channel.close(promise: nil as EventLoopPromise<Void>?)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // However the writer ends (the client went away), a reader waiting for it to drain
                // the backlog is let go at once.
                defer { _ = backlog.close() }
                var place = 0
                for await answer in answers {
                    defer { place += 1 }
                    let lines: [String]
                    switch answer {
                    case .ready(let ready):
                        lines = ready  // counted when it was queued
                    case .pending(let task):
                        lines = await task.value  // counted when it finished
                    }
                    // Returns once the socket has room (NIO's write-buffer watermarks), so what waits
                    // here is in the backlog, not in NIO's buffers. A long answer (a report of every
                    // member) goes in pieces, so the backlog shows the client's progress through it.
                    // Each piece is counted as handed over before it is written: once the client has
                    // read an answer, the backlog no longer holds it.
                    guard !lines.isEmpty else {
                        backlog.handOver(0, of: place, last: true)
                        continue
                    }
                    var start = lines.startIndex
                    while start < lines.endIndex {
                        var end = start, size = 0
                        while end < lines.endIndex, size < Self.writeChunk {
                            size += lines[end].utf8.count + 1
                            end += 1
                        }
                        backlog.handOver(size, of: place, last: end == lines.endIndex)
                        try await outbound.write(Self.buffer(Array(lines[start..<end])))
                        start = end
                    }
                }
            }
            /// The place in request order of the next answer queued (the writer counts the same way).
            var nextPlace = 0
            /// Queues lines known now; false when the backlog is past its hard bound. Counted before
            /// the writer can take them.
            func queueReady(_ lines: [String]) -> Bool {
                let fits = backlog.add(OutputBacklog.size(lines), at: nextPlace)
                nextPlace += 1
                queue.yield(.ready(lines))
                return fits
            }
            var barrier: Task<[String], Never>? = nil
            var batchedSinceBarrier: [Task<[String], Never>] = []
            var lastEnqueued: Task<CompletionPromise, Never>? = nil
            var inFlight: [Task<[String], Never>] = []
            let unfinished = Counter()
            reading: for try await frame in inbound {
                // Over the soft bound: read nothing more until the client has read enough. (Checked
                // first without waiting: this runs once per request.)
                if backlog.bytes > configuration.outputSoftLimit {
                    guard await backlog.drained() else {
                        overflow("over the soft bound for \(configuration.outputStallTimeout)")
                        break reading
                    }
                }
                let task: Task<[String], Never>
                switch session.step(for: frame) {
                case nil:
                    continue
                case .reply(let reply):
                    // Answered by the session alone (ping, help, a refusal): no task to wait for.
                    if let refused = reply.refused { runner?.noteRefusal(refused, by: principal) }
                    guard queueReady(reply.lines) else {
                        overflow("past the hard bound")
                        break reading
                    }
                    if reply.closeAfterwards { break reading }
                    continue
                case .execute(let command, let definition):
                    if let refusal = await recheck(&identity) {
                        runner?.noteRefusal(Session.Refusal(command: definition.name, error: refusal.error), by: principal)
                        guard queueReady([refusal.error.line]), !refusal.close else { break reading }
                        continue
                    }
                    let json = session.json
                    guard let runner else {
                        task = Task { [ResponseLine.err(.unavailable, "this cpdd has no database")] }
                        break
                    }
                    if definition.effect == .batchedWrite, let (completion, explain) = runner.completion(command, as: principal) {
                        // Completions reach the batcher in request order: each is enqueued after the
                        // one before it (and after any other command before it), then waits for its
                        // batch to commit.
                        let before = barrier
                        let previous = lastEnqueued
                        let enqueued = Task { () -> CompletionPromise in
                            _ = await before?.value
                            _ = await previous?.value
                            return runner.enqueue(completion)
                        }
                        lastEnqueued = enqueued
                        unfinished.add(1)
                        task = Task {
                            defer { unfinished.add(-1) }
                            return runner.answer(await enqueued.value.outcome, explain: explain, json: json, by: principal)
                        }
                        batchedSinceBarrier.append(task)
                    } else if unfinished.value == 0, !definition.runsApart {
                        // Nothing before it is still running (the usual case for a client that waits
                        // for each answer): run it here rather than in a task of its own, which saves
                        // a thread hand-off per request. It would wait for everything before it anyway.
                        // (The report, minutes long and on two connections, keeps a task of its own,
                        // out of reach of the connection's cancellation.)
                        let lines = await runner.run(command, definition, as: principal, json: json)
                        if definition.changesPrincipals { resolver.changes?.noteChange() }
                        guard queueReady(lines) else {
                            overflow("past the hard bound")
                            break reading
                        }
                        barrier = nil
                        batchedSinceBarrier = []
                        continue
                    } else {
                        let before = [barrier].compactMap { $0 } + batchedSinceBarrier
                        let changes = definition.changesPrincipals ? resolver.changes : nil
                        unfinished.add(1)
                        task = Task {
                            defer { unfinished.add(-1) }
                            for earlier in before { _ = await earlier.value }
                            let lines = await runner.run(command, definition, as: principal, json: json)
                            // Before the answer goes out: once the admin reads OK, the change holds on every connection.
                            changes?.noteChange()
                            return lines
                        }
                        barrier = task
                        batchedSinceBarrier = []
                    }
                }
                // Counted as soon as it is answered, not when the writer reaches it: behind a write
                // the client does not read, finished answers would otherwise pile up unseen.
                let answered = task
                let place = nextPlace
                nextPlace += 1
                queue.yield(.pending(Task {
                    let lines = await answered.value
                    if !backlog.add(OutputBacklog.size(lines), at: place) { overflow("past the hard bound") }
                    return lines
                }))
                inFlight.append(task)
                if inFlight.count >= Self.readAhead {
                    // Bounded read-ahead: wait for the oldest half before reading more, and forget them
                    // (a connection that only records completions would otherwise keep every task).
                    let done = Set(inFlight.prefix(Self.readAhead / 2))
                    for task in done { _ = await task.value }
                    inFlight.removeFirst(Self.readAhead / 2)
                    batchedSinceBarrier.removeAll { done.contains($0) }
                }
            }
            queue.finish()
            try await group.waitForAll()
        }
    }

    /// Who is on a connection, and the stamp of the principals its principal was resolved at (nil
    /// for root and cpdd's own account, which are admin whatever the principals say).
    struct ConnectionIdentity: Sendable {
        var peer: PeerCredentials
        var principal: Principal
        var stamp: PrincipalChanges.Stamp?
    }

    /// Before a request that reaches the database: when the principals changed since this
    /// connection's principal was resolved, resolves it again. Nil to go on; otherwise the answer,
    /// and whether the connection then closes (its principal was removed or changed: a connection
    /// never goes on under a principal other than the one its greeting named).
    private func recheck(_ identity: inout ConnectionIdentity) async -> (error: CommandError, close: Bool)? {
        guard let stamp = identity.stamp, let changes = resolver.changes else { return nil }
        let now = await changes.stamp()
        guard now != stamp else { return nil }
        let current: Principal?
        do {
            current = try await resolver.principal(for: identity.peer)
        } catch {
            logger.warning("cannot look up a principal again", metadata: ["error": "\(error)"])
            return (CommandError(.unavailable, "the database cannot be reached; try again"), false)
        }
        guard let current else {
            logger.notice("closed a connection whose principal was removed", metadata: ["account": "\(identity.principal.name)"])
            return (CommandError(.permissionDenied, "the principal for account \(identity.principal.name) was removed"), true)
        }
        guard current == identity.principal else {
            return (CommandError(.permissionDenied, "the principal for account \(identity.principal.name) changed; connect again"), true)
        }
        identity.stamp = now
        return nil
    }

    /// How many of a connection's request tasks have not finished.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func add(_ n: Int) { count.add(n, ordering: .sequentiallyConsistent) }
        var value: Int { count.load(ordering: .sequentiallyConsistent) }
    }

    /// An answer in the writer's queue: lines already known, or a task that will give them.
    enum Answer: Sendable {
        case ready([String])
        case pending(Task<[String], Never>)
    }

    static func buffer(_ lines: [String]) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        for line in lines { ResponseLine.wireBytes(line, into: &bytes) }
        return ByteBuffer(bytes: bytes)
    }
}

/// Frames the byte stream into lines with `LineFramer`, which bounds what is held per connection.
final class LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = FramedLine
    private var framer: LineFramer
    private let closing: Closing

    /// Set when cpdd itself stops reading (shutdown): the end of input is then not the client's, and
    /// a partial last line is dropped rather than taken for a request.
    final class Closing: Sendable {
        private let here = Atomic<Bool>(false)
        func closingHere() { here.store(true, ordering: .sequentiallyConsistent) }
        var isHere: Bool { here.load(ordering: .sequentiallyConsistent) }
    }

    init(limit: Int, closing: Closing = Closing()) {
        framer = LineFramer(limit: limit)
        self.closing = closing
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let lines = framer.feed(buffer.readableBytesView)
        buffer.moveReaderIndex(to: buffer.writerIndex)
        for line in lines { context.fireChannelRead(wrapInboundOut(line)) }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        // The client shut down its side after a last line without LF: still a request.
        if seenEOF, !closing.isHere, let last = framer.finish() { context.fireChannelRead(wrapInboundOut(last)) }
        return .needMoreData
    }
}

/// Closes a connection that has sent nothing for the idle timeout.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
