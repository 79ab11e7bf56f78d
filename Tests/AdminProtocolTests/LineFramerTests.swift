import Foundation
import Testing

@testable import AdminProtocol

@Suite struct LineFramerTests {
    func text(_ lines: [FramedLine]) -> [String] {
        lines.map {
            switch $0 {
            case .line(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .tooLong: return "<too long>"
            }
        }
    }

    @Test func linesEndInLFOrCRLF() {
        var framer = LineFramer(limit: 100)
        #expect(text(framer.feed(Array("ping\nwhoami\r\nquit".utf8))) == ["ping", "whoami"])
        #expect(framer.bufferedByteCount == 4)
        #expect(text(framer.feed(Array("\n".utf8))) == ["quit"])
    }

    @Test func aLineSplitAcrossReadsIsJoined() {
        var framer = LineFramer(limit: 100)
        var out: [FramedLine] = []
        for byte in "course.show code=X\r\n".utf8 { out += framer.feed([byte]) }
        #expect(text(out) == ["course.show code=X"])
    }

    @Test func aLineOverTheLimitIsReportedOnceAndTheNextLineIsReadNormally() {
        var framer = LineFramer(limit: 10)
        var out = framer.feed(Array(String(repeating: "a", count: 8).utf8))
        out += framer.feed(Array(String(repeating: "b", count: 50).utf8))
        #expect(framer.bufferedByteCount == 0, "nothing of a long line is held")
        out += framer.feed(Array(String(repeating: "c", count: 5000).utf8))
        out += framer.feed(Array("tail\nping\n".utf8))
        #expect(text(out) == ["<too long>", "ping"])
    }

    @Test func aLineOfExactlyTheLimitIsAccepted() {
        var framer = LineFramer(limit: 10)
        let exact = String(repeating: "x", count: 10)
        #expect(text(framer.feed(Array((exact + "\r\n" + exact + "y\n").utf8))) == [exact, "<too long>"])
    }

    @Test func memoryStaysBoundedUnderAnEndlessLine() {
        var framer = LineFramer(limit: 1024)
        let chunk = [UInt8](repeating: 65, count: 4096)
        var reports = 0
        for _ in 0..<1000 {
            reports += framer.feed(chunk).count
            #expect(framer.bufferedByteCount <= 1024)
        }
        #expect(reports == 1)
    }
}

@Suite struct RequestParserTests {
    @Test func commandsAreCaseInsensitiveAndArgumentsKeepTheirOrder() throws {
        let request = try #require(try RequestParser.parse("Course.Add code=MH-EVID points=3 title=\"Massage and mood\""))
        #expect(request.command == "course.add")
        #expect(request.arguments.map(\.key) == ["code", "points", "title"])
        #expect(request["title"] == "Massage and mood")
        #expect(request["missing"] == nil)
    }

    @Test func bareWordsBeforeTheArgumentsArePositional() throws {
        let request = try #require(try RequestParser.parse("FORMAT json"))
        #expect(request.command == "format" && request.positional == ["json"] && request.arguments.isEmpty)
        #expect(try RequestParser.parse("help course.add")?.positional == ["course.add"])
    }

    @Test func blankLinesAndCommentsAreNotRequests() throws {
        #expect(try RequestParser.parse("") == nil)
        #expect(try RequestParser.parse("   \t ") == nil)
        #expect(try RequestParser.parse("# a comment ping") == nil)
        #expect(try RequestParser.parse("  # indented comment") == nil)
    }

    @Test func quotedValuesUnescape() throws {
        let request = try #require(try RequestParser.parse(#"x a="say \"hi\"" b="back\\slash" c="l1\nl2\tt" d="" e="k=v""#))
        #expect(request["a"] == "say \"hi\"")
        #expect(request["b"] == "back\\slash")
        #expect(request["c"] == "l1\nl2\tt")
        #expect(request["d"] == "")
        #expect(request["e"] == "k=v")
    }

    @Test func bareValuesMayHoldEqualsAndUnicode() throws {
        let request = try #require(try RequestParser.parse("x q=a=b name=Zoë🧘"))
        #expect(request["q"] == "a=b")
        #expect(request["name"] == "Zoë🧘")
    }

    @Test(arguments: [
        "x a=\"unterminated",
        "x a=\"bad \\q escape\"",
        "x a=\"closed\"trailing",
        "x a=b\"c",
        "x \"quoted\"",
        "x a=1 bare",
        "x =value",
        "x Key=v",
        "x a=1 a=2",
        "-x a=1",
        "x\u{1F9D8} a=1",
        "x a-b=1",
    ])
    func malformedLinesAreSyntaxErrors(line: String) {
        #expect(throws: RequestSyntaxError.self) { try RequestParser.parse(line) }
    }
}

@Suite struct ResponseLineTests {
    @Test func valuesAreQuotedOnlyWhenTheyNeedIt() {
        #expect(ResponseLine.quote("P-1001") == "P-1001")
        #expect(ResponseLine.quote("") == "\"\"")
        #expect(ResponseLine.quote("two words") == "\"two words\"")
        #expect(ResponseLine.quote("a=b") == "\"a=b\"")
        #expect(ResponseLine.quote("say \"hi\"\n") == #""say \"hi\"\n""#)
    }

    @Test func quotingRoundTripsThroughTheParser() throws {
        let values = ["plain", "", "with space", "q\"uote", "back\\slash", "tab\tnl\ncr\r", "k=v", "Ünï 🧘", "#hash"]
        for value in values {
            let line = "x " + ResponseLine.data([("v", value)]).dropFirst(2)
            #expect(try RequestParser.parse(String(line))?["v"] == value, "\(value)")
        }
    }

    @Test func finalLinesStayOnOneLine() {
        #expect(ResponseLine.ok() == "OK")
        #expect(ResponseLine.ok("pong") == "OK pong")
        #expect(ResponseLine.err(.notFound, "no practitioner\nP-9999") == "ERR not_found no practitioner P-9999")
        #expect(ResponseLine.err(.lineTooLong, "x").hasPrefix("ERR line_too_long "))
    }
}

/// The fuzz target's properties, on the seed corpus and on random protocol-like input, in every CI run.
@Suite struct ProtocolPropertyTests {
    @Test func theSeedCorpusKeepsEveryProperty() throws {
        let directory = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let corpus = "/" + directory + "/Fuzz/corpus"
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus)
        #expect(files.count >= 4)
        for file in files { ProtocolSelfCheck.check(Array(try Data(contentsOf: URL(fileURLWithPath: corpus + "/" + file)))) }
    }

    @Test func randomProtocolLikeInputKeepsEveryProperty() {
        // Bytes drawn mostly from what requests are made of, so that many lines parse.
        let alphabet = Array("abcxyz.=_\" \\\t\r\nntk019é🧘".utf8) + [0xFF, 0x00, 0xC3]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<120, using: &generator)
            ProtocolSelfCheck.check((0..<length).map { _ in alphabet.randomElement(using: &generator)! }, limit: Int.random(in: 1...80, using: &generator))
        }
    }
}

@Suite struct WireLineTests {
    @Test func noLineBreakSurvivesOnTheWire() {
        var bytes: [UInt8] = []
        ResponseLine.wireBytes("ERR not_found no course A\r\nOK", into: &bytes)
        #expect(bytes.filter { $0 == 0x0A }.count == 1 && bytes.last == 0x0A && !bytes.contains(0x0D))
    }

    @Test func anErrorMessageIsOneLineByScalarNotByCharacter() {
        let line = ResponseLine.err(.notFound, "no course A\r\nOK\u{2028}x\u{85}y")
        #expect(!line.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\u{2028}" || $0 == "\u{85}" })
        #expect(line.hasPrefix("ERR not_found no course A"))
    }

    @Test func aPendingLineIsGivenAtTheEnd() {
        var framer = LineFramer(limit: 16)
        #expect(framer.feed(Array("ping\nwho".utf8)) == [.line(Array("ping".utf8))])
        #expect(framer.finish() == .line(Array("who".utf8)))
        #expect(framer.finish() == nil)
        _ = framer.feed(Array(String(repeating: "x", count: 40).utf8))
        #expect(framer.finish() == nil, "a line discarded as too long is not given at the end")
    }
}
