import CPDCore

/// What a ledger entry keeps of the request that made it (`ledger_entry.request`), so that its key,
/// sent again, is told apart: the same request is a replay, another request is a conflict.
///
/// Made from the request's typed values, never from protocol text, in a canonical and versioned
/// form: `v2`, the entry's kind, then for each field a space, its name, `=`, and either `-` (none)
/// or the value's UTF-8 byte count, `:` and the value:
///
///     v2 completion practitioner=6:P-1001 course=7:MH-EVID completed=10:2026-08-01
///
/// The counts make it unambiguous whatever a value holds (a reason may hold ` category=` or a line
/// break), so two requests have one fingerprint only when every field is the same, byte for byte.
///
/// Entries written before version 2 hold the protocol-like text of their time
/// (`completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01`). `request` is
/// covered by the entry's hash and the ledger is append-only, so those rows are never rewritten:
/// a request is compared with both its forms, and a retry whose first attempt an earlier cpdd
/// stored is still a replay. Only version 2 is written.
struct RequestFingerprint: Sendable, Equatable {
    /// The form written with a new entry.
    let text: String
    /// The form a cpdd before version 2 stored for the same request: compared, never written.
    let legacyText: String?

    /// Whether `stored`, an entry's `request`, is this request in either form, compared byte for byte
    /// as PostgreSQL compares text (Swift's String equality would take "é" and "e" with a combining
    /// accent for one).
    func matches(_ stored: String) -> Bool {
        if stored.utf8.elementsEqual(text.utf8) { return true }
        guard let legacyText else { return false }
        return stored.utf8.elementsEqual(legacyText.utf8)
    }

    static func completion(practitioner: String, course: String, completed: Day) -> RequestFingerprint {
        RequestFingerprint(
            text: canonical(.completion, [("practitioner", practitioner), ("course", course), ("completed", completed.description)]),
            legacyText: "completion.record practitioner=\(practitioner) course=\(course) completed=\(completed)")
    }

    /// `reason` as validated (trimmed), as it is stored in the entry.
    static func reversal(entry: Int64, reason: String) -> RequestFingerprint {
        RequestFingerprint(
            text: canonical(.reversal, [("entry", String(entry)), ("reason", reason)]),
            legacyText: "entry.reverse entry=\(entry) reason=\(reason)")
    }

    /// `reason` and `category` as validated, as they are stored in the entry.
    static func adjustment(
        practitioner: String, points: Points, reason: String, category: String?, delivery: Delivery?
    ) -> RequestFingerprint {
        let fields: [(String, String?)] = [
            ("practitioner", practitioner), ("points", points.description), ("reason", reason), ("category", category),
            ("delivery", delivery?.rawValue),
        ]
        let legacy = "entry.adjust practitioner=\(practitioner) points=\(points) reason=\(reason) "
            + "category=\(category ?? "") delivery=\(delivery?.rawValue ?? "")"
        return RequestFingerprint(text: canonical(.adjustment, fields), legacyText: legacy)
    }

    /// Its key is derived from the member (`opening:ID`) and no sender's retry meets it, so it has no
    /// earlier form to compare with.
    static func openingBalance(practitioner: String, scheme: String) -> RequestFingerprint {
        RequestFingerprint(text: canonical(.openingBalance, [("practitioner", practitioner), ("scheme", scheme)]), legacyText: nil)
    }

    static let version = "v2"

    /// `fields` are names and values; a name is a word of the code's, never a request's.
    static func canonical(_ kind: EntryKind, _ fields: [(String, String?)]) -> String {
        var text = version + " " + kind.rawValue
        for (name, value) in fields {
            text += " "
            text += name
            text += "="
            if let value {
                text += String(value.utf8.count)
                text += ":"
                text += value
            } else {
                text += "-"
            }
        }
        return text
    }

    /// A stored request as a conflict names it to its sender: version 2 read back into the command's
    /// words (`completion.record practitioner=P-1001 course=MH-EVID completed=2026-08-01`), earlier
    /// text as it is, and anything that does not read as either as it is.
    static func readable(_ stored: String) -> String {
        let bytes = Array(stored.utf8)
        let prefix = Array((version + " ").utf8)
        guard bytes.starts(with: prefix) else { return stored }
        var at = prefix.count
        func word(until stop: UInt8) -> String? {
            guard let end = bytes[at...].firstIndex(of: stop) else { return nil }
            defer { at = end + 1 }
            return String(decoding: bytes[at..<end], as: UTF8.self)
        }
        let kindEnd = bytes[at...].firstIndex(of: UInt8(ascii: " ")) ?? bytes.endIndex
        let kind = String(decoding: bytes[at..<kindEnd], as: UTF8.self)
        at = kindEnd
        let commands = ["completion": "completion.record", "reversal": "entry.reverse", "adjustment": "entry.adjust"]
        var words = [commands[kind] ?? kind]
        while at < bytes.count {
            guard bytes[at] == UInt8(ascii: " ") else { return stored }
            at += 1
            guard let name = word(until: UInt8(ascii: "=")), at < bytes.count else { return stored }
            if bytes[at] == UInt8(ascii: "-") {
                at += 1
                continue
            }
            guard let count = word(until: UInt8(ascii: ":")).flatMap({ Int($0) }), count >= 0, count <= bytes.count - at else { return stored }
            words.append(name + "=" + String(decoding: bytes[at..<(at + count)], as: UTF8.self))
            at += count
        }
        return words.joined(separator: " ")
    }
}
