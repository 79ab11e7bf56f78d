import Testing

@testable import cpd_bench

@Suite struct AnswerFramingTests {
    func feed(_ framing: inout AnswerFraming, _ text: String) -> AnswerFraming.Tally {
        Array(text.utf8).withUnsafeBytes { framing.consume($0) }
    }

    @Test func aCpddAnswerIsCountedAtItsFinalLineNotAtItsDataLines() {
        var framing = AnswerFraming(.cpdd)
        #expect(feed(&framing, "* course=C-1\n* course=C-2\n") == .init())
        #expect(feed(&framing, "OK count=2\n") == .init(answers: 1))
    }

    @Test func anErrAnswerCountsAsAnAnswerAndAnError() {
        var framing = AnswerFraming(.cpdd)
        #expect(feed(&framing, "OK pong\nERR not_found no such member\nOK\n") == .init(answers: 3, errors: 1))
    }

    @Test func aFinalLineSplitAcrossReadsIsCountedWhenItsNewlineArrives() {
        var framing = AnswerFraming(.cpdd)
        var total = AnswerFraming.Tally()
        for byte in "* a\nOK points=12.00\nERR busy try later\n".utf8 {
            let tally = [byte].withUnsafeBytes { framing.consume($0) }
            total.answers += tally.answers
            total.errors += tally.errors
            if byte == UInt8(ascii: "\n") { continue }
            #expect(tally == .init())
        }
        #expect(total == .init(answers: 2, errors: 1))
    }

    @Test func aDataLineSplitAfterItsFirstByteIsStillData() {
        var framing = AnswerFraming(.cpdd)
        #expect(feed(&framing, "*") == .init())
        #expect(feed(&framing, " OK looks final but is data\nOK\n") == .init(answers: 1))
    }

    @Test func aLineNoCpddAnswerStartsWithIsReported() {
        var framing = AnswerFraming(.cpdd)
        #expect(feed(&framing, "+PONG\r\n").unexpected == UInt8(ascii: "+"))
    }

    @Test func redisRepliesAreOneLineEach() {
        var framing = AnswerFraming(.redis)
        #expect(feed(&framing, "+PONG\r\n+PO") == .init(answers: 1))
        #expect(feed(&framing, "NG\r\n-ERR unknown command\r\n") == .init(answers: 2, errors: 1))
    }
}
