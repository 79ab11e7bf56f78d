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
    /// The columns in the order `json_build_array` takes them, after id, prev_hash and hash. Dates and
    /// times are formatted by the database exactly as the digest formats them.
    static let select = """
        SELECT id, prev_hash, hash,
               practitioner, kind, points::text, to_char(effective, 'YYYY-MM-DD'), course, course_version,
               category, delivery, reverses, reason, recorded_by,
               to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), idempotency_key, request
        FROM ledger_entry ORDER BY id
        """

    /// For each element of the JSON array: its column in `select`, and whether json_build_array writes
    /// it as a number (integer columns) or as a string.
    static let elements: [(column: Int, number: Bool)] = [
        (0, true), (3, false), (4, false), (5, false), (6, false), (7, false), (8, true),
        (9, false), (10, false), (11, true), (12, false), (13, false), (14, false), (15, false), (16, false),
    ]

    struct Stop: Error {}

    /// Walks every entry in id order, in the caller's transaction, and names the first that is
    /// missing, does not link to the entry before it, or does not match its hash.
    static func check(_ c: PostgresConnection) throws -> LedgerStore.Verification {
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
                canonicalJSON(row, into: &json)
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
                expected += 1
            }
        } catch is Stop {}
        if let broken { return .broken(entry: broken.entry, problem: broken.problem) }
        return .intact(entries: expected - 1, head: String(decoding: previousText.dropFirst(2), as: UTF8.self))
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
    static func canonicalJSON(_ row: PostgresRow, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            row.withUnsafeBytes(at: element.column) { bytes in
                guard let bytes else { return out.append(contentsOf: "null".utf8) }
                if element.number { out.append(contentsOf: bytes) } else { escapeJSON(bytes, into: &out) }
            }
        }
        out.append(UInt8(ascii: "]"))
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
