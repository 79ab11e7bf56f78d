/// The AdminProtocol module: lines in, lines out. It parses request lines, formats response lines and
/// frames a byte stream into lines, as docs/protocol.md describes. Pure: no sockets, no database, no
/// domain rules, so that every function here can be tested and fuzzed on bytes alone.

/// What the framer makes of the byte stream.
public enum FramedLine: Sendable, Equatable {
    /// One line, without its LF (or CRLF).
    case line([UInt8])
    /// A line longer than the limit; its bytes were discarded up to and including its LF.
    case tooLong
}

/// Splits a byte stream into lines of at most `limit` bytes, holding at most `limit` bytes at any time.
/// A longer line is reported once as `.tooLong` as soon as it passes the limit, and the rest of it is
/// skipped, so the next line is read normally and memory stays bounded whatever a client sends.
public struct LineFramer: Sendable {
    public let limit: Int
    private var pending: [UInt8] = []
    private var discarding = false

    public init(limit: Int = 16 * 1024) {
        precondition(limit > 0, "a line limit must be positive")
        self.limit = limit
    }

    /// Bytes held for a line not yet complete.
    public var bufferedByteCount: Int { pending.count }

    /// Feeds bytes in from memory; the daemon's decoder calls this one, which is specialised here
    /// (the generic one, called from another module, looked its types up at run time per read).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [FramedLine] {
        feed(bytes[...])
    }

    /// Feeds bytes in; returns the lines they complete, in order.
    public mutating func feed<Bytes: BidirectionalCollection>(_ bytes: Bytes) -> [FramedLine] where Bytes.Element == UInt8 {
        var out: [FramedLine] = []
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let rest = bytes[index...]
            let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
            let chunk = rest[..<(newline ?? bytes.endIndex)]
            if discarding {
                if newline != nil { discarding = false }
            } else if pending.count + chunk.count > limit + ((chunk.last ?? pending.last) == UInt8(ascii: "\r") ? 1 : 0) {
                // Over the limit (a final CR, which may be half of a CRLF, does not count): report
                // once, and skip the rest of the line.
                pending.removeAll(keepingCapacity: false)
                out.append(.tooLong)
                discarding = newline == nil
            } else {
                pending.append(contentsOf: chunk)
                if newline != nil {
                    if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                    out.append(.line(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            guard let newline else { break }
            index = bytes.index(after: newline)
        }
        return out
    }

    /// At the end of the stream: a last line the client sent without its LF before closing its
    /// side is still a request (`printf 'ping' | socat ...`). Nil when nothing is pending.
    public mutating func finish() -> FramedLine? {
        defer {
            pending.removeAll(keepingCapacity: false)
            discarding = false
        }
        guard !discarding, !pending.isEmpty else { return nil }
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        return .line(pending)
    }
}
