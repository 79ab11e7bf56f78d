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
    /// Whatever the umask: the owner writes, the group (`cpd` when installed) reads, nobody else.
    static let fileMode: mode_t = 0o640
    static let folderMode: mode_t = 0o750

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
        try makeFolders(directory)
        // Everything below goes through this descriptor and names without a slash, so a link planted
        // in the directory is never followed.
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw ReportWriteError("cannot open", directory) }
        defer { close(folder) }
        // One publisher at a time per directory (two runs for one date would remove each other's files).
        let lock = try openLock(in: folder, path: directory + "/.lock")
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw ReportWriteError("cannot lock", directory + "/.lock") }

        let unique = "\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let stagingName = ".\(date).\(unique)"
        let staging = directory + "/" + stagingName
        guard mkdirat(folder, stagingName, folderMode) == 0 else { throw ReportWriteError("cannot create", staging) }
        do {
            let stagingFolder = openat(folder, stagingName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard stagingFolder >= 0 else { throw ReportWriteError("cannot open", staging) }
            defer { close(stagingFolder) }
            guard fchmod(stagingFolder, folderMode) == 0 else { throw ReportWriteError("cannot set the mode of", staging) }
            for file in files {
                precondition(!file.name.contains("/") && !file.name.hasPrefix("."), "a report file name is plain: \(file.name)")
                try write(file.content, in: stagingFolder, name: file.name, path: staging + "/" + file.name)
                try afterEachFile(file.name)
            }
            guard fsync(stagingFolder) == 0 else { throw ReportWriteError("cannot sync", staging) }
        } catch {
            try? remove(stagingName, in: folder)
            throw error
        }

        let target = directory + "/" + date
        var existing = stat()
        if fstatat(folder, date, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT != S_IFLNK {
            // A real directory in the link's place (put there by hand): moved aside, then removed.
            guard existing.st_mode & S_IFMT == S_IFDIR else {
                try? remove(stagingName, in: folder)
                throw ReportWriteError("\(target) is in the way: it is neither a report nor a link to one")
            }
            guard renameat(folder, date, folder, ".\(date).replaced-\(unique)") == 0 else {
                let failure = ReportWriteError("cannot move aside", target)
                try? remove(stagingName, in: folder)
                throw failure
            }
        }
        let linkName = ".\(date).link-\(unique)"
        guard symlinkat(stagingName, folder, linkName) == 0 else {
            let failure = ReportWriteError("cannot create the link", directory + "/" + linkName)
            try? remove(stagingName, in: folder)
            throw failure
        }
        guard renameat(folder, linkName, folder, date) == 0 else {
            let failure = ReportWriteError("cannot put the report in place at", target)
            unlinkat(folder, linkName, 0)
            try? remove(stagingName, in: folder)
            throw failure
        }
        guard fsync(folder) == 0 else { throw ReportWriteError("cannot sync", directory) }

        // What the link no longer points to: the previous report, and leftovers of crashed runs.
        for name in (try? names(in: folder)) ?? [] where name.hasPrefix(".\(date).") && name != stagingName {
            try? remove(name, in: folder)
        }
        return target
    }

    /// Creates the folders of `path` that are missing, each `folderMode`; those that exist are left as they are.
    static func makeFolders(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, folderMode) == 0 {
                guard chmod(prefix, folderMode) == 0 else { throw ReportWriteError("cannot set the mode of", prefix) }
            } else if errno != EEXIST {
                throw ReportWriteError("cannot create", prefix)
            }
        }
    }

    /// The lock file, never through a link: a link planted at its place would otherwise have the
    /// publisher create or open a file wherever the link points.
    static func openLock(in folder: Int32, path: String) throws -> Int32 {
        // O_NONBLOCK: a FIFO planted in the lock's place must not hang the open.
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        var lock = openat(folder, ".lock", flags | O_CREAT | O_EXCL, fileMode)
        if lock >= 0 {
            guard fchmod(lock, fileMode) == 0 else {
                let failure = ReportWriteError("cannot set the mode of", path)
                close(lock)
                throw failure
            }
        } else if errno == EEXIST {
            lock = openat(folder, ".lock", flags)
        }
        guard lock >= 0 else {
            if errno == ELOOP { throw ReportWriteError("\(path) is a symbolic link; it is not followed") }
            throw ReportWriteError("cannot open", path)
        }
        var info = stat()
        guard fstat(lock, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(lock)
            throw ReportWriteError("\(path) is not a plain file")
        }
        return lock
    }

    static func write(_ content: String, in folder: Int32, name: String, path: String) throws {
        let fd = openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw ReportWriteError("cannot create", path) }
        defer { close(fd) }
        guard fchmod(fd, fileMode) == 0 else { throw ReportWriteError("cannot set the mode of", path) }
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

    /// Removes `name` from `folder` without following links: a link is unlinked, never what it points
    /// to, and a folder is emptied through descriptors, so a link swapped in cannot redirect it.
    static func remove(_ name: String, in folder: Int32, depth: Int = 0) throws {
        var info = stat()
        guard fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw ReportWriteError("cannot examine", name)
        }
        if info.st_mode & S_IFMT != S_IFDIR {
            guard unlinkat(folder, name, 0) == 0 || errno == ENOENT else { throw ReportWriteError("cannot remove", name) }
            return
        }
        // A report is flat; a deeper tree is not one of ours and is left alone.
        guard depth < 8 else { throw ReportWriteError("\(name) is nested too deeply to be a report; left in place") }
        let child = openat(folder, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else { throw ReportWriteError("cannot open", name) }
        defer { close(child) }
        for entry in try names(in: child) { try remove(entry, in: child, depth: depth + 1) }
        guard unlinkat(folder, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw ReportWriteError("cannot remove", name) }
    }

    /// The entries of an open folder, without `.` and `..`; the descriptor stays open.
    static func names(in folder: Int32) throws -> [String] {
        let copy = dup(folder)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw ReportWriteError("cannot list a folder: \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
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
