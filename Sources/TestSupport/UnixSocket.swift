import Foundation

/// A Unix socket bound at `path`, of `type` (SOCK_STREAM or SOCK_DGRAM), for tests that need one
/// (a stale socket file, systemd's notify socket). Returns the descriptor, or -1.
public func boundUnixSocket(at path: String, type: Int32) -> Int32 {
    unixSocket(at: path, type: type, bind)
}

/// A stream socket connected to `path`, for tests that read and write at their own pace (a client
/// that reads slowly, or not at all). Returns the descriptor, or -1.
public func connectedUnixSocket(to path: String) -> Int32 {
    unixSocket(at: path, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), connect)
}

private func unixSocket(at path: String, type: Int32, _ operation: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    let fd = socket(AF_UNIX, type, 0)
    guard fd >= 0 else { return -1 }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
        raw[min(path.utf8.count, raw.count - 1)] = 0
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { operation(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else {
        close(fd)
        return -1
    }
    return fd
}
