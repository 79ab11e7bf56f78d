import AdminClient
import AdminProtocol
import ArgumentParser
import CPDCore
import CPDReport
import Foundation

struct Ledger: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The ledger: `cpdctl ledger verify [--anchors DIR]`.",
        subcommands: [Verify.self])
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the ledger's hash chain, and with --anchors the heads the nightly reports under DIR published.",
        discussion: """
            Without --anchors: the request ledger.verify. With --anchors DIR: every ledger-head.txt under \
            DIR's date directories (as `cpdctl report nightly --out DIR` wrote them) is sent as an anchor, \
            and cpdd checks that each entry still has the hash the report published. Someone who can \
            write to the database can rewrite entries and recompute every hash, so that the chain \
            verifies again; the heads published before then no longer hold, and are named. Keep a copy \
            of DIR where the database's owner cannot write. Exit status: 0 the chain verifies and every \
            head holds; 1 it does not, or no head was found under DIR, or a head file is unreadable; \
            3 cpdd cannot be reached or is unavailable.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("A directory of nightly reports (one directory per day).", valueName: "dir"))
    var anchors: String?

    @Option(help: ArgumentHelp("Seconds to wait for each check (each walks the whole ledger).", valueName: "seconds"))
    var timeout: Int = 3600

    /// Anchors per request: each is at most 84 bytes, so a request stays well inside the 16 KiB line.
    static let anchorsPerRequest = 100

    func run() throws {
        let client = try connection.connect(timeoutSeconds: timeout)
        guard let directory = anchors else {
            let code = show(try client.request("ledger.verify"))
            if code != 0 { throw ExitCode(code) }
            return
        }
        let heads: [(date: String, anchor: LedgerAnchor)]
        do {
            heads = try ReportDirectory.publishedHeads(in: directory)
        } catch {
            throw failure("\(error)")
        }
        guard !heads.isEmpty else { throw failure("no ledger head is published under \(directory) (no DATE/\(ReportDirectory.ledgerHeadFile))") }
        var dates: [LedgerAnchor: [String]] = [:]
        var distinct: [LedgerAnchor] = []
        for head in heads {
            if dates[head.anchor] == nil { distinct.append(head.anchor) }
            dates[head.anchor, default: []].append(head.date)
        }
        // Text data lines whatever --json asked for: they are read here, not printed.
        _ = try client.request("format text")
        var unheld: [(anchor: LedgerAnchor, problem: String)] = []
        var refusals: [String] = []
        var summary = ""
        for start in stride(from: 0, to: distinct.count, by: Self.anchorsPerRequest) {
            let chunk = distinct[start..<min(start + Self.anchorsPerRequest, distinct.count)]
            let response = try client.request("ledger.verify anchors=" + chunk.map(\.description).joined(separator: ","))
            if let code = response.errorCode, code != "conflict" {
                FileHandle.standardError.write(Data("cpdctl: \(response.final)\n".utf8))
                throw ExitCode(code == "unavailable" || code == "busy" ? 3 : 1)
            }
            for line in response.data {
                guard let fields = try? RequestParser.parse("anchor " + line), fields["holds"] == "no",
                    let anchor = fields["anchor"].flatMap(LedgerAnchor.init(parsing:))
                else { continue }
                unheld.append((anchor, fields["problem"] ?? ""))
            }
            if response.errorCode != nil, !refusals.contains(response.final) { refusals.append(response.final) }
            summary = response.final
        }
        guard unheld.isEmpty, refusals.isEmpty else {
            for (anchor, problem) in unheld {
                let reports = dates[anchor, default: []].joined(separator: ", ")
                print("not held: entry \(anchor.entry) hash \(anchor.hash), published by the report of \(reports): \(problem)")
            }
            for refusal in refusals { FileHandle.standardError.write(Data("cpdctl: \(refusal)\n".utf8)) }
            throw ExitCode(1)
        }
        print("the \(distinct.count) ledger heads published by \(heads.count) reports under \(directory) hold (\(summary))")
    }

    func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("cpdctl: \(message)\n".utf8))
        return ExitCode(1)
    }
}
