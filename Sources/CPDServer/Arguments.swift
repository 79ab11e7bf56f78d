import AdminProtocol
import CPDCore
import CPDStore

/// A request's arguments, read as domain values; each failure names the argument.
struct Arguments {
    let request: Request

    func text(_ key: String) -> String? { request[key] }

    /// The bare words after the command (`help ping`).
    var words: [String] { request.positional }

    func required(_ key: String) throws(ValidationError) -> String {
        guard let value = request[key] else { throw ValidationError(key, "is required") }
        return value
    }

    /// A required argument read by one of the readers below (`a.required("on", a.day)`): the
    /// session checks required arguments before a command runs, and this keeps that promise typed
    /// instead of force-unwrapped.
    func required<Value>(_ key: String, _ read: (String) throws(ValidationError) -> Value?) throws(ValidationError) -> Value {
        guard let value = try read(key) else { throw ValidationError(key, "is required") }
        return value
    }

    func code(_ key: String) throws(ValidationError) -> String? {
        try request[key].map { (v: String) throws(ValidationError) in try Code.validate(v, field: key) }
    }

    func term(_ key: String) throws(ValidationError) -> String? {
        try request[key].map { (v: String) throws(ValidationError) in try Term.validate(v, field: key) }
    }

    func points(_ key: String) throws(ValidationError) -> Points? {
        guard let text = request[key] else { return nil }
        guard let points = Points(parsing: text) else {
            throw ValidationError(key, "'\(text.prefix(20))' is not a number with at most two decimal places")
        }
        return points
    }

    func day(_ key: String) throws(ValidationError) -> Day? {
        guard let text = request[key] else { return nil }
        guard let day = Day(parsing: text) else { throw ValidationError(key, "'\(text.prefix(20))' is not a date YYYY-MM-DD") }
        return day
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ValidationError) -> Int? {
        guard let text = request[key] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError(key, "'\(text.prefix(20))' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func delivery(_ key: String) throws(ValidationError) -> Delivery? {
        try request[key].map { (v: String) throws(ValidationError) in try Delivery(parsing: v, field: key) }
    }

    /// A comma-separated list of terms (`modalities=remedial,bowen`); empty is the empty list.
    func terms(_ key: String) throws(ValidationError) -> [String]? {
        guard let text = request[key] else { return nil }
        return try text.split(separator: ",").map { (v: Substring) throws(ValidationError) in
            try Term.validate(String(v).trimmingCharacters(in: .whitespaces), field: key)
        }
    }

    /// `anchors=ENTRY:HASH,...`, each once, in the order given; none when the argument is absent.
    func anchors(_ key: String) throws(ValidationError) -> [LedgerAnchor] {
        guard let text = request[key] else { return [] }
        var anchors: [LedgerAnchor] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let anchor = LedgerAnchor(parsing: item) else {
                throw ValidationError(key, "'\(item.prefix(90))' is not ENTRY:HASH (an entry number, a colon, 64 hex digits)")
            }
            if !anchors.contains(anchor) { anchors.append(anchor) }
        }
        return anchors
    }

    /// A month, `YYYY-MM`, as its first day.
    func month(_ key: String) throws(ValidationError) -> Day? {
        guard let text = request[key] else { return nil }
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"), let day = Day(parsing: text + "-01") else {
            throw ValidationError(key, "'\(text.prefix(20))' is not a month YYYY-MM")
        }
        return day
    }

    /// An audit's number.
    func audit(_ key: String = "audit") throws(ValidationError) -> Int64 {
        guard let value = Int64(try required(key)), value > 0 else { throw ValidationError(key, "is an audit number") }
        return value
    }

    /// A file's SHA-256 as 64 hex digits, kept in lower case.
    func sha256(_ key: String) throws(ValidationError) -> String {
        let text = try required(key)
        guard text.utf8.count == 64, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }) else {
            throw ValidationError(key, "is the file's SHA-256: 64 hex digits (as sha256sum prints it)")
        }
        return text.lowercased()
    }

    /// Free text a person wrote (a reason, a note, a description): not blank, at most 500 characters.
    func prose(_ key: String) throws(ValidationError) -> String? {
        guard let text = request[key] else { return nil }
        guard !text.allSatisfy(\.isWhitespace) else { throw ValidationError(key, "is empty") }
        guard text.unicodeScalars.count <= 500 else { throw ValidationError(key, "is longer than 500 characters") }
        return text
    }

    /// `uid=` or `user=` (the session has checked that exactly one is given).
    func account() throws(ValidationError) -> PrincipalStore.Grant.Account {
        if let uid = request["uid"] {
            guard let value = UInt32(uid) else { throw ValidationError("uid", "is a number") }
            return .uid(value)
        }
        return .user(try required("user"))
    }
}
