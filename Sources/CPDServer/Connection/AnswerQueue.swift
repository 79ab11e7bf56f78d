/// One connection's answers, in request order: each request takes a place when it is read, its
/// answer fills the place when it is made (answers are made in any order), and answers leave
/// strictly in order, a piece at a time. It also counts what is made and not yet handed to the
/// socket, with the bounds Redis calls client-output-buffer-limit: past the soft bound the
/// connection reads no more requests; answers piled past the hard bound behind the one at the head
/// of the order close it. The head answer alone may be of any size (a report of every member, read
/// by a client that reads). No I/O here: the connection handler asks and acts.
struct AnswerQueue {
    struct Limits: Sendable, Equatable {
        var soft: Int
        var hard: Int
    }

    /// An answer: its lines, its size on the wire, and whether the connection closes after it.
    struct Answer {
        var lines: [String]
        var bytes: Int
        var closeAfter: Bool
    }

    /// A piece to write: whole lines of the head answer, and whether it ends the answer and then the
    /// connection.
    struct Piece {
        var lines: ArraySlice<String>
        var bytes: Int
        var closesConnection: Bool
    }

    let limits: Limits
    /// Filled places not yet written, by place.
    private var made: [Int: Answer] = [:]
    /// The place of the answer written next (or being written), and the next place to give.
    private(set) var head = 0
    private(set) var next = 0
    /// Lines of the head answer already written, and their bytes.
    private var headLine = 0
    private var headWritten = 0
    /// Bytes made and not yet handed to the socket, each answer's `overhead` included.
    private(set) var unwritten = 0
    /// Pieces handed to the socket so far: reading a long answer slowly is progress.
    private(set) var progress = 0

    init(limits: Limits) {
        self.limits = limits
    }

    static func size(_ lines: [String]) -> Int { lines.reduce(0) { $0 + $1.utf8.count + 1 } }

    /// What an answer costs cpdd beyond its bytes on the wire (its entry, its array, its strings'
    /// headers), counted with them: a client that pipelines pings and never reads would otherwise
    /// hold 130,000 answers of 8 bytes under a 1 MiB bound, about 15 MB.
    static let overhead = 96

    /// A place for an answer to come.
    mutating func reserve() -> Int {
        defer { next += 1 }
        return next
    }

    /// Places given and not yet filled (requests still running).
    var running: Int { next - head - made.count }

    /// Fills `place`. False when the answers behind the head one are then past the hard bound.
    mutating func fill(_ place: Int, _ lines: [String], closeAfter: Bool = false) -> Bool {
        guard place >= head, place < next, made[place] == nil else { return true }
        let bytes = Self.size(lines)
        made[place] = Answer(lines: lines, bytes: bytes, closeAfter: closeAfter)
        unwritten += bytes + Self.overhead
        return unwritten - headRemaining <= limits.hard
    }

    /// The unwritten bytes of the head answer (with its overhead), when it is made.
    private var headRemaining: Int { made[head].map { $0.bytes - headWritten + Self.overhead } ?? 0 }

    /// Past the soft bound: read no more requests until the socket has taken enough.
    var overSoftBound: Bool { unwritten > limits.soft }

    /// Every place given has been written.
    var isEmpty: Bool { head == next }

    /// The next piece of at most about `chunk` bytes (whole lines, at least one), or nil when the head
    /// answer is not made yet. An answer of no lines leaves without a piece.
    mutating func nextPiece(chunk: Int) -> Piece? {
        while let answer = made[head] {
            guard headLine < answer.lines.count else {
                // Done (or empty): the next answer is the head.
                let closes = answer.closeAfter
                unwritten -= Self.overhead
                made[head] = nil
                head += 1
                headLine = 0
                headWritten = 0
                if closes { return Piece(lines: [], bytes: 0, closesConnection: true) }
                continue
            }
            var end = headLine, bytes = 0
            while end < answer.lines.count, bytes < chunk {
                bytes += answer.lines[end].utf8.count + 1
                end += 1
            }
            let piece = answer.lines[headLine..<end]
            headLine = end
            headWritten += bytes
            unwritten -= bytes
            progress += 1
            let last = end == answer.lines.count
            if last {
                unwritten -= Self.overhead
                made[head] = nil
                head += 1
                headLine = 0
                headWritten = 0
            }
            return Piece(lines: piece, bytes: bytes, closesConnection: last && answer.closeAfter)
        }
        return nil
    }
}
