import AdminProtocol
import CPDCore
import CPDStore
import Logging
import NIOCore

/// What every connection of one server shares.
struct ConnectionServices: Sendable {
    var resolver: PrincipalResolver
    var runner: CommandRunner?
    var lineLimit: Int
    var limits: AnswerQueue.Limits
    var stall: TimeAmount
    var logger: Logger
}

/// Sent down a connection's pipeline when cpdd shuts down: read nothing more, answer what was
/// read, then close.
struct ShutdownEvent: Sendable {}

/// One connection, on its event loop. Frames come in from `LineFrameDecoder`; the `Session` reads
/// each into a typed command; session commands (`ping`, `whoami`, `help`, `format`, `quit`) and
/// refusals are answered here, without leaving the event loop; commands that need the registry run
/// in a task of their own and their answers come back to the event loop. The order of the answers
/// is decided here (`AnswerQueue`): strictly the order of the requests.
///
/// Requests are read ahead (at most `readAhead` running): consecutive `completion.record`
/// requests go to the group-commit batcher together, each enqueued after the one before it, while
/// any other command that needs the registry first waits for everything before it (a script that
/// adds a practitioner and then records a completion for them must see them added). Reading is
/// manual (autoRead off): cpdd asks for more only while the answers made and not yet written are
/// within the soft bound; over it for the stall time with nothing written, or with answers piled
/// past the hard bound, the connection is closed.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    /// Requests running at once on one connection before it stops reading.
    static let readAhead = 256
    /// Bytes of one answer handed to the socket at a time, so that a long answer read slowly shows
    /// progress.
    static let writeChunk = 64 * 1024

    private let services: ConnectionServices
    private let peer: PeerCredentials
    private let admitted: Bool
    private let framing: LineFrameDecoder.Closing
    private var logger: Logger

    private enum Phase { case resolving, serving, done }
    private var phase = Phase.resolving
    private var session: Session?
    private var principal: ConnectionPrincipal?
    /// Frames read and not yet taken: while the principal is looked up, and while the connection
    /// is over its soft bound or at its read-ahead (one read of the socket can hold thousands).
    private var frames: [FramedLine] = []
    private var nextFrame = 0
    /// In `takeFrames`: answers made meanwhile are written without taking more frames.
    private var taking = false
    private var queue: AnswerQueue
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var inputClosed = false
    /// After `quit`, or a refusal that closes the connection: nothing more is read or run.
    private var stopped = false
    /// In `channelRead`: answers made now are flushed once, at `channelReadComplete`.
    private var inRead = false
    /// Written and not yet flushed.
    private var unflushed = false
    private var stallWatch: Scheduled<Void>?

    // The order of commands that need the registry (see the type's comment).
    private var barrier: Task<Void, Never>?
    private var batchedSinceBarrier: [Task<Void, Never>] = []
    private var lastEnqueued: Task<CompletionPromise?, Never>?
    private var lastCheck: Task<Recheck, Never>?
    /// The last command that changes the principals: the re-checks of later requests wait for it.
    private var lastPrincipalChange: Task<Void, Never>?

    init(services: ConnectionServices, peer: PeerCredentials, admitted: Bool, framing: LineFrameDecoder.Closing) {
        self.services = services
        self.peer = peer
        self.admitted = admitted
        self.framing = framing
        self.queue = AnswerQueue(limits: services.limits)
        var logger = services.logger
        logger[metadataKey: "peer"] = "uid=\(peer.uid) pid=\(peer.pid)"
        self.logger = logger
    }

    // MARK: - Events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .done else { return }
        frames.append(unwrapInboundIn(data))
        if phase == .serving {
            inRead = true
            takeFrames()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readPending = false
        inRead = false
        pump(flush: true)
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(flush: true)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            // Read nothing more; what was read is answered (once the principal is known, when it is
            // still being looked up), then the connection closes. A line cut off by this close is not
            // a request the client finished sending.
            framing.closingHere()
            if phase != .done { context.close(mode: .input, promise: nil) }
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client shut down its side (or cpdd stopped reading): answer what was read, then close.
            // (The last line, framed at the end of input, came without a read completing.)
            inputClosed = true
            inRead = false
            if phase == .resolving { return }
            pump(flush: true)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection ended", metadata: ["error": "\(error)"])
        close()
    }

    // MARK: - The principal

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard admitted else {
            logger.notice("refused a connection over the limit")
            write([ResponseLine.err(.busy, "too many connections; try again later")])
            closeAfterWriting()
            return
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let resolver = services.resolver
        let peer = self.peer
        Task {
            // Taken before the look-up: a change to the principals made meanwhile gives a later stamp.
            let stamp = resolver.isBuiltIn(peer) ? nil : await resolver.changes?.stamp()
            let found: Result<Principal?, any Error>
            do {
                found = .success(try await resolver.principal(for: peer))
            } catch {
                found = .failure(error)
            }
            loop.execute { bound.value.resolved(found, stamp: stamp) }
        }
        wantRead()
    }

    private func resolved(_ found: Result<Principal?, any Error>, stamp: PrincipalChanges.Stamp?) {
        guard phase == .resolving, let context else { return }
        switch found {
        case .failure(let error):
            logger.warning("cannot look up a principal", metadata: ["error": "\(error)"])
            write([ResponseLine.err(.unavailable, "the database cannot be reached; try again")])
            closeAfterWriting()
        case .success(nil):
            logger.notice("refused a peer with no principal", metadata: ["account": "\(peer.accountName)"])
            write([ResponseLine.err(.permissionDenied, "no principal for account \(peer.accountName) (uid \(peer.uid))")])
            closeAfterWriting()
        case .success(let principal?):
            let session = Session(principal: principal, lineLimit: services.lineLimit)
            self.session = session
            self.principal = ConnectionPrincipal(
                ConnectionIdentity(peer: peer, principal: principal, stamp: stamp), resolver: services.resolver, logger: logger)
            phase = .serving
            write([session.greeting])
            inRead = true
            takeFrames()
            inRead = false
            pump(flush: true)  // the greeting too
        }
    }

    // MARK: - Requests

    /// Takes the frames read, in order, while the connection may run more: within the soft bound
    /// and the read-ahead.
    private func takeFrames() {
        guard !taking else { return }
        taking = true
        defer { taking = false }
        while nextFrame < frames.count, phase == .serving, !stopped, !queue.overSoftBound, queue.running < Self.readAhead {
            let frame = frames[nextFrame]
            nextFrame += 1
            handle(frame)
        }
        if nextFrame == frames.count || stopped {
            frames.removeAll(keepingCapacity: frames.capacity <= 1024)
            nextFrame = 0
        }
    }

    private func handle(_ frame: FramedLine) {
        guard !stopped, var session, let context else { return }
        let step = session.step(for: frame)
        self.session = session
        switch step {
        case nil:
            return
        case .reply(let reply):
            if let refused = reply.refused { services.runner?.noteRefusal(refused, by: session.principal) }
            if reply.closeAfterwards { stopped = true }
            answered(queue.reserve(), reply.lines, closeAfter: reply.closeAfterwards)
        case .execute(let command, let definition):
            let place = queue.reserve()
            guard let runner = services.runner else {
                answered(place, [ResponseLine.err(.unavailable, "this cpdd has no database")])
                return
            }
            run(command, definition, at: place, runner: runner, session: session, loop: context.eventLoop)
        }
    }

    /// Starts a command that needs the registry, in order (see the type's comment), after the
    /// re-check of the principal; its answer comes back to the event loop for `place`.
    private func run(
        _ command: StoreCommand, _ definition: CommandDefinition, at place: Int, runner: CommandRunner, session: Session, loop: EventLoop
    ) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let who = session.principal
        let json = session.json
        @Sendable func deliver(_ lines: [String], closeAfter: Bool = false) {
            loop.execute { bound.value.answered(place, lines, closeAfter: closeAfter) }
        }
        /// The re-check's refusal as the answer (nil: go on).
        @Sendable func refusal(_ check: Recheck) -> (lines: [String], close: Bool)? {
            switch check {
            case .go: return nil
            case .stopped: return ([], false)
            case .refuse(let error, let close):
                runner.noteRefusal(Session.Refusal(command: definition.name, error: error), by: who)
                return ([error.line], close)
            }
        }
        // The re-check, in request order; none for root and cpdd's own account (a task fewer per
        // request). A request after one that changes the principals is checked once that one has
        // run (a pipelined principal.remove of the sender's own account, then a write, must not write).
        let check: Task<Recheck, Never>?
        if let identity = principal, !identity.isBuiltIn {
            let previousCheck = lastCheck
            let principalsChanging = lastPrincipalChange
            check = Task<Recheck, Never> {
                switch await previousCheck?.value {
                case .refuse(_, close: true), .stopped: return .stopped
                default:
                    await principalsChanging?.value
                    return await identity.recheck()
                }
            }
            lastCheck = check
        } else {
            check = nil
        }

        if definition.effect == .batchedWrite, let (completion, explain) = runner.completion(command, as: who) {
            // Completions reach the batcher in request order: each is enqueued after the one before
            // it (and after any other command before it), then waits for its batch to commit.
            let before = barrier
            let previous = lastEnqueued
            let enqueued = Task<CompletionPromise?, Never> {
                _ = await before?.value
                _ = await previous?.value
                guard case .go = await check?.value ?? .go else { return nil }
                return runner.enqueue(completion)
            }
            lastEnqueued = enqueued
            let work = Task<Void, Never> {
                if let (lines, close) = refusal(await check?.value ?? .go) { return deliver(lines, closeAfter: close) }
                guard let promise = await enqueued.value else { return deliver([]) }
                deliver(runner.answer(await promise.outcome, explain: explain, json: json, by: who))
            }
            batchedSinceBarrier.append(work)
            if batchedSinceBarrier.count > Self.readAhead {
                // A connection that only records completions would otherwise keep every task.
                let earlier = batchedSinceBarrier
                batchedSinceBarrier = [Task { for task in earlier { await task.value } }]
            }
        } else {
            let before = [barrier].compactMap { $0 } + batchedSinceBarrier
            let changes = definition.changesPrincipals ? services.resolver.changes : nil
            let work = Task<Void, Never> {
                for earlier in before { await earlier.value }
                if let (lines, close) = refusal(await check?.value ?? .go) { return deliver(lines, closeAfter: close) }
                let lines = await runner.run(command, definition, as: who, json: json)
                // Before the answer goes out: once the admin reads OK, the change holds on every connection.
                changes?.noteChange()
                deliver(lines)
            }
            barrier = work
            batchedSinceBarrier = []
            if definition.changesPrincipals { lastPrincipalChange = work }
        }
    }

    /// The answer for `place` is made.
    private func answered(_ place: Int, _ lines: [String], closeAfter: Bool = false) {
        guard phase == .serving else { return }
        if closeAfter { stopped = true }
        guard queue.fill(place, lines, closeAfter: closeAfter) else {
            return overflow("past the hard bound")
        }
        // Within a read, or while taking frames already read, one flush comes at the end.
        pump(flush: !inRead && !taking)
    }

    // MARK: - Writing and reading

    /// Writes what can leave now, in order, while the socket takes it.
    private func pump(flush: Bool) {
        guard phase == .serving, let context else { return }
        while context.channel.isWritable, let piece = queue.nextPiece(chunk: Self.writeChunk) {
            if piece.bytes > 0 { write(piece.lines) }
            if piece.closesConnection { return closeAfterWriting() }
        }
        if frames.count > nextFrame { takeFrames() }
        if (inputClosed || stopped) && queue.isEmpty && frames.count == nextFrame { return closeAfterWriting() }
        if flush && unflushed {
            unflushed = false
            context.flush()
        }
        // Over the soft bound, whatever the reading: a client that stops reading is closed after the
        // stall time, not the idle timeout.
        if queue.overSoftBound { watchForStall() }
        wantRead()
    }

    /// Asks for more requests when the connection may take them.
    private func wantRead() {
        guard let context, phase != .done, !readPending, !inputClosed, !stopped else { return }
        if phase == .serving && queue.overSoftBound { return watchForStall() }
        // Frames not yet taken are read already: read more once they are.
        guard frames.count == nextFrame || (phase == .resolving && frames.count < Self.readAhead) else { return }
        guard queue.running < Self.readAhead else { return }
        readPending = true
        context.read()
    }

    /// Over the soft bound: should nothing be written for the stall time, the client is not reading.
    private func watchForStall() {
        guard stallWatch == nil, let context else { return }
        let seen = queue.progress
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallWatch = context.eventLoop.scheduleTask(in: services.stall) {
            let handler = bound.value
            handler.stallWatch = nil
            guard handler.phase == .serving, handler.queue.overSoftBound else { return handler.wantRead() }
            if handler.queue.progress == seen {
                handler.overflow("over the soft bound for \(handler.services.stall)")
            } else {
                handler.watchForStall()
            }
        }
    }

    private func overflow(_ why: String) {
        logger.notice("closed a connection that does not read its answers", metadata: [
            "why": "\(why)", "unwritten": "\(queue.unwritten)",
        ])
        close()
    }

    private func write(_ lines: some Collection<String>) {
        guard let context else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 1 })
        for line in lines { ResponseLine.wireBytes(line, into: &bytes) }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        unflushed = true
    }

    /// Closes at once: what is written and not yet sent is dropped (a client that does not read).
    private func close() {
        guard phase != .done else { return }
        finish()
        context?.close(promise: nil)
    }

    /// Closes once everything written has left for the socket: closing at once would drop what NIO
    /// still holds (the end of a long answer, then the refusal that closes the connection). A client
    /// that does not read it is closed after the stall time all the same.
    private func closeAfterWriting() {
        guard phase != .done, let context else { return }
        finish()
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: written)
        let deadline = context.eventLoop.scheduleTask(in: services.stall) { channel.close(promise: nil) }
        written.futureResult.whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
    }

    private func finish() {
        phase = .done
        stallWatch?.cancel()
        stallWatch = nil
    }
}
