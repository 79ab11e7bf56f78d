import Foundation

/// A program run with posix_spawn: standard input from /dev/null, both outputs to a file, and no
/// other descriptor of ours inherited (so a server it starts holds none of our files or sockets).
/// posix_spawn and waitpid rather than Foundation's Process, whose exit detection missed a child
/// that exited while other threads were busy, and hung.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let outputPath: String
    private let removesOutput: Bool
    private var exitStatus: Int32?

    /// Starts `arguments[0]` (an absolute path) with `arguments`. `environment` is added to this
    /// process's own. Output goes to `outputPath`, or to a temporary file removed by `terminate()`.
    public init(_ arguments: [String], outputPath: String? = nil, environment: [String: String] = [:]) throws {
        self.outputPath = outputPath ?? NSTemporaryDirectory() + "cpd-child-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        self.removesOutput = outputPath == nil
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        markDescriptorsCloseOnExec()
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw LocalPostgresError("cannot run \(arguments[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// What it wrote to standard output and standard error so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for it to exit; returns its exit status, or 128 + the signal that killed it.
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return record(status)
    }

    /// Like `wait()`, but gives up at the deadline and returns nil if it is still running.
    public func wait(timeout: Duration) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return record(status) }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Kills it if it is still running, and removes a temporary output file.
    public func terminate() {
        if wait(timeout: .zero) == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        if removesOutput { unlink(outputPath) }
    }

    /// Runs to completion within `timeout` and returns (status, output).
    public static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (Int32, String) {
        let child = try ChildProcess(arguments)
        defer { child.terminate() }
        guard let status = child.wait(timeout: timeout) else {
            throw LocalPostgresError("\(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        return (status, child.output)
    }

    private func record(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS are macros Swift cannot call.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        return code
    }
}
