import AdminClient
import AdminProtocol
import ArgumentParser
import CPDReport
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports: `cpdctl report nightly --out DIR` is what cron runs.",
        subcommands: [Nightly.self])
}

struct Nightly: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the nightly report and write it to DIR/YYYY-MM-DD/.",
        discussion: """
            Asks cpdd for report.nightly and writes a CSV per section, summary.json and index.html into \
            DIR/YYYY-MM-DD/, all at once (a reader never sees half a report); a second run for the same \
            date replaces that day's report. Exit status: 0 written; 1 the ledger does not verify or the \
            totals do not reconcile (the report is written, the reason goes to stderr), or the report \
            could not be made or written; 3 cpdd cannot be reached or is unavailable.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("The report's date (default: today in the registry's time zone).", valueName: "YYYY-MM-DD"))
    var date: String?

    @Option(help: ArgumentHelp("The directory that holds one directory per day.", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("Seconds to wait for the report.", valueName: "seconds"))
    var timeout: Int = 3600

    func run() throws {
        let client = try connection.connect(timeoutSeconds: timeout)
        _ = try client.request("format json")
        let response = try client.request("report.nightly" + (date.map { " date=" + ResponseLine.quote($0) } ?? ""))
        if let code = response.errorCode, code != "conflict" || response.data.isEmpty {
            FileHandle.standardError.write(Data("cpdctl: the nightly report could not be made: \(response.final)\n".utf8))
            throw ExitCode(code == "unavailable" || code == "busy" ? 3 : 1)
        }
        let report: NightlyReport
        do {
            report = try NightlyReport(jsonLines: response.data)
        } catch {
            FileHandle.standardError.write(Data("cpdctl: cpdd's report is not readable: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let day = report.summary.date
        let path: String
        do {
            path = try ReportDirectory.publish(report.files, in: out, date: day)
        } catch {
            FileHandle.standardError.write(Data("cpdctl: cannot write the report: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("report \(day) written to \(path) (\(response.final))")
        if response.errorCode != nil {
            FileHandle.standardError.write(Data("cpdctl: \(response.final)\n".utf8))
            throw ExitCode(1)
        }
    }
}
