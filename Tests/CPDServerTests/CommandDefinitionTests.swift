import AdminProtocol
import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDServer

/// The command definitions are the one source of `help`, the session's checks and the rejection
/// log; the contract's command tables must say the same.
@Suite struct CommandDefinitionTests {
    /// The first cell of every table row of docs/protocol.md that names a command.
    static func documentedUsages() throws -> [String] {
        let text = try String(contentsOfFile: Checkout.root + "/docs/protocol.md", encoding: .utf8)
        var usages: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(2).prefix { $0 != "|" }
            // Cells hold one usage or several, each in backticks (`course.publish code=` / `course.retire code=`).
            for part in cell.split(separator: "`", omittingEmptySubsequences: true) where part.trimmingCharacters(in: .whitespaces) != "/" {
                let usage = part.trimmingCharacters(in: .whitespaces)
                if !usage.isEmpty { usages.append(usage.replacingOccurrences(of: "\\|", with: "|")) }
            }
        }
        return usages
    }

    @Test func theContractShowsEveryCommandExactlyAsHelpDoes() throws {
        let documented = Set(try Self.documentedUsages())
        for definition in CommandTable.all {
            #expect(documented.contains(definition.usage), "docs/protocol.md has no table row for `\(definition.usage)`")
        }
        // And no command in the contract's tables that cpdd does not have.
        let names = Set(CommandTable.all.map(\.name))
        for usage in documented {
            guard let word = usage.split(separator: " ").first.map(String.init), word.contains(".") || ["ping", "whoami", "help", "format", "quit"].contains(word),
                  word.allSatisfy({ $0.isLowercase || $0 == "." || $0 == "_" }) else { continue }
            #expect(names.contains(word), "docs/protocol.md documents \(word), which no definition has")
        }
    }

    @Test func namesAreUniqueAndTheTableIsTheLookup() {
        #expect(Set(CommandTable.all.map(\.name)).count == CommandTable.all.count)
        #expect(CommandTable.byName.count == CommandTable.all.count)
    }

    @Test func theRejectionLogCountsExactlyTheWrites() {
        let writes = Set(CommandTable.all.filter(\.writes).map(\.name))
        #expect(writes == [
            "provider.add", "course.add", "course.update", "course.publish", "course.retire", "scheme.add", "scheme.rule",
            "scheme.certificate", "practitioner.add", "certificate.add", "completion.record", "entry.reverse", "entry.adjust",
            "principal.add", "principal.remove", "renewal.submit", "renewal.approve", "audit.draw", "audit.request", "audit.submit",
            "audit.review", "audit.decide", "audit.ask", "audit.answer",
        ])
        #expect(CommandTable.all.filter { $0.effect == .batchedWrite }.map(\.name) == ["completion.record"])
        #expect(Set(CommandTable.all.filter(\.changesPrincipals).map(\.name)) == ["principal.add", "principal.remove"])
    }

    @Test func exactlyOneOfAGroupIsRequiredAndUsageSaysSo() {
        var session = Session(principal: Principal(name: "root", role: .admin), lineLimit: 1000)
        func first(_ line: String) -> String? {
            switch session.step(for: .line(Array(line.utf8))) {
            case .reply(let reply): return reply.lines.first
            case .execute(_, let definition): return "RUN \(definition.name)"
            case nil: return nil
            }
        }
        #expect(CommandTable.byName["principal.remove"]?.usage == "principal.remove (uid= or user=)")
        #expect(first("principal.remove") == "ERR invalid_argument uid: give exactly one of uid= or user=")
        #expect(first("principal.remove uid=1 user=x") == "ERR invalid_argument uid: give exactly one of uid= or user=")
        #expect(first("principal.remove user=x") == "RUN principal.remove")
        #expect(first("scheme.rule scheme=S category=c") == "ERR invalid_argument min: give exactly one of min=, max=, min_share=, max_share=")
        #expect(first("scheme.rule scheme=S delivery=online max_share=30") == "RUN scheme.rule")
        // At least one of an anyOf group: a category, a delivery mode, or both.
        #expect(CommandTable.byName["scheme.rule"]?.usage
            == "scheme.rule scheme= (category= and/or delivery= and/or modality=) (min= or max= or min_share= or max_share=) [advisory=]")
        #expect(first("scheme.rule scheme=S min=1") == "ERR invalid_argument category: give at least one of category=, delivery=, modality=")
        #expect(first("scheme.rule scheme=S category=c delivery=online min=1") == "RUN scheme.rule")
        #expect(first("help principal.remove") == "* command=principal.remove usage=\"principal.remove (uid= or user=)\" summary=\"remove an account's principal\"")
    }

    @Test func aCommandIsReadIntoDomainValuesBeforeItRuns() {
        var session = Session(principal: Principal(name: "root", role: .admin), lineLimit: 1000)
        guard case .execute(.points(let practitioner, let on), _) = session.step(for: .line(Array("points practitioner=P-1 on=2026-02-28".utf8))) else {
            Issue.record("points was not read")
            return
        }
        #expect(practitioner == "P-1" && on == Day(parsing: "2026-02-28"))
        guard case .reply(let bad) = session.step(for: .line(Array("points practitioner=P-1 on=2026-02-30".utf8))) else {
            Issue.record("a day that does not exist reached the runner")
            return
        }
        #expect(bad.lines == ["ERR invalid_argument on: '2026-02-30' is not a date YYYY-MM-DD"])
        #expect(bad.refused?.command == "points")
    }
}
