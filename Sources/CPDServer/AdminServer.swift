import AdminProtocol
import CPDCore
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

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
    }

    public func run() async throws {
        let path = configuration.socketPath
        try SocketPlacement.prepare(path: path, directoryMode: configuration.directoryMode)
        let lineLimit = configuration.lineLimit
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
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(limit: lineLimit)))
                    return AcceptedConnection(
                        peer: PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid),
                        channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel))
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

    private func serve(_ connection: AcceptedConnection) async {
        let channel = connection.channel.channel
        var connectionLogger = logger
        connectionLogger[metadataKey: "peer"] = "uid=\(connection.peer.uid) pid=\(connection.peer.pid)"
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await connection.channel.executeThenClose { inbound, outbound in
                    let found: Principal?
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
                    for try await frame in inbound {
                        switch session.step(for: frame) {
                        case nil:
                            continue
                        case .reply(let reply):
                            try await outbound.write(Self.buffer(reply.lines))
                            if reply.closeAfterwards { return }
                        case .execute(let request, let spec):
                            let lines = await runner?.run(request, spec, as: principal, json: session.json)
                                ?? [ResponseLine.err(.unavailable, "this cpdd has no database")]
                            try await outbound.write(Self.buffer(lines))
                        }
                    }
                }
            } onCancelOrGracefulShutdown: {
                channel.close(promise: nil as EventLoopPromise<Void>?)
            }
        } catch {
            connectionLogger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    static func buffer(_ lines: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for line in lines {
            buffer.writeString(line)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }
}

/// Frames the byte stream into lines with `LineFramer`, which bounds what is held per connection.
final class LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = FramedLine
    private var framer: LineFramer

    init(limit: Int) {
        framer = LineFramer(limit: limit)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let lines = framer.feed(buffer.readableBytesView)
        buffer.moveReaderIndex(to: buffer.writerIndex)
        for line in lines { context.fireChannelRead(wrapInboundOut(line)) }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        return .needMoreData
    }
}
