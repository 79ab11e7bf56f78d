import AdminProtocol
import CPDCore
import Testing

@testable import CPDServer

@Suite struct SessionTests {
    var session = Session(principal: Principal(name: "root", role: .admin), lineLimit: 16)

    func reply(_ line: String) -> Session.Reply? {
        var session = self.session
        switch session.step(for: .line(Array(line.utf8))) {
        case .reply(let reply): return reply
        case .execute(_, let definition): return Session.Reply(lines: ["<runner: \(definition.name)>"])
        case nil: return nil
        }
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
        #expect(reply("course.show")?.lines.first == "ERR invalid_argument course.show needs code=; usage: course.show code=")
        #expect(reply("course.show code=X colour=red")?.lines.first?.hasPrefix("ERR invalid_argument course.show takes no argument 'colour'") == true)
        #expect(reply("course.show code=X")?.lines == ["<runner: course.show>"])
        #expect(reply("ping x=\"open")?.lines.first?.hasPrefix("ERR syntax ") == true)
        var session = self.session
        guard case .reply(let badUTF8) = session.step(for: .line([0x70, 0xFF, 0xFE])), case .reply(let long) = session.step(for: .tooLong) else {
            Issue.record("expected replies")
            return
        }
        #expect(badUTF8.lines.first?.hasPrefix("ERR syntax ") == true)
        #expect(long.lines.first?.hasPrefix("ERR line_too_long ") == true)
    }

    @Test func whoamiIsOneDataLineThenOK() {
        #expect(reply("whoami")?.lines == ["* principal=root role=admin", "OK"])
    }
}

@Suite struct SessionRoleTests {
    func first(_ role: Role, _ line: String) -> String? {
        var session = Session(principal: Principal(name: "u", role: role, provider: role == .provider ? "CALM" : nil), lineLimit: 100)
        switch session.step(for: .line(Array(line.utf8))) {
        case .reply(let reply): return reply.lines.first
        case .execute: return "RUN"
        case nil: return nil
        }
    }

    @Test func eachRoleReachesOnlyItsCommands() {
        #expect(first(.practitioner, "provider.add code=X name=Y")?.hasPrefix("ERR permission_denied") == true)
        #expect(first(.reporter, "completion.record practitioner=P course=C completed=2026-01-01 key=k")?.hasPrefix("ERR permission_denied") == true)
        #expect(first(.provider, "entry.adjust practitioner=P points=1 reason=r key=k")?.hasPrefix("ERR permission_denied") == true)
        #expect(first(.provider, "completion.record practitioner=P course=C completed=2026-01-01 key=k") == "RUN")
        #expect(first(.reporter, "ledger.verify") == "RUN")
        #expect(first(.practitioner, "points") == "RUN")
        #expect(first(.admin, "principal.list") == "RUN")
    }

    @Test func helpListsOnlyWhatTheRoleMayUse() {
        var session = Session(principal: Principal(name: "u", role: .practitioner, practitioner: "P-1"), lineLimit: 100)
        guard case .reply(let reply) = session.step(for: .line(Array("help".utf8))) else { Issue.record("no reply"); return }
        let commands = reply.lines.dropLast().map { String($0.split(separator: " ")[1]) }
        #expect(commands.contains("command=points") && commands.contains("command=course.search"))
        #expect(!commands.contains("command=provider.add") && !commands.contains("command=completion.record"))
        #expect(reply.lines.last == "OK \(commands.count) commands")
    }

    @Test func formatJsonTurnsDataLinesIntoObjects() {
        var session = Session(principal: Principal(name: "a \"b\"", role: .admin), lineLimit: 100)
        guard case .reply(let ok) = session.step(for: .line(Array("format json".utf8))) else { Issue.record("no reply"); return }
        #expect(ok.lines == ["OK format json"])
        guard case .reply(let who) = session.step(for: .line(Array("whoami".utf8))) else { Issue.record("no reply"); return }
        #expect(who.lines == [#"* {"principal":"a \"b\"","role":"admin"}"#, "OK"])
        guard case .reply(let bad) = session.step(for: .line(Array("format xml".utf8))) else { Issue.record("no reply"); return }
        #expect(bad.lines.first?.hasPrefix("ERR invalid_argument") == true)
    }
}
