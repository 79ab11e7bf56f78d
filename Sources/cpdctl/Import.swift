import AdminClient
import AdminProtocol
import ArgumentParser
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a provider's roster of completions from a CSV file.",
        discussion: """
            The file is RFC 4180 CSV with a header row naming the columns practitioner, course, completed \
            (YYYY-MM-DD) and key (the row's idempotency key), in any order. Rows are sent pipelined; a \
            re-run of the same file records nothing twice. Ends with rows recorded, replayed and rejected, \
            and each rejected row's line number and reason. Exit status 1 if any row was rejected.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "What to import: completions.") var what: String
    @Argument(help: "The CSV file.") var file: String

    /// Requests in flight at once: enough to keep the server's batches full, bounded for memory.
    static let window = 256

    func run() throws {
        guard what == "completions" else { throw ValidationError("cpdctl import takes 'completions', not '\(what)'") }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let records: [CSVRecord]
        do {
            records = try CSV.parse(text)
        } catch {
            throw ValidationError("\(file): \(error)")
        }
        guard let header = records.first else { throw ValidationError("\(file) is empty") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var column: [String: Int] = [:]
        for name in ["practitioner", "course", "completed", "key"] {
            guard let index = names.firstIndex(of: name) else { throw ValidationError("\(file): the header has no column '\(name)'") }
            column[name] = index
        }
        let rows = Array(records.dropFirst())
        let client = try connection.connect()
        let progress = Progress(total: rows.count, enabled: isatty(STDERR_FILENO) == 1)
        var recorded = 0, replayed = 0
        var rejected: [(line: Int, reason: String)] = []
        var sent = 0, answered = 0
        var unavailable = false
        func line(for row: CSVRecord) -> String? {
            guard row.fields.count == names.count else { return nil }
            let value = { (name: String) in ResponseLine.quote((column[name].map { row.fields[$0] } ?? "").trimmingCharacters(in: .whitespaces)) }
            return "completion.record practitioner=\(value("practitioner")) course=\(value("course")) completed=\(value("completed")) key=\(value("key")) explain=yes"
        }
        // Rows that cannot even be sent (a wrong number of fields) are rejected here, in order.
        var outstanding: [CSVRecord] = []
        while answered < rows.count {
            while sent < rows.count, outstanding.count < Self.window {
                let row = rows[sent]
                sent += 1
                guard let request = line(for: row) else {
                    rejected.append((row.line, "expected \(names.count) fields, found \(row.fields.count)"))
                    answered += 1
                    continue
                }
                try client.send(request)
                outstanding.append(row)
            }
            guard !outstanding.isEmpty else { continue }
            let row = outstanding.removeFirst()
            let response = try client.readResponse()
            answered += 1
            if response.isOK {
                if response.data.contains("replayed=yes") { replayed += 1 } else { recorded += 1 }
            } else {
                if response.errorCode == "unavailable" || response.errorCode == "busy" { unavailable = true }
                rejected.append((row.line, response.final))
            }
            progress.update(answered)
        }
        progress.finish()
        print("recorded \(recorded), replayed \(replayed), rejected \(rejected.count)")
        for (line, reason) in rejected.sorted(by: { $0.line < $1.line }) { print("line \(line): \(reason)") }
        if unavailable { throw ExitCode(3) }
        if !rejected.isEmpty { throw ExitCode(1) }
    }
}

/// A progress bar on standard error, drawn only on a terminal.
final class Progress {
    let total: Int
    let enabled: Bool
    private var drawn = -1

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != drawn else { return }
        drawn = percent
        let filled = percent * 30 / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled, drawn >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
