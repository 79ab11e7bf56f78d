/// The AdminClient module: a small blocking client for cpdd's admin socket. It connects, reads the
/// greeting, sends request lines and reads each response up to its final OK or ERR line.
import Glibc

public struct AdminClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case cannotConnect, refused, closed, timeout, io }
    public let kind: Kind
    public let description: String
}

/// One response: its data lines (without the `* `) and its final line.
public struct AdminResponse: Sendable, Equatable {
    public var data: [String]
    public var final: String

    public var isOK: Bool { final == "OK" || final.hasPrefix("OK ") }
    /// The code of an ERR line (`not_found`), nil for OK.
    public var errorCode: String? {
        guard final.hasPrefix("ERR ") else { return nil }
        return final.dropFirst(4).split(separator: " ", maxSplits: 1).first.map(String.init)
    }
}

public final class AdminClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// The server's first line: `OK cpdd <version> principal=<name> role=<role>`.
    public private(set) var greeting: String = ""

    /// Connects and reads the greeting; a greeting that is an ERR (no principal) throws `.refused`.
    public init(socketPath: String, timeoutSeconds: Int = 30) throws {
        // Every stored property is set once `fd` is, so from there deinit runs even when this throws,
        // and it alone closes the socket: a second close could close a descriptor number another
        // thread has been given meanwhile (a test's socket, once, in CI).
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AdminClientError(kind: .io, description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw AdminClientError(kind: .cannotConnect, description: "socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            throw AdminClientError(kind: .cannotConnect, description: "cannot connect to \(socketPath): \(reason)")
        }
        greeting = try readLine()
        if greeting.hasPrefix("ERR ") {
            throw AdminClientError(kind: .refused, description: greeting)
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends one request and reads its response.
    public func request(_ line: String) throws -> AdminResponse {
        try send(line)
        return try readResponse()
    }

    /// Sends raw bytes: one or many lines, for pipelining.
    public func send(_ line: String) throws {
        try sendBytes(Array((line.hasSuffix("\n") ? line : line + "\n").utf8))
    }

    public func sendBytes(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw AdminClientError(kind: .io, description: "send: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    /// Reads data lines up to and including the final OK or ERR line.
    public func readResponse() throws -> AdminResponse {
        var data: [String] = []
        while true {
            let line = try readLine()
            if line.hasPrefix("* ") {
                data.append(String(line.dropFirst(2)))
            } else if line == "OK" || line.hasPrefix("OK ") || line.hasPrefix("ERR ") {
                return AdminResponse(data: data, final: line)
            } else {
                throw AdminClientError(kind: .io, description: "unexpected line from the server: \(line.prefix(80))")
            }
        }
    }

    /// Stops sending; the server answers what it has and then closes.
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// True once the server has closed the connection (reads end of file).
    public func isClosedByServer() -> Bool {
        do {
            _ = try readLine()
            return false
        } catch let error as AdminClientError {
            return error.kind == .closed
        } catch {
            return false
        }
    }

    public func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { throw AdminClientError(kind: .closed, description: "the server closed the connection") }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw AdminClientError(kind: .timeout, description: "no answer from the server in time")
                }
                throw AdminClientError(kind: .io, description: "recv: \(String(cString: strerror(errno)))")
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
