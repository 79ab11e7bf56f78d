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

    public func run() async throws {
        let path = configuration.socketPath
        try SocketPlacement.prepare(path: path, directoryMode: configuration.directoryMode)
        let lineLimit = configuration.lineLimit
        let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000
            + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        let stall = TimeAmount.nanoseconds(Int64(configuration.outputStallTimeout.components.seconds) * 1_000_000_000
            + configuration.outputStallTimeout.components.attoseconds / 1_000_000_000)
        let services = ConnectionServices(
            resolver: resolver, runner: runner, lineLimit: lineLimit,
            limits: AnswerQueue.Limits(soft: configuration.outputSoftLimit, hard: configuration.outputHardLimit), stall: stall,
            logger: logger)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // A client that sends its requests and then shuts down its writing side (`printf ... | socat`,
            // `nc -U -N`) still gets every answer: end of input ends the request stream, not the connection.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Each connection asks for more requests only while it may take them (`ConnectionHandler`).
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                guard let options = channel as? SocketOptionProvider else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
                }
                return options.unsafeGetSocketOption(
                    level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
                ).flatMapThrowing { (credentials: KernelPeerCredentials) in
                    let peer = PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
                    let admitted = self.admit(peer.uid)
                    channel.closeFuture.whenComplete { _ in if admitted { self.release(peer.uid) } }
                    let framing = LineFrameDecoder.Closing()
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(limit: lineLimit, closing: framing)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(services: services, peer: peer, admitted: admitted, framing: framing))
                    // Only now: a shutdown already under way must find the handler to tell.
                    self.opened(channel)
                    channel.closeFuture.whenComplete { _ in self.closed(channel) }
                }
            }
            .bind(unixDomainSocketPath: path).get()
        defer { unlink(path) }
        guard chmod(path, configuration.socketMode) == 0 else {
            try? await server.close()
            throw SocketPlacementError(description: "cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
        if let groupName = configuration.socketGroup {
            guard let group = getgrnam(groupName), chown(path, uid_t.max, group.pointee.gr_gid) == 0 else {
                try? await server.close()
                throw SocketPlacementError(description: "cannot give \(path) to the group \(groupName): no such group, or \(String(cString: strerror(errno)))")
            }
        }
        logger.notice("cpdd ready", metadata: ["socket": "\(path)", "version": "\(CPDVersion.current)"])
        ready?()

        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await server.closeFuture.get()
                // Every connection answers what it has read, then closes.
                await self.drained()
            } onCancel: {
                server.close(promise: nil as EventLoopPromise<Void>?)
                self.closeEveryConnection()
            }
        } onGracefulShutdown: {
            // Stop accepting; each connection stops reading, answers what it read, and closes.
            server.close(promise: nil as EventLoopPromise<Void>?)
            self.shutDownEveryConnection()
        }
        logger.info("admin socket closed", metadata: ["socket": "\(path)"])
    }

    // MARK: - Open connections, for shutdown

    private let open = Mutex((channels: [ObjectIdentifier: any Channel](), shuttingDown: false, waiters: [CheckedContinuation<Void, Never>]()))

    private func opened(_ channel: any Channel) {
        let late = open.withLock { state -> Bool in
            state.channels[ObjectIdentifier(channel)] = channel
            return state.shuttingDown
        }
        if late { channel.pipeline.fireUserInboundEventTriggered(ShutdownEvent()) }
    }

    private func closed(_ channel: any Channel) {
        let waiters = open.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.channels[ObjectIdentifier(channel)] = nil
            guard state.channels.isEmpty else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    private func shutDownEveryConnection() {
        let channels = open.withLock { state -> [any Channel] in
            state.shuttingDown = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(ShutdownEvent()) }
    }

    private func closeEveryConnection() {
        let channels = open.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Returns once no connection is open.
    private func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = open.withLock { state -> Bool in
                guard !state.channels.isEmpty else { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
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
        let lines = buffer.withUnsafeReadableBytes { framer.feed($0) }
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
