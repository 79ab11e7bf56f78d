import AdminClient
import Foundation

/// The interactive shell: `cpdctl` with no arguments on a terminal. A prompt, line editing
/// (backspace, Ctrl-U, Ctrl-C clears the line), history with the up and down arrows kept in
/// ~/.cpdctl_history, and `quit` or Ctrl-D to leave.
struct Shell {
    let client: AdminClient
    var history: [String] = []
    let historyFile = (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.cpdctl_history"
    static let historyLimit = 1000

    init(client: AdminClient) {
        self.client = client
        if let text = try? String(contentsOfFile: historyFile, encoding: .utf8) {
            history = text.split(separator: "\n").map(String.init).suffix(Self.historyLimit)
        }
    }

    mutating func run() throws -> Int32 {
        print(client.greeting)
        var worst: Int32 = 0
        while let line = readLine(prompt: "cpd> ") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if history.last != line { history.append(line) }
            let response = try client.request(line)
            worst = max(worst, show(response))
            if trimmed.lowercased() == "quit" { break }
        }
        try? (history.suffix(Self.historyLimit).joined(separator: "\n") + "\n").write(toFile: historyFile, atomically: true, encoding: .utf8)
        return worst
    }

    /// Reads one line in raw mode; nil at Ctrl-D on an empty line or end of input.
    mutating func readLine(prompt: String) -> String? {
        var original = termios()
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { return Swift.readLine() }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        defer { tcsetattr(STDIN_FILENO, TCSANOW, &original) }

        var line: [UInt8] = []
        var recalled = history.count
        func redraw() {
            write("\r\u{1B}[K" + prompt + String(decoding: line, as: UTF8.self))
        }
        write(prompt)
        while true {
            var byte: UInt8 = 0
            guard read(STDIN_FILENO, &byte, 1) == 1 else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            switch byte {
            case 10, 13:
                write("\n")
                return String(decoding: line, as: UTF8.self)
            case 4 where line.isEmpty:  // Ctrl-D
                write("\n")
                return nil
            case 3, 21:  // Ctrl-C, Ctrl-U: clear the line
                line.removeAll()
                redraw()
            case 127, 8:
                if !line.isEmpty {
                    // Remove a whole UTF-8 character: its continuation bytes, then its first byte.
                    while let last = line.last, last & 0xC0 == 0x80 { line.removeLast() }
                    if !line.isEmpty { line.removeLast() }
                    redraw()
                }
            case 27:  // an escape sequence: the arrows
                var sequence: [UInt8] = [0, 0]
                guard read(STDIN_FILENO, &sequence[0], 1) == 1, read(STDIN_FILENO, &sequence[1], 1) == 1, sequence[0] == 91 else { continue }
                if sequence[1] == 65, recalled > 0 {  // up
                    recalled -= 1
                    line = Array(history[recalled].utf8)
                } else if sequence[1] == 66, recalled < history.count {  // down
                    recalled += 1
                    line = recalled == history.count ? [] : Array(history[recalled].utf8)
                }
                redraw()
            default:
                if byte >= 32 || byte == 9 {
                    line.append(byte)
                    write(String(decoding: [byte], as: UTF8.self))
                }
            }
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
