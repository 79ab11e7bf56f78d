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
        discussion: """
            Any protocol command can be given directly, its arguments as options:             cpdctl points --practitioner P-1001 is the request 'points practitioner=P-1001',             cpdctl course search --q anxiety is 'course.search q=anxiety'. --json asks for JSON data lines.             Exit status: 0 OK, 1 ERR from the server, 2 usage, 3 cannot connect or unavailable.
            """,
        version: "0.1.0",
        subcommands: [Send.self, Ping.self, Import.self, Report.self, Ledger.self, TranscriptCommand.self],
        defaultSubcommand: Send.self)

    static func main() {
        do {
            var command = try parseAsRoot(OneShot.rewrite(Array(CommandLine.arguments.dropFirst())))
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

    @Flag(help: "Data lines as JSON objects (sends 'format json' first).")
    var json = false

    func connect(timeoutSeconds: Int = 30) throws -> AdminClient {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let path = socket ?? DefaultLocations.socket(executablePath: executable, environment: ProcessInfo.processInfo.environment)
        let client = try AdminClient(socketPath: path, timeoutSeconds: timeoutSeconds)
        if json { _ = try client.request("format json") }
        return client
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
        abstract: "Send raw protocol lines (the arguments, or standard input's lines) and print the responses; on a terminal with no lines, an interactive shell.",
        discussion: "Example: cpdctl send 'whoami' 'ping'. Lines go out pipelined; the worst outcome sets the exit status.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Request lines; with none, lines are read from standard input.")
    var lines: [String] = []

    func run() throws {
        let client = try connection.connect()
        var requests = lines
        if requests.isEmpty, isatty(STDIN_FILENO) == 1 {
            var shell = Shell(client: client)
            let status = try shell.run()
            if status != 0 { throw ExitCode(status) }
            return
        }
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

/// Turns `cpdctl points --practitioner P-1001` into `cpdctl send 'points practitioner=P-1001'`.
enum OneShot {
    static let subcommands: Set<String> = ["send", "ping", "import", "report", "transcript", "help", "-h", "--help", "--version"]
    /// Words that begin a dotted command: `course search` is `course.search`.
    static let families: Set<String> = [
        "provider", "course", "scheme", "practitioner", "certificate", "completion", "entry", "report", "ledger", "principal", "renewal", "audit",
    ]

    static func rewrite(_ arguments: [String]) -> [String] {
        var global: [String] = []
        var rest = arguments[...]
        // Connection options may come before the command.
        while let first = rest.first, first.hasPrefix("-"), !subcommands.contains(first) {
            global.append(first)
            rest = rest.dropFirst()
            if first == "--socket", let value = rest.first {
                global.append(value)
                rest = rest.dropFirst()
            }
        }
        guard let command = rest.first, !subcommands.contains(command) else { return arguments }
        rest = rest.dropFirst()
        // `ledger verify --anchors DIR` reads the reports' files before it asks: a subcommand of its
        // own. Without --anchors it is the plain request, as before.
        if command == "ledger", rest.first == "verify", rest.contains(where: { $0 == "--anchors" || $0.hasPrefix("--anchors=") }) {
            return ["ledger", "verify"] + global + rest.dropFirst()
        }
        var name = command
        if families.contains(command), let next = rest.first, !next.hasPrefix("-") {
            name += "." + next
            rest = rest.dropFirst()
        }
        var words = [name]
        while let word = rest.first {
            rest = rest.dropFirst()
            if word == "--json" || word == "--socket" {
                global.append(word)
                if word == "--socket", let value = rest.first {
                    global.append(value)
                    rest = rest.dropFirst()
                }
            } else if word.hasPrefix("--") {
                let option = word.dropFirst(2)
                if let equals = option.firstIndex(of: "=") {
                    words.append(key(option[..<equals]) + "=" + ResponseLine.quote(String(option[option.index(after: equals)...])))
                } else if let value = rest.first {
                    words.append(key(option) + "=" + ResponseLine.quote(value))
                    rest = rest.dropFirst()
                } else {
                    words.append(key(option) + "=")
                }
            } else {
                words.append(word)
            }
        }
        return ["send"] + global + [words.joined(separator: " ")]
    }

    static func key(_ option: Substring) -> String { option.replacingOccurrences(of: "-", with: "_") }
}
