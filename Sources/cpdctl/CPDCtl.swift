/// cpdctl: the command-line client for cpdd's admin socket.
///
/// Exit codes a script can test: 0 every response was OK; 1 the server answered ERR; 2 usage;
/// 3 cannot connect, or the server is unavailable or busy.
import AdminClient
import AdminProtocol
import ArgumentParser
import Foundation

@main
struct CPDCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpdctl",
        abstract: "Talk to cpdd over its admin socket.",
        discussion: "Exit status: 0 OK, 1 ERR from the server, 2 usage, 3 cannot connect or unavailable.",
        version: "0.1.0",
        subcommands: [Send.self, Ping.self],
        defaultSubcommand: Send.self)

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as AdminClientError {
            FileHandle.standardError.write(Data("cpdctl: \(error)\n".utf8))
            Foundation.exit(3)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            // Usage errors are 2, as scripts expect, not ArgumentParser's 64.
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("cpdd's socket (env CPD_SOCKET; default ./.cpd/cpdd.sock, /run/cpd/cpdd.sock when installed).", valueName: "path"))
    var socket: String?

    func connect() throws -> AdminClient {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = socket ?? DefaultLocations.socket(executablePath: executable, environment: ProcessInfo.processInfo.environment)
        return try AdminClient(socketPath: path)
    }
}

/// Prints a response as the server sent it; returns the exit code it calls for.
func show(_ response: AdminResponse) -> Int32 {
    for line in response.data { print("* " + line) }
    print(response.final)
    switch response.errorCode {
    case nil: return 0
    case "unavailable", "busy": return 3
    default: return 1
    }
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send raw protocol lines (the arguments, or standard input's lines) and print the responses.",
        discussion: "Example: cpdctl send 'whoami' 'ping'. Lines go out pipelined; the worst outcome sets the exit status.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Request lines; with none, lines are read from standard input.")
    var lines: [String] = []

    func run() throws {
        let client = try connection.connect()
        var requests = lines
        if requests.isEmpty {
            while let line = readLine() { requests.append(line) }
        }
        // Blank and comment lines get no answer from the server, so they are not sent.
        requests = requests.filter {
            let trimmed = $0.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        try client.send(requests.joined(separator: "\n"))
        var worst: Int32 = 0
        for _ in requests {
            let code = show(try client.readResponse())
            worst = max(worst, code)
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that cpdd answers.")
    @OptionGroup var connection: ConnectionOptions
    func run() throws {
        let code = show(try connection.connect().request("ping"))
        if code != 0 { throw ExitCode(code) }
    }
}
