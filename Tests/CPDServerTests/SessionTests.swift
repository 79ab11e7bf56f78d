import AdminProtocol
import CPDCore
import Testing

@testable import CPDServer

@Suite struct SessionTests {
    var session = Session(principal: Principal(name: "root", role: .admin), lineLimit: 16)

    func reply(_ line: String) -> Session.Reply? {
        var session = self.session
        return session.reply(to: .line(Array(line.utf8)))
    }

    @Test func theGreetingNamesVersionPrincipalAndRole() {
        #expect(session.greeting == "OK cpdd \(CPDVersion.current) principal=root role=admin")
        let spaced = Session(principal: Principal(name: "a b", role: .reporter), lineLimit: 16)
        #expect(spaced.greeting.hasSuffix("principal=\"a b\" role=reporter"))
    }

    @Test func pingAnswersPongWhateverTheCase() {
        #expect(reply("ping")?.lines == ["OK pong"])
        #expect(reply("  PiNg  ")?.lines == ["OK pong"])
    }

    @Test func quitSaysByeAndCloses() {
        #expect(reply("quit") == Session.Reply(lines: ["OK bye"], closeAfterwards: true))
    }

    @Test func blankLinesAndCommentsGetNoAnswer() {
        #expect(reply("") == nil)
        #expect(reply("# ping") == nil)
    }

    @Test func eachKindOfBadLineGetsItsCode() {
        #expect(reply("nope")?.lines.first?.hasPrefix("ERR unknown_command ") == true)
        #expect(reply("ping x=1")?.lines.first?.hasPrefix("ERR invalid_argument ") == true)
        #expect(reply("ping x=\"open")?.lines.first?.hasPrefix("ERR syntax ") == true)
        var session = self.session
        #expect(session.reply(to: .line([0x70, 0xFF, 0xFE]))?.lines.first?.hasPrefix("ERR syntax ") == true)
        #expect(session.reply(to: .tooLong)?.lines.first?.hasPrefix("ERR line_too_long ") == true)
    }

    @Test func whoamiIsOneDataLineThenOK() {
        #expect(reply("whoami")?.lines == ["* principal=root role=admin", "OK"])
    }
}
