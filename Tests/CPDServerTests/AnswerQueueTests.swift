import Testing

@testable import CPDServer

/// The order and the bounds of one connection's answers, without a socket.
@Suite struct AnswerQueueTests {
    func drain(_ queue: inout AnswerQueue, chunk: Int = 1 << 20) -> [String] {
        var out: [String] = []
        while let piece = queue.nextPiece(chunk: chunk) { out += piece.lines }
        return out
    }

    @Test func answersLeaveInRequestOrderWhateverOrderTheyAreMadeIn() {
        var queue = AnswerQueue(limits: .init(soft: 1000, hard: 10_000))
        let (a, b, c) = (queue.reserve(), queue.reserve(), queue.reserve())
        let fits1 = queue.fill(c, ["OK c"])
        #expect(fits1)
        let fits2 = queue.fill(b, ["* b", "OK b"])
        #expect(fits2)
        #expect(drain(&queue).isEmpty, "nothing leaves before the first answer is made")
        #expect(queue.running == 1)
        let fits3 = queue.fill(a, ["OK a"])
        #expect(fits3)
        #expect(drain(&queue) == ["OK a", "* b", "OK b", "OK c"])
        #expect(queue.isEmpty && queue.unwritten == 0)
    }

    @Test func theHeadAnswerAloneMayBeOfAnySizeButAnswersPiledBehindItMayNot() {
        var queue = AnswerQueue(limits: .init(soft: 10, hard: 300))
        let long = queue.reserve(), ping = queue.reserve(), more = queue.reserve()
        let fits4 = queue.fill(long, Array(repeating: String(repeating: "x", count: 99), count: 50))
        #expect(fits4, "5,000 bytes at the head")
        let fits5 = queue.fill(ping, ["OK pong"])
        #expect(fits5, "a ping behind it is not a pile")
        #expect(queue.overSoftBound)
        let fits6 = queue.fill(more, Array(repeating: String(repeating: "y", count: 99), count: 2))
        #expect(!fits6, "200 bytes behind the head are")
    }

    @Test func aLongAnswerLeavesInPiecesOfWholeLinesAndEachIsProgress() {
        var queue = AnswerQueue(limits: .init(soft: 10, hard: 100))
        let place = queue.reserve()
        let fits7 = queue.fill(place, Array(repeating: String(repeating: "z", count: 9), count: 10))
        #expect(fits7)
        var pieces: [Int] = []
        while let piece = queue.nextPiece(chunk: 25) { pieces.append(piece.lines.count) }
        #expect(pieces == [3, 3, 3, 1])
        #expect(queue.progress == 4 && queue.unwritten == 0)
    }

    @Test func anAnswerThatClosesEndsTheConnectionAfterItsLastPiece() {
        var queue = AnswerQueue(limits: .init(soft: 100, hard: 1000))
        let bye = queue.reserve(), after = queue.reserve()
        let fits8 = queue.fill(after, ["OK never"])
        #expect(fits8)
        let fits9 = queue.fill(bye, ["OK bye"], closeAfter: true)
        #expect(fits9)
        let piece = queue.nextPiece(chunk: 100)
        #expect(piece?.lines == ["OK bye"] && piece?.closesConnection == true)

        // A request refused with no answer of its own (after a closing refusal) still closes.
        var silent = AnswerQueue(limits: .init(soft: 100, hard: 1000))
        let place = silent.reserve()
        let fits10 = silent.fill(place, [], closeAfter: true)
        #expect(fits10)
        let last = silent.nextPiece(chunk: 100)
        #expect(last?.lines.isEmpty == true && last?.closesConnection == true)
    }

    @Test func anAnswerOfNoLinesTakesNoPieceAndLetsTheNextGo() {
        var queue = AnswerQueue(limits: .init(soft: 100, hard: 1000))
        let none = queue.reserve(), next = queue.reserve()
        let fits11 = queue.fill(none, [])
        #expect(fits11)
        let fits12 = queue.fill(next, ["OK"])
        #expect(fits12)
        #expect(drain(&queue) == ["OK"])
        #expect(queue.isEmpty)
    }

    @Test func aPlaceIsFilledOnce() {
        var queue = AnswerQueue(limits: .init(soft: 100, hard: 1000))
        let place = queue.reserve()
        let fits13 = queue.fill(place, ["OK first"])
        #expect(fits13)
        let fits14 = queue.fill(place, ["OK second"])
        #expect(fits14)
        #expect(drain(&queue) == ["OK first"])
    }

    @Test func eachAnswerCountsWhatItCostsBesideItsBytes() {
        // 1,000 pings are 8,000 bytes on the wire, but each answer costs cpdd more than its bytes.
        var queue = AnswerQueue(limits: .init(soft: 50_000, hard: 1 << 30))
        for _ in 0..<1_000 {
            let place = queue.reserve()
            let fits = queue.fill(place, ["OK pong"])
            #expect(fits)
        }
        #expect(queue.unwritten == 1_000 * (8 + AnswerQueue.overhead))
        #expect(queue.overSoftBound, "past 50,000: the connection stops reading")
        _ = drain(&queue)
        #expect(queue.unwritten == 0)
    }
}
