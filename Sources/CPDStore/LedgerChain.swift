import CPDCore
import CivilCalendar
import Crypto
import Glibc
import Postgres

/// The ledger's hash chain, checked in cpdd rather than by `ledger_first_break()` in the database.
///
/// An entry's hash is `sha256(prev_hash || json)`, where `json` is the text PostgreSQL's
/// `json_build_array` makes of the entry's columns (`ledger_entry_digest` in
/// sql/migrations/0004_ledger.sql). Building that JSON is most of the cost of checking the chain in
/// SQL (about 4 µs an entry, 80 s of one core at 20 million entries); here the database only reads
/// the columns out, and the JSON and SHA-256 are made in Swift from libpq's bytes. The answer is the
/// SQL function's, entry for entry and word for word: the tests check both on sound and on broken
/// chains, and on text with quotes, backslashes, control characters and non-ASCII.
enum LedgerChain {
    /// The columns in the order `json_build_array` takes them, after id, prev_hash and hash. The day
    /// and the time come in the session's ISO style and are put in the digest's form here
    /// (`isoDay`, `isoInstant`): the database's to_char for them cost as much as the rest of the
    /// reading. A value that does not fit the usual form is formatted by the database, as the digest
    /// does (`formatted(_:_:)`).
    static let select = """
        SELECT id, prev_hash, hash,
               practitioner, kind, points::text, effective, course, course_version,
               category, delivery, reverses, reason, recorded_by,
               recorded_at AT TIME ZONE 'UTC', idempotency_key, request
        FROM ledger_entry ORDER BY id
        """
    static let effectiveColumn = 6, recordedAtColumn = 14

    /// The day and the time of one entry exactly as `ledger_entry_digest` formats them; nil where
    /// to_char gives NULL (`infinity`), which the digest writes as `null`.
    static func formatted(_ id: Int64, _ c: PostgresConnection) throws -> (effective: String?, recordedAt: String?) {
        let row = try c.query(
            """
            SELECT to_char(effective, 'YYYY-MM-DD'), to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM ledger_entry WHERE id = $1
            """, [id])[0]
        return (try row[0], try row[1])
    }

    /// For each element of the JSON array: its column in `select`, and whether json_build_array writes
    /// it as a number (integer columns) or as a string.
    static let elements: [(column: Int, number: Bool)] = [
        (0, true), (3, false), (4, false), (5, false), (6, false), (7, false), (8, true),
        (9, false), (10, false), (11, true), (12, false), (13, false), (14, false), (15, false), (16, false),
    ]

    struct Stop: Error {}

    /// Walks every entry in id order, in the caller's transaction, and names the first that is
    /// missing, does not link to the entry before it, or does not match its hash; and says of each
    /// anchor whether its entry, reached through a sound chain, still has the anchor's hash.
    static func check(_ c: PostgresConnection, anchors: [LedgerAnchor] = []) throws -> (LedgerStore.Verification, [LedgerStore.AnchorCheck]) {
        let anchored = Set(anchors.map(\.entry))
        // The hash each anchored entry has now, once the walk has checked it.
        var reached: [Int64: String] = [:]
        // The comparisons below assume hex bytea and UTF-8 text, whatever the connection was opened
        // with (the digest hashes UTF-8, from any server encoding).
        try c.execute(script: "SET LOCAL bytea_output = 'hex'; SET LOCAL client_encoding = 'UTF8'")
        var expected: Int64 = 1
        // The previous entry's hash, as bytes (the next digest starts with them) and as the bytea
        // text libpq hands over (`\x` and lower-case hex), so links and hashes are compared as text
        // without decoding each one.
        var previous = [UInt8](repeating: 0, count: 32)
        var previousText: [UInt8] = []
        writeByteaText(previous, into: &previousText)
        var json: [UInt8] = []
        json.reserveCapacity(1024)
        var broken: (entry: Int64, problem: String)? = nil
        do {
            try c.forEachRow(inBatchesOf: 10_000, select) { row in
                let id: Int64 = try row[0]
                guard id == expected else {
                    broken = (id, "entry \(expected) is missing")
                    throw Stop()
                }
                guard row.withUnsafeBytes(at: 1, { same($0, previousText) }) else {
                    broken = (id, "its link to the previous entry does not match")
                    throw Stop()
                }
                json.removeAll(keepingCapacity: true)
                if !canonicalJSON(row, into: &json) {
                    json.removeAll(keepingCapacity: true)
                    _ = canonicalJSON(row, into: &json, formatted: try formatted(id, c))
                }
                var hasher = SHA256()
                hasher.update(data: previous)
                hasher.update(data: json)
                let digest = hasher.finalize()
                previous.withUnsafeMutableBytes { out in digest.withUnsafeBytes { out.copyMemory(from: $0) } }
                writeByteaText(previous, into: &previousText)
                guard row.withUnsafeBytes(at: 2, { same($0, previousText) }) else {
                    broken = (id, "its content does not match its hash")
                    throw Stop()
                }
                if anchored.contains(id) { reached[id] = String(decoding: previousText.dropFirst(2), as: UTF8.self) }
                expected += 1
            }
        } catch is Stop {}
        let entries = expected - 1
        let checks = anchors.map { anchor -> LedgerStore.AnchorCheck in
            let problem: String?
            if let now = reached[anchor.entry] {
                problem = now == anchor.hash ? nil : "entry \(anchor.entry)'s hash is now \(now)"
            } else if let broken, broken.entry <= anchor.entry {
                problem = "the chain breaks at entry \(broken.entry), before entry \(anchor.entry) or at it"
            } else {
                problem = "entry \(anchor.entry) is not in the ledger, which has \(entries) entries"
            }
            return LedgerStore.AnchorCheck(anchor: anchor, problem: problem)
        }
        if let broken { return (.broken(entry: broken.entry, problem: broken.problem), checks) }
        return (.intact(entries: entries, head: String(decoding: previousText.dropFirst(2), as: UTF8.self)), checks)
    }

    /// `bytes` in bytea's hex output format: `\x` and two lower-case hex digits a byte.
    static func writeByteaText(_ bytes: [UInt8], into text: inout [UInt8]) {
        text.removeAll(keepingCapacity: true)
        text.append(UInt8(ascii: "\\"))
        text.append(UInt8(ascii: "x"))
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    /// Whether a value's bytes (nil for NULL) are exactly `text`.
    static func same(_ bytes: UnsafeRawBufferPointer?, _ text: [UInt8]) -> Bool {
        guard let bytes, bytes.count == text.count else { return false }
        return text.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
    }

    /// `json_build_array(...)::text` for the row: `[` elements separated by `, ` `]`, NULL as `null`,
    /// integers as they are, text through PostgreSQL's `escape_json`.
    /// False when the day or the time is not in the usual form: call again with `formatted`.
    static func canonicalJSON(
        _ row: PostgresRow, into out: inout [UInt8], formatted: (effective: String?, recordedAt: String?)? = nil
    ) -> Bool {
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            let written = row.withUnsafeBytes(at: element.column) { bytes -> Bool in
                guard let bytes else {
                    out.append(contentsOf: "null".utf8)
                    return true
                }
                switch element.column {
                case effectiveColumn:
                    if let formatted { write(formatted.effective, into: &out); return true }
                    return isoDay(bytes, into: &out)
                case recordedAtColumn:
                    if let formatted { write(formatted.recordedAt, into: &out); return true }
                    return isoInstant(bytes, into: &out)
                default:
                    if element.number { out.append(contentsOf: bytes) } else { escapeJSON(bytes, into: &out) }
                    return true
                }
            }
            guard written else { return false }
        }
        out.append(UInt8(ascii: "]"))
        return true
    }

    /// A string element as json_build_array writes it: escaped and quoted, or `null`.
    static func write(_ text: String?, into out: inout [UInt8]) {
        guard var text else { return out.append(contentsOf: "null".utf8) }
        text.withUTF8 { escapeJSON(UnsafeRawBufferPointer($0), into: &out) }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    static let timeDigits = [11, 12, 14, 15, 17, 18]

    /// A date in ISO style, `YYYY-MM-DD`, is already what to_char(effective, 'YYYY-MM-DD') gives:
    /// written quoted. Anything else (a fifth year digit, BC) is left to the database.
    static func isoDay(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard CivilCalendar.parseISODate(bytes) != nil else { return false }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: bytes)
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// A timestamp in ISO style, `YYYY-MM-DD HH:MM:SS` with up to six fraction digits (PostgreSQL
    /// drops trailing zeros), written as to_char's `YYYY-MM-DD"T"HH24:MI:SS.US"Z"`: a T, six fraction
    /// digits, a Z, quoted. Anything else is left to the database.
    static func isoInstant(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard bytes.count >= 19, bytes.count <= 26, bytes.count != 20, CivilCalendar.parseISODate(bytes[0..<10]) != nil,
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            timeDigits.allSatisfy({ isDigit(bytes[$0]) })
        else { return false }
        let fraction = bytes.count > 19 ? bytes[20...] : bytes[19...]
        guard bytes.count == 19 || bytes[19] == UInt8(ascii: "."), fraction.allSatisfy(isDigit) else { return false }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: bytes[0..<10])
        out.append(UInt8(ascii: "T"))
        out.append(contentsOf: bytes[11..<19])
        out.append(UInt8(ascii: "."))
        out.append(contentsOf: fraction)
        for _ in fraction.count..<6 { out.append(UInt8(ascii: "0")) }
        out.append(UInt8(ascii: "Z"))
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// PostgreSQL's escape_json: quotes around; `"` and `\` escaped; \b \f \n \r \t by name; other
    /// bytes below 0x20 as \u00xx (lower-case hex); everything else, UTF-8 included, as it is.
    static func escapeJSON(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case 0x08: out.append(contentsOf: [backslash, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [backslash, UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [backslash, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [backslash, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [backslash, UInt8(ascii: "t")])
            case UInt8(ascii: "\""), backslash: out.append(contentsOf: [backslash, byte])
            case ..<0x20:
                out.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
}
