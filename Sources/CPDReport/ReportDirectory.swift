import CPDCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

public struct ReportWriteError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ what: String, _ path: String, errno code: Int32 = errno) {
        description = "\(what) \(path): \(String(cString: strerror(code)))"
    }
    init(_ description: String) { self.description = description }
}

/// Publishes a day's report so that no reader ever sees half of one.
///
/// `DIR/YYYY-MM-DD` is a symbolic link to a hidden directory `DIR/.YYYY-MM-DD.<unique>` that holds
/// the files. A new report is written in full into a new hidden directory (each file fsynced), then
/// a new link is renamed over the old one: rename(2) replaces it in one step, so a reader opening
/// `DIR/YYYY-MM-DD/index.html` gets the old report or the new one, never a mix or a part. Then the
/// old directory, and anything a crashed run left, is removed. Running again for a date replaces
/// that date's report.
public enum ReportDirectory {
    /// Writes `files` (name and content) as the report of `date` under `directory`; returns the
    /// report's path (`directory/date`). `afterEachFile` is called once a file is written (tests
    /// make it throw to stop a write half-way).
    @discardableResult
    public static func publish(
        _ files: [(name: String, content: String)], in directory: String, date: String,
        afterEachFile: (String) throws -> Void = { _ in }
    ) throws -> String {
        guard date.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else {
            throw ReportWriteError("a report's date is YYYY-MM-DD, not '\(date)'")
        }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportWriteError("cannot create \(directory): \(error.localizedDescription)")
        }
        // One publisher at a time per directory (two runs for one date would remove each other's files).
        let lockPath = directory + "/.lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw ReportWriteError("cannot open", lockPath) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw ReportWriteError("cannot lock", lockPath) }

        let unique = "\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let stagingName = ".\(date).\(unique)"
        let staging = directory + "/" + stagingName
        guard mkdir(staging, 0o755) == 0 else { throw ReportWriteError("cannot create", staging) }
        do {
            for file in files {
                precondition(!file.name.contains("/") && !file.name.hasPrefix("."), "a report file name is plain: \(file.name)")
                try write(file.content, to: staging + "/" + file.name)
                try afterEachFile(file.name)
            }
            try sync(staging)
        } catch {
            try? fm.removeItem(atPath: staging)
            throw error
        }

        let target = directory + "/" + date
        let previous = try? fm.destinationOfSymbolicLink(atPath: target)
        // A real directory in the link's place (put there by hand): moved aside, then removed.
        var isDirectory: ObjCBool = false
        if previous == nil, fm.fileExists(atPath: target, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                try? fm.removeItem(atPath: staging)
                throw ReportWriteError("\(target) is in the way: it is neither a report nor a link to one")
            }
            guard rename(target, directory + "/.\(date).replaced-\(unique)") == 0 else {
                let failure = ReportWriteError("cannot move aside", target)
                try? fm.removeItem(atPath: staging)
                throw failure
            }
        }
        let link = directory + "/.\(date).link-\(unique)"
        guard symlink(stagingName, link) == 0 else {
            let failure = ReportWriteError("cannot create the link", link)
            try? fm.removeItem(atPath: staging)
            throw failure
        }
        guard rename(link, target) == 0 else {
            let failure = ReportWriteError("cannot put the report in place at", target)
            unlink(link)
            try? fm.removeItem(atPath: staging)
            throw failure
        }
        try sync(directory)

        // What the link no longer points to: the previous report, and leftovers of crashed runs.
        if let names = try? fm.contentsOfDirectory(atPath: directory) {
            for name in names where name.hasPrefix(".\(date).") && name != stagingName {
                try? fm.removeItem(atPath: directory + "/" + name)
            }
        }
        return target
    }

    static func write(_ content: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ReportWriteError("cannot create", path) }
        defer { close(fd) }
        var bytes = Array(content.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ReportWriteError("cannot write", path)
            }
            bytes = bytes.dropFirst(written)
        }
        guard fsync(fd) == 0 else { throw ReportWriteError("cannot sync", path) }
    }

    /// fsync on a directory makes its entries (new files, a rename) durable.
    static func sync(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ReportWriteError("cannot open", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ReportWriteError("cannot sync", directory) }
    }
}

extension NightlyReport {
    /// The report's files: a CSV per section, summary.json, the ledger's head when the chain
    /// verified (`ledgerHeadFile`), index.html (written last, since it is what a person opens).
    public var files: [(name: String, content: String)] {
        var files = ReportSection.allCases.map { (name: "\($0.rawValue).csv", content: CSVFile.render($0, self[$0])) }
        files.append((name: "summary.json", content: summary.json))
        if let head = summary.ledgerAnchor { files.append((name: ReportDirectory.ledgerHeadFile, content: head.description + "\n")) }
        files.append((name: "index.html", content: HTMLPage.render(self)))
        return files
    }
}

extension ReportSummary {
    /// The head the report vouches for: the last entry and its hash, when the chain verified in the
    /// report's snapshot (entries are numbered from 1 without gaps then, so the last is `entries`).
    public var ledgerAnchor: LedgerAnchor? {
        guard ledgerStatus == "verified", ledgerEntries > 0 else { return nil }
        return LedgerAnchor(entry: Int64(ledgerEntries), hash: ledgerHead)
    }
}

extension ReportDirectory {
    /// Each report's published ledger head, one line `ENTRY:HASH`: copies of these kept out of the
    /// database's reach are what `cpdctl ledger verify --anchors` checks the ledger against.
    public static let ledgerHeadFile = "ledger-head.txt"

    /// The heads published under `directory`, by report date, oldest first. Reports without one (the
    /// chain did not verify, the ledger was empty, or a cpd from before heads were published) are
    /// left out; a head file that cannot be read as one is an error naming it, since it may have
    /// been tampered with.
    public static func publishedHeads(in directory: String) throws -> [(date: String, anchor: LedgerAnchor)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ReportFormatError("cannot read \(directory): \(error.localizedDescription)")
        }
        var heads: [(date: String, anchor: LedgerAnchor)] = []
        for date in names.sorted() where date.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil {
            let path = directory + "/" + date + "/" + ledgerHeadFile
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ReportFormatError("cannot read \(path)") }
            let line = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
            guard let anchor = LedgerAnchor(parsing: line) else {
                throw ReportFormatError("\(path) does not hold one line ENTRY:HASH")
            }
            heads.append((date, anchor))
        }
        return heads
    }
}
