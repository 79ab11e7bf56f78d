import AdminClient
import AdminProtocol
import ArgumentParser
import CPDReport
import Foundation

/// `cpdctl transcript --practitioner P [--cycle DAY] --out FILE`: a practitioner's record for one
/// cycle, from cpdd's `points`, `statement` and `audit.list`, written as a page (`.html`) or a CSV (`.csv`).
struct TranscriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcript",
        abstract: "Write a practitioner's record for a cycle as a page (.html) or a CSV (.csv).",
        discussion: """
            Asks cpdd for the practitioner's standing in the cycle that holds --cycle (today by default) \
            for their entries in that cycle and for the audit of it, and writes them to FILE, as HTML when it ends in .html \
            and as CSV when it ends in .csv. The current cycle is shown as it stands today, an earlier one as \
            it stood at its close; a cycle not yet begun is refused. The file is written whole or not at \
            all. Exit status: 0 written; 1 refused by cpdd (an unknown practitioner, one not the caller's \
            own, a day that is no date) or not written; 2 a usage error (--out not .html or .csv, a cycle \
            not yet begun); 3 cpdd cannot be reached or is unavailable.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The practitioner (a practitioner's own account may leave it out).") var practitioner: String?
    @Option(help: ArgumentHelp("A day in the cycle (default: today in the registry's time zone).", valueName: "YYYY-MM-DD")) var cycle: String?
    @Option(help: ArgumentHelp("The file to write: .html or .csv.", valueName: "file")) var out: String

    func run() throws {
        guard out.hasSuffix(".html") || out.hasSuffix(".csv") else {
            throw ValidationError("--out must end in .html or .csv")
        }
        let client = try connection.connect()
        _ = try client.request("format json")
        let who = practitioner.map { " practitioner=" + ResponseLine.quote($0) } ?? ""
        // The standing today, and the cycle asked for: the same one, or one before (its standing at
        // its close) or after it.
        var points = try client.request("points" + who)
        try Self.check(points)
        var summary = try Self.summary(points)
        if let cycle {
            let asked = try client.request("points" + who + " on=" + ResponseLine.quote(cycle))
            try Self.check(asked)
            let askedSummary = try Self.summary(asked)
            // ISO dates order as text.
            if let start = askedSummary["cycle_start"], let current = summary["cycle_start"], start > current {
                throw ValidationError("the cycle from \(start) has not begun; a transcript is of this cycle or an earlier one")
            }
            if askedSummary["cycle_start"] != summary["cycle_start"], let end = askedSummary["cycle_end"] {
                points = try client.request("points" + who + " on=" + ResponseLine.quote(end))
                try Self.check(points)
                summary = try Self.summary(points)
            }
        }
        guard let start = summary["cycle_start"], let end = summary["cycle_end"] else {
            FileHandle.standardError.write(Data("cpdctl: cpdd's standing has no cycle\n".utf8))
            throw ExitCode(1)
        }
        let statement = try client.request("statement" + who + " from=" + ResponseLine.quote(start) + " to=" + ResponseLine.quote(end))
        try Self.check(statement)
        let audits = try client.request("audit.list" + who)
        try Self.check(audits)
        let transcript: Transcript
        do {
            transcript = try Transcript(points: points.data, statement: statement.data, audits: audits.data)
        } catch {
            FileHandle.standardError.write(Data("cpdctl: cpdd's answers are not readable: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            // Whole or not at all: a reader never sees half a transcript.
            try Data((out.hasSuffix(".html") ? transcript.html : transcript.csv).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data("cpdctl: cannot write \(out): \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("transcript of \(summary["practitioner"] ?? "") for \(start) to \(end) written to \(out)")
    }

    static func summary(_ response: AdminResponse) throws -> [String: String] {
        guard let summary = try? Transcript(points: response.data, statement: []).summary else {
            FileHandle.standardError.write(Data("cpdctl: cpdd's standing is not readable\n".utf8))
            throw ExitCode(1)
        }
        return summary
    }

    static func check(_ response: AdminResponse) throws {
        guard let code = response.errorCode else { return }
        FileHandle.standardError.write(Data("cpdctl: \(response.final)\n".utf8))
        throw ExitCode(code == "unavailable" || code == "busy" ? 3 : 1)
    }
}
