import Foundation
import Glibc

public struct SocketPlacementError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Makes a socket path safe to bind: its directory exists, and whatever is at the path is a stale
/// socket from a crashed run (nothing answers on it), never a live daemon, a symlink or another file.
enum SocketPlacement {
    static func prepare(path: String, directoryMode: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: directoryMode])
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw SocketPlacementError(description: "cannot inspect \(path): \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            throw SocketPlacementError(description: "refusing to use \(path): it is a symbolic link")
        case S_IFSOCK:
            if answers(path) {
                throw SocketPlacementError(description: "another process is already listening on \(path)")
            }
            guard unlink(path) == 0 else {
                throw SocketPlacementError(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
            }
        default:
            throw SocketPlacementError(description: "refusing to replace \(path): it is not a socket")
        }
    }

    /// True unless the socket at `path` is certainly dead. Only "connection refused" proves that nothing
    /// listens; any other failure (a connect interrupted by a signal, a full backlog) counts as alive,
    /// so that a live daemon's socket is never removed.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return true }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 || errno != ECONNREFUSED
    }
}
