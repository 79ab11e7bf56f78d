/// A value that breaks a rule of the domain; `field` names the argument so a client can fix it.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// Identifiers chosen by people: provider and course codes, practitioner ids, scheme codes.
/// Upper-case letters, digits, `-` and `_`, starting with a letter or digit, at most 32 long, so they
/// read well in reports and need no quoting on the wire.
public enum Code {
    public static func validate(_ text: String, field: String) throws(ValidationError) -> String {
        guard (1...32).contains(text.count), let first = text.unicodeScalars.first,
            isUpperOrDigit(first), text.unicodeScalars.allSatisfy({ isUpperOrDigit($0) || $0 == "-" || $0 == "_" })
        else {
            throw ValidationError(field, "'\(text.prefix(40))' is not a code: 1 to 32 of A-Z, 0-9, '-' and '_'")
        }
        return text
    }

    private static func isUpperOrDigit(_ s: Unicode.Scalar) -> Bool { ("A"..."Z").contains(s) || ("0"..."9").contains(s) }
}

/// Names from a small open vocabulary: topic categories (`mental_health`), modalities (`bowen`),
/// certificate kinds (`first_aid`). Lower-case letters, digits and `_`.
public enum Term {
    public static func validate(_ text: String, field: String) throws(ValidationError) -> String {
        guard (1...40).contains(text.count), text.first?.isLetter == true,
            text.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            throw ValidationError(field, "'\(text.prefix(40))' is not a term: lower-case letters, digits and '_'")
        }
        return text
    }
}

/// Free text people read: titles, names, summaries, reasons.
public enum Prose {
    public static func validate(_ text: String, field: String, maxLength: Int, allowEmpty: Bool = false) throws(ValidationError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty && !allowEmpty { throw ValidationError(field, "must not be empty") }
        guard trimmed.count <= maxLength else { throw ValidationError(field, "is longer than \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7F }) else {
            throw ValidationError(field, "must not contain control characters")
        }
        return trimmed
    }
}

/// A sender's idempotency key. Checked here exactly as the database checks it (`length(key) BETWEEN 1
/// AND 200`, where PostgreSQL counts Unicode scalars, not the grapheme clusters `String.count` counts),
/// so that a key the table would refuse is refused before it can fail a group-commit batch.
public enum IdempotencyKey {
    public static let maxScalars = 200

    /// The key as given (it is stored untrimmed, so its whole length counts).
    public static func validate(_ key: String, field: String = "key") throws(ValidationError) -> String {
        guard !key.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError(field, "must not be empty") }
        guard key.unicodeScalars.count <= maxScalars else {
            throw ValidationError(field, "is longer than \(maxScalars) characters (Unicode code points)")
        }
        // LF is allowed: a roster's key may be a quoted CSV field with a line break in it.
        guard !key.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }) else {
            throw ValidationError(field, "must not contain control characters")
        }
        return key
    }
}

extension String {
    func trimmingCharacters(in set: CharacterSetLike) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// The one character set the domain trims (CPDCore does not import Foundation).
public enum CharacterSetLike {
    case whitespaces
    func contains(_ c: Character) -> Bool { c == " " || c == "\t" }
}
