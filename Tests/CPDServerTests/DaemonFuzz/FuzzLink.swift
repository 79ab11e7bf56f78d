import AdminProtocol
import Foundation
import Glibc
import TestSupport

/// One connection to cpdd as a Unix account: for the account the tests run as, a socket of our own;
/// for another account, `runuser -u ACCOUNT -- socat STDIO UNIX-CONNECT:…` on one end of a
/// socketpair, so that cpdd's SO_PEERCRED sees that account, as a real client of it would be.
final class FuzzLink {
    let account: String?
    private(set) var fd: Int32 = -1
    private var helper: pid_t? = nil
    private var buffer: [UInt8] = []
    /// End of file seen while pumping: the buffer is all there will be.
    private var atEnd = false
    /// Called while a read waits: the fuzzer pumps its other connections, so that it never becomes
    /// a client that leaves its answers unread (which cpdd rightly closes).
    var whileWaiting: (() -> Void)? = nil
    private(set) var greeting = ""

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(socket path: String, as account: String?) throws {
        self.account = account
        if let account {
            var pair: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw Failure(description: "socketpair: \(String(cString: strerror(errno)))")
            }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, pair[1], 0)
            posix_spawn_file_actions_adddup2(&actions, pair[1], 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            let arguments = ["/usr/sbin/runuser", "-u", account, "--", "/usr/bin/socat", "-t", "0.2", "STDIO", "UNIX-CONNECT:\(path)"]
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid = pid_t()
            let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
            Glibc.close(pair[1])
            guard spawned == 0 else {
                Glibc.close(pair[0])
                throw Failure(description: "runuser: \(String(cString: strerror(spawned)))")
            }
            fd = pair[0]
            helper = pid
        } else {
            fd = connectedUnixSocket(to: path)
            guard fd >= 0 else { throw Failure(description: "connect: \(String(cString: strerror(errno)))") }
        }
        guard let first = try readLine(timeout: .seconds(20)) else { throw Failure(description: "closed before the greeting") }
        greeting = String(decoding: first, as: UTF8.self)
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        if let helper {
            kill(helper, SIGKILL)
            var status: Int32 = 0
            while waitpid(helper, &status, 0) == -1, errno == EINTR {}
        }
        helper = nil
    }

    /// Sends every byte, reading what arrives meanwhile into the buffer (a client that pipelines
    /// much must read while it writes, or both sides could wait on full buffers).
    func send(_ bytes: [UInt8], within timeout: Duration = .seconds(60)) throws {
        var offset = 0
        let deadline = ContinuousClock.now + timeout
        while offset < bytes.count {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { throw Failure(description: "poll: \(String(cString: strerror(errno)))") }
            if poller.revents & Int16(POLLIN) != 0, try !fill() { throw Failure(description: "the connection closed while sending") }
            if poller.revents & Int16(POLLOUT) != 0 {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, min($0.count, 65_536), Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if sent > 0 { offset += sent } else if sent < 0 && errno != EAGAIN && errno != EINTR {
                    throw Failure(description: "send: \(String(cString: strerror(errno)))")
                }
            } else if poller.revents & Int16(POLLHUP | POLLERR) != 0 {
                throw Failure(description: "the connection closed while sending")
            }
            if ContinuousClock.now > deadline { throw Failure(description: "could not send within \(timeout)") }
        }
    }

    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads what is available; false at end of file.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count > 0 { buffer.append(contentsOf: chunk[..<count]); return true }
        if count == 0 { return false }
        if errno == EAGAIN || errno == EINTR { return true }
        // The server closed with requests of ours unread (a removed principal's connection): the
        // kernel resets rather than ends the stream, and for the reader it is the same end.
        if errno == ECONNRESET { return false }
        throw Failure(description: "recv: \(String(cString: strerror(errno)))")
    }

    /// One line without its LF; nil at end of file. Throws when nothing comes within `timeout`.
    func readLine(timeout: Duration) throws -> [UInt8]? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            if atEnd {
                guard buffer.isEmpty else { throw Failure(description: "a last line without LF: \(String(decoding: buffer, as: UTF8.self).debugDescription)") }
                return nil
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw Failure(description: "no line within \(timeout)") }
            _ = poll(&poller, 1, Int32(min(left.components.seconds * 1000 + 1, whileWaiting == nil ? 1000 : 20)))
            if poller.revents == 0 { whileWaiting?() }
            if poller.revents != 0, try !fill() {
                guard buffer.isEmpty else { throw Failure(description: "a last line without LF: \(String(decoding: buffer, as: UTF8.self).debugDescription)") }
                return nil
            }
        }
    }

    /// Takes in whatever has arrived, without waiting.
    func pump() {
        guard fd >= 0, !atEnd else { return }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 0) > 0, poller.revents != 0 {
            guard (try? fill()) == true else { atEnd = true; return }
            poller.revents = 0
        }
    }

    /// True when nothing more arrives within `wait` (no stray line after the last answer).
    func isQuiet(for wait: Duration) throws -> Bool {
        guard buffer.isEmpty else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, Int32(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
        guard poller.revents != 0 else { return true }
        return try fill() && buffer.isEmpty
    }
}

/// One response as the contract allows it, or what was wrong with it.
struct FuzzResponse {
    var data: [String]
    var final: String
    var code: String? {
        guard final.hasPrefix("ERR ") else { return nil }
        return final.dropFirst(4).split(separator: " ", maxSplits: 1).first.map(String.init)
    }
    var isOK: Bool { final == "OK" || final.hasPrefix("OK ") }

    static let codes = Set(ErrorCode.allCases.map(\.rawValue))

    /// Reads data lines up to one final line, checking each against the contract's grammar: UTF-8,
    /// no CR, `* ` data (a JSON object after `format json`), `OK`, or `ERR <known code> <message>`.
    static func read(from link: FuzzLink, json: Bool, timeout: Duration) throws -> FuzzResponse? {
        var data: [String] = []
        while true {
            guard let bytes = try link.readLine(timeout: timeout) else {
                if data.isEmpty { return nil }
                throw FuzzLink.Failure(description: "the connection closed after data lines, before a final line")
            }
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw FuzzLink.Failure(description: "a line that is not UTF-8: \(bytes.prefix(80))")
            }
            if line.unicodeScalars.contains("\r") { throw FuzzLink.Failure(description: "a CR inside a line: \(line.debugDescription.prefix(200))") }
            if line.hasPrefix("* ") {
                if json {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(2).utf8))
                    guard object is [String: Any] else { throw FuzzLink.Failure(description: "a JSON data line that is no object: \(line.prefix(200))") }
                }
                data.append(String(line.dropFirst(2)))
                continue
            }
            if line == "OK" || line.hasPrefix("OK ") { return FuzzResponse(data: data, final: line) }
            if line.hasPrefix("ERR ") {
                let parts = line.dropFirst(4).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard let code = parts.first, codes.contains(String(code)), parts.count == 2, !parts[1].isEmpty else {
                    throw FuzzLink.Failure(description: "an ERR line outside the contract: \(line.prefix(200))")
                }
                return FuzzResponse(data: data, final: line)
            }
            throw FuzzLink.Failure(description: "a line that is neither data nor final: \(line.debugDescription.prefix(200))")
        }
    }
}
