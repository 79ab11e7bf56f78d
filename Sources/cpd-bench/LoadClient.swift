import CEpoll
import Glibc

/// The load client of `drive` and `compare`: one process, one thread, one epoll loop over N
/// non-blocking Unix-socket connections, each keeping `pipeline` requests in flight and sending its
/// next batch as soon as the last answer of the one before has arrived.
///
/// cpdd and redis-server are driven by this same loop; only the request text and the framing of
/// answers (`AnswerFraming`) differ. A single event loop costs both servers alike: the client's
/// share of the two cores does not grow with its connections, and no thread of its own waits on
/// any one server's answer. It knows nothing of what the requests mean.
final class LoadClient {
    struct Outcome {
        var requests = 0
        var errors = 0
        var elapsed: Duration = .zero
        /// One latency per batch, in nanoseconds, from sending the batch to its last final line,
        /// sorted. Every batch holds `pipeline` requests, so these are also the requests' latencies.
        var latencies: [UInt64] = []
        var failures: [String] = []
    }

    /// The request line (without its line end) for a connection's next request.
    typealias Request = (_ connection: Int, _ sequence: Int, _ random: inout SplitMix64) -> String

    private enum Phase { case greeting, answering, finished }

    private struct Peer {
        var fd: Int32
        var framing: AnswerFraming
        var random: SplitMix64
        var phase = Phase.answering
        /// Answers still due: the greeting, or the batch in flight.
        var due = 0
        var batchErrors = 0
        var sentAt: UInt64 = 0
        var sequence = 0
        var unsent: [UInt8] = []
        var sentBytes = 0
        var awaitsWritable = false
    }

    private let socketPath: String
    private let dialect: AnswerFraming.Dialect
    private let pipeline: Int
    private let request: Request
    private let lineEnd: [UInt8]
    private var peers: [Peer] = []
    private var poll: Int32 = -1
    private var active = 0
    private var deadline: UInt64 = 0
    private var outcome = Outcome()

    init(socketPath: String, dialect: AnswerFraming.Dialect, pipeline: Int, request: @escaping Request) {
        self.socketPath = socketPath
        self.dialect = dialect
        self.pipeline = max(1, pipeline)
        self.request = request
        self.lineEnd = dialect == .redis ? Array("\r\n".utf8) : Array("\n".utf8)
    }

    deinit {
        for peer in peers where peer.fd >= 0 { close(peer.fd) }
        if poll >= 0 { close(poll) }
    }

    /// Connects `connections` times (connection i's random choices seeded with seed + 7919 i), then
    /// sends and answers for `duration`; connections finish the batch they have in flight.
    func run(connections: Int, duration: Duration, seed: UInt64) throws -> Outcome {
        poll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard poll >= 0 else { throw LoadClientError("epoll_create1: \(String(cString: strerror(errno)))") }
        for index in 0..<connections {
            var peer = Peer(fd: -1, framing: AnswerFraming(dialect), random: SplitMix64(seed: seed &+ UInt64(index) &* 7919))
            do {
                peer.fd = try Self.connect(socketPath)
                var event = epoll_event()
                event.events = EPOLLIN.rawValue
                event.data.u64 = UInt64(index)
                guard epoll_ctl(poll, EPOLL_CTL_ADD, peer.fd, &event) == 0 else {
                    throw LoadClientError("epoll_ctl: \(String(cString: strerror(errno)))")
                }
                active += 1
            } catch {
                outcome.failures.append("connection \(index): \(error)")
                if peer.fd >= 0 { close(peer.fd) }
                peer.fd = -1
                peer.phase = .finished
            }
            peers.append(peer)
        }
        guard active > 0 else { throw LoadClientError(outcome.failures.first ?? "no connection") }

        let start = Self.now()
        deadline = start + UInt64(duration.components.seconds) * 1_000_000_000
            + UInt64(duration.components.attoseconds / 1_000_000_000)
        for index in peers.indices where peers[index].phase != .finished {
            switch dialect {
            case .cpdd:
                // cpdd speaks first: `OK cpdd <version> principal=... role=...`.
                peers[index].phase = .greeting
                peers[index].due = 1
            case .redis:
                sendBatch(index)
            }
        }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let giveUp = deadline + 60 * 1_000_000_000
        while active > 0 {
            let now = Self.now()
            if now > giveUp {
                for index in peers.indices where peers[index].phase != .finished {
                    fail(index, "no answer within 60 s after the end of the run")
                }
                break
            }
            let timeout = now < deadline ? Int32(min(1000, (deadline - now) / 1_000_000 + 1)) : 1000
            let ready = epoll_wait(poll, &events, Int32(events.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw LoadClientError("epoll_wait: \(String(cString: strerror(errno)))")
            }
            for event in events.prefix(Int(ready)) {
                let index = Int(event.data.u64)
                if event.events & EPOLLOUT.rawValue != 0, peers[index].phase != .finished { flush(index) }
                if event.events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                   peers[index].phase != .finished {
                    read(index, into: &buffer)
                }
            }
        }
        outcome.elapsed = .nanoseconds(Int64(Self.now() - start))
        outcome.latencies.sort()
        return outcome
    }

    // MARK: Per connection

    private func read(_ index: Int, into buffer: inout [UInt8]) {
        let fd = peers[index].fd
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            return fail(index, "recv: \(String(cString: strerror(errno)))")
        }
        if count == 0 { return fail(index, "the server closed the connection") }
        let tally = buffer.withUnsafeBytes { peers[index].framing.consume(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        if let byte = tally.unexpected {
            return fail(index, "a line that no answer starts with (first byte \(byte))")
        }
        peers[index].due -= tally.answers
        peers[index].batchErrors += tally.errors
        if peers[index].due < 0 { return fail(index, "more answers than requests") }
        guard peers[index].due == 0 else { return }

        let now = Self.now()
        switch peers[index].phase {
        case .greeting:
            if peers[index].batchErrors > 0 { return fail(index, "cpdd refused the connection (its greeting was ERR)") }
        case .answering:
            outcome.latencies.append(now - peers[index].sentAt)
            outcome.requests += pipeline
            outcome.errors += peers[index].batchErrors
        case .finished:
            return
        }
        peers[index].batchErrors = 0
        if now >= deadline {
            finish(index)
        } else {
            sendBatch(index)
        }
    }

    private func sendBatch(_ index: Int) {
        peers[index].unsent.removeAll(keepingCapacity: true)
        peers[index].sentBytes = 0
        for _ in 0..<pipeline {
            peers[index].sequence += 1
            let line = request(index, peers[index].sequence, &peers[index].random)
            peers[index].unsent.append(contentsOf: line.utf8)
            peers[index].unsent.append(contentsOf: lineEnd)
        }
        peers[index].phase = .answering
        peers[index].due = pipeline
        peers[index].sentAt = Self.now()
        flush(index)
    }

    private func flush(_ index: Int) {
        let fd = peers[index].fd
        while peers[index].sentBytes < peers[index].unsent.count {
            let offset = peers[index].sentBytes
            let sent = peers[index].unsent.withUnsafeBytes {
                send(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    if !peers[index].awaitsWritable { watch(index, writable: true) }
                    return
                }
                return fail(index, "send: \(String(cString: strerror(errno)))")
            }
            peers[index].sentBytes += sent
        }
        if peers[index].awaitsWritable { watch(index, writable: false) }
    }

    private func watch(_ index: Int, writable: Bool) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (writable ? EPOLLOUT.rawValue : 0)
        event.data.u64 = UInt64(index)
        if epoll_ctl(poll, EPOLL_CTL_MOD, peers[index].fd, &event) != 0 {
            return fail(index, "epoll_ctl: \(String(cString: strerror(errno)))")
        }
        peers[index].awaitsWritable = writable
    }

    private func fail(_ index: Int, _ message: String) {
        outcome.failures.append("connection \(index): \(message)")
        finish(index)
    }

    private func finish(_ index: Int) {
        guard peers[index].phase != .finished else { return }
        close(peers[index].fd)  // also takes it out of the epoll set
        peers[index].fd = -1
        peers[index].phase = .finished
        active -= 1
    }

    // MARK: System

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// A blocking connect (a Unix socket connects at once or not at all), then non-blocking.
    private static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoadClientError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw LoadClientError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw LoadClientError("cannot connect to \(path): \(reason)")
        }
        return fd
    }
}

struct LoadClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
