import Foundation
import LocalPostgres

/// A redis-server of the benchmark's own, for the anchor of the `ping` figure: on a Unix socket in
/// a directory of its own, no TCP port, nothing saved, no append-only file; stopped by `stop()`.
/// It runs as the current user (root included: Redis only warns), like the load client.
final class RedisServer {
    let socketPath: String
    let process: ChildProcess
    private let directory: String

    init(executable: String) throws {
        // A short path: a Unix socket's must fit in 108 bytes.
        var template = Array("/tmp/cpd-redis.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw RedisServerError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
        socketPath = directory + "/redis.sock"
        do {
            process = try ChildProcess([
                executable, "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700",
                "--dir", directory, "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--maxclients", "10000", "--logfile", "",
            ])
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: socketPath) {
            if process.wait(timeout: .zero) != nil || ContinuousClock.now > deadline {
                let output = process.output
                stop()
                throw RedisServerError("redis-server did not start:\n\(output)")
            }
            usleep(20_000)
        }
    }

    func stop() {
        process.signal(SIGTERM)
        _ = process.wait(timeout: .seconds(10))
        process.terminate()  // kills it if it is still running, and removes its output file
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Debian's package puts it in /usr/bin.
    static func find() -> String? {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }
}

struct RedisServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
