import Glibc

/// Counts the answers in a server's byte stream, read in pieces of any size: an answer ends with
/// its final line. The load client needs only how many answers arrived and how many were errors,
/// so it looks at the first byte of each line and at the newlines, and decodes nothing.
struct AnswerFraming {
    /// Which server speaks on the stream.
    enum Dialect: String, Sendable, CaseIterable {
        /// cpdd's line protocol: data lines start with `* `, the final line with `OK` or `ERR`.
        case cpdd
        /// Redis's replies to PING: one line each, `+PONG` (or `-ERR ...`), ending in CRLF.
        case redis
    }

    /// What one piece of the stream completed.
    struct Tally: Equatable {
        var answers = 0
        var errors = 0
        /// The first line that no answer of the dialect starts with (its first byte), if any.
        var unexpected: UInt8?
    }

    private enum Line { case data, ok, error, unexpected(UInt8) }

    let dialect: Dialect
    /// The kind of the line being read, from its first byte; nil between lines.
    private var current: Line?

    init(_ dialect: Dialect) { self.dialect = dialect }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Tally {
        var tally = Tally()
        var index = 0
        while index < bytes.count {
            if current == nil { current = classify(bytes[index]) }
            guard let newline = firstNewline(in: bytes, from: index) else { break }
            switch current {
            case .ok: tally.answers += 1
            case .error: tally.answers += 1; tally.errors += 1
            case .unexpected(let byte): if tally.unexpected == nil { tally.unexpected = byte }
            case .data, nil: break
            }
            current = nil
            index = newline + 1
        }
        return tally
    }

    private func classify(_ first: UInt8) -> Line {
        switch (dialect, first) {
        case (.cpdd, UInt8(ascii: "*")): .data
        case (.cpdd, UInt8(ascii: "O")): .ok
        case (.cpdd, UInt8(ascii: "E")): .error
        case (.redis, UInt8(ascii: "+")): .ok
        case (.redis, UInt8(ascii: "-")): .error
        default: .unexpected(first)
        }
    }

    private func firstNewline(in bytes: UnsafeRawBufferPointer, from index: Int) -> Int? {
        guard let base = bytes.baseAddress,
              let found = memchr(base + index, Int32(UInt8(ascii: "\n")), bytes.count - index) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}
