import Foundation

/// A program run by a test: started with posix_spawn, its output in a file, signalled and waited
/// for with a deadline. (Foundation's Process can miss a child's exit; see LocalPostgres.)
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let outputPath: String
    private var exitStatus: Int32?

    public init(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        outputPath = NSTemporaryDirectory() + "cpd-child-\(UInt32.random(in: 0...UInt32.max)).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else { throw TestSetupError(description: "cannot run \(arguments[0]): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// The exit status (or 128 + signal), or nil if it is still running at the deadline.
    public func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                return exitStatus
            }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Kills it if it is still running.
    public func terminate() {
        if wait(timeout: .zero) == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: .seconds(5))
        }
        unlink(outputPath)
    }

    /// Runs to completion and returns (status, output).
    public static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (Int32, String) {
        let child = try ChildProcess(arguments)
        defer { child.terminate() }
        guard let status = child.wait(timeout: timeout) else {
            throw TestSetupError(description: "\(arguments.joined(separator: " ")) did not finish in \(timeout)")
        }
        return (status, child.output)
    }
}

/// The project's checkout, found from this file's path; built programs are in .build/debug.
public enum Checkout {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public static func product(_ name: String) -> String { root + "/.build/debug/" + name }
}
