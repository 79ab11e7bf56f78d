import AdminClient
import CPDCore
import Foundation
import Glibc
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// Values at the edges that once crashed cpdd or put a connection's answers off by one; each is
/// answered with its ERR code, in exactly one final line, and the connection stays in step.
@Suite(.serialized) struct EdgeInputTests {
    static let setup = [
        "provider.add code=CALM name=Calm", "course.add provider=CALM code=C1 title=T points=3 hours=3 category=clinical delivery=online",
        "course.publish code=C1",
        "scheme.add code=FIX title=F period=fixed length=12 start=07-01 required=20",
        "scheme.add code=ANN title=A period=anniversary length=12 required=20 carry_over_max=10",
        "scheme.add code=ROLL title=R period=rolling length=36 required=40",
        "practitioner.add id=P-1 name=Pat scheme=FIX joined=2025-01-01",
        "practitioner.add id=P-2 name=Ann scheme=ANN joined=2025-01-01",
        "practitioner.add id=P-3 name=Rol scheme=ROLL joined=2025-01-01",
        "completion.record practitioner=P-1 course=C1 completed=2026-08-01 key=k1",
    ]

    @Test func datesAtTheCalendarsEdgesAreRefusedNotATrap() async throws {
        try await CPDServerTests.withRegistry(label: "edge-dates") { path, db in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup { #expect(try c.request(line).isOK, "\(line)") }
            let entries: Int64 = try db.query("SELECT count(*) FROM ledger_entry")[0][0]
            for member in ["P-1", "P-2", "P-3"] {
                for on in ["9999-12-31", "0001-01-01"] {
                    let response = try c.request("points practitioner=\(member) on=\(on)")
                    // A rolling window that ends on 9999-12-31 is inside the calendar, and an
                    // anniversary member's first cycle holds every day before it; every other one leaves it.
                    if (member == "P-3" && on == "9999-12-31") || (member == "P-2" && on == "0001-01-01") {
                        #expect(response.isOK, "\(member) on \(on): \(response.final)")
                    } else {
                        #expect(response.errorCode == "invalid_argument", "\(member) on \(on): \(response.final)")
                    }
                }
            }
            #expect(try c.request("report.nightly date=9999-12-31").errorCode == "invalid_argument")
            #expect(try c.request("report.nightly date=0001-01-01").errorCode == "invalid_argument")
            for scheme in ["FIX", "ANN", "ROLL"] {
                let late = try c.request("practitioner.add id=X-\(scheme) name=X scheme=\(scheme) joined=9999-12-31")
                let early = try c.request("practitioner.add id=Y-\(scheme) name=Y scheme=\(scheme) joined=0001-01-01")
                if scheme == "ROLL" {
                    #expect(late.isOK, "a rolling window ending 9999-12-31 fits: \(late.final)")
                } else {
                    #expect(late.errorCode == "invalid_argument", "\(scheme): \(late.final)")
                }
                if scheme == "ANN" {
                    #expect(early.isOK, "an anniversary member who joined on 0001-01-01 has cycles: \(early.final)")
                } else {
                    #expect(early.errorCode == "invalid_argument", "\(scheme): \(early.final)")
                }
            }
            // The day before the edge still works where its cycle fits.
            #expect(try c.request("points practitioner=P-1 on=9998-12-31").isOK)
            #expect(try c.request("points practitioner=P-2 on=9998-06-30").isOK)
            #expect(try c.request("ping").final == "OK pong", "cpdd is alive and the connection in step")
            #expect(try db.query("SELECT count(*) FROM ledger_entry")[0][0] as Int64 == entries, "nothing was written")
            #expect(try c.request("report.nightly date=2026-11-01").isOK, "the report still runs for a real day")
        }
    }

    /// Found by the daemon fuzzer: a day before the member joined, in the cycle just before their
    /// first, divided by the member's zero days in it.
    @Test func pointsOnADayBeforeTheMemberJoinedIsAnAnswerNotATrap() async throws {
        try await CPDServerTests.withRegistry(label: "edge-before") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup + ["practitioner.add id=P-9 name=New scheme=FIX joined=2025-07-01"] { #expect(try c.request(line).isOK, "\(line)") }
            let before = try c.request("points practitioner=P-9 on=2025-06-30")
            #expect(before.isOK, "\(before.final)")
            #expect(before.data.first?.contains("status=on_track") == true, "nothing was due before joining: \(before.data)")
            #expect(try c.request("report.nightly date=2025-06-30").isOK)
            #expect(try c.request("ping").final == "OK pong")
        }
    }

    /// Found by the daemon fuzzer: a million points passed the parser and overflowed `numeric(8,2)`
    /// (`ERR internal`); a refused principal.remove moved the principals' generation on.
    @Test func figuresAtTheirBoundsAndRefusedRemovalsChangeNothing() async throws {
        try await CPDServerTests.withRegistry(label: "edge-bounds") { path, db in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup { #expect(try c.request(line).isOK, "\(line)") }
            for line in ["course.add provider=CALM code=BIG title=T points=1000000 hours=1 category=clinical delivery=online",
                         "scheme.rule scheme=FIX delivery=reading max=1000000", "scheme.add code=BIG title=B period=rolling length=12 required=1000000",
                         "entry.adjust practitioner=P-1 points=1000000 reason=r key=big"] {
                #expect(try c.request(line).errorCode == "invalid_argument", "\(line)")
            }
            #expect(try c.request("course.add provider=CALM code=BIG title=T points=1000 hours=1000 category=clinical delivery=online").isOK)
            #expect(try c.request("scheme.rule scheme=FIX delivery=reading max=999999.99").isOK)
            let generation: Int64 = try db.query("SELECT value FROM principal_generation")[0][0]
            #expect(try c.request("principal.remove user=nobody").errorCode == "not_found")
            #expect(try db.query("SELECT value FROM principal_generation")[0][0] as Int64 == generation)
        }
    }

    /// Found in review: keys were compared as Swift Strings in a batch (canonical equivalence), where
    /// PostgreSQL compares bytes; and one account could hold two grants, one by name and one by uid.
    @Test func keysAreTheirBytesAndAnAccountHasOneGrant() async throws {
        try await CPDServerTests.withRegistry(label: "edge-keys") { path, db in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup { #expect(try c.request(line).isOK, "\(line)") }
            let composed = "completion.record practitioner=P-1 course=C1 completed=2026-08-02 key=\u{E9}"
            let decomposed = "completion.record practitioner=P-1 course=C1 completed=2026-08-02 key=e\u{301}"
            try c.send(composed + "\n" + decomposed)
            let first = try c.readResponse(), second = try c.readResponse()
            #expect(first.isOK && second.isOK && first.final != second.final, "two keys, two entries: \(first.final) | \(second.final)")
            #expect(try c.request(decomposed).final == second.final, "each replays its own entry")
            #expect(try c.request(composed).final == first.final)
            #expect(try db.query("SELECT count(*) FROM ledger_entry WHERE idempotency_key IN ($1, $2)", ["\u{E9}", "e\u{301}"])[0][0] as Int64 == 2)

            if getpwnam("nobody") != nil {
                #expect(try c.request("principal.add user=nobody role=reporter").isOK)
                #expect(try c.request("principal.add uid=65534 role=admin").errorCode == "conflict", "one grant per account")
                #expect(try c.request("principal.remove user=nobody").isOK)
            }
        }
    }

    @Test func anErrorThatEchoesALineBreakIsStillOneLine() async throws {
        try await CPDServerTests.withRegistry(label: "edge-lines") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup { #expect(try c.request(line).isOK, "\(line)") }
            // Every kind of line break a client could smuggle into a value that a message echoes.
            let breaks = ["A\\r\\nOK", "A\\nOK", "A\\rOK", "A\u{2028}OK", "A\u{85}OK", "A\u{0B}OK"]
            for value in breaks {
                try c.send("course.show code=\"\(value)\"\nping")
                let first = try c.readResponse()
                #expect(first.errorCode == "not_found", "\(value): \(first.final)")
                #expect(!first.final.unicodeScalars.contains { $0 == "\r" || $0 == "\u{2028}" || $0 == "\u{85}" || $0 == "\u{0B}" },
                        "\(value): \(first.final.debugDescription)")
                #expect(try c.readResponse().final == "OK pong", "the answers stay in step after \(value)")
            }
            for request in ["course.search q=\"x\\r\\ny\"", "completion.record practitioner=\"P-1\\r\\nOK\" course=C1 completed=2026-08-01 key=z1",
                            "help \"course.show\\r\\nOK\"", "statement practitioner=\"\\r\\n\""] {
                try c.send(request + "\nping")
                let first = try c.readResponse()
                #expect(!first.final.contains("\r"), "\(request): \(first.final.debugDescription)")
                #expect(try c.readResponse().final == "OK pong", "in step after \(request)")
            }
        }
    }

    @Test func aStatementWhoseFromIsAfterItsToIsRefused() async throws {
        try await CPDServerTests.withRegistry(label: "edge-statement") { path, _ in
            let c = try AdminClient(socketPath: path)
            for line in Self.setup { #expect(try c.request(line).isOK, "\(line)") }
            #expect(try c.request("statement practitioner=P-1 from=2026-09-01 to=2026-08-01").errorCode == "invalid_argument")
            #expect(try c.request("statement practitioner=P-1 from=2026-08-01 to=2026-08-01").data.count == 1, "one day is a range")
        }
    }

    @Test func aLastLineWithoutLineFeedIsAnsweredBeforeTheServerCloses() async throws {
        try await CPDServerTests.withRegistry(label: "edge-eof") { path, _ in
            let c = try AdminClient(socketPath: path)
            try c.sendBytes(Array("ping\nwhoami".utf8))
            c.finishSending()
            #expect(try c.readResponse().final == "OK pong")
            let whoami = try c.readResponse()
            #expect(whoami.isOK && whoami.data.count == 1, "the unterminated last line was answered: \(whoami)")
            #expect(c.isClosedByServer())
            // With CR before the end, as a CRLF client that closes early sends it.
            let d = try AdminClient(socketPath: path)
            try d.sendBytes(Array("ping\r".utf8))
            d.finishSending()
            #expect(try d.readResponse().final == "OK pong")
        }
    }
}

/// The rejected-writes log through the socket: a principal's refusals past the day's bound (1,000)
/// are counted, not kept, and the nightly report says how many.
@Suite(.serialized) struct RejectedWritesBoundTests {
    @Test func refusalsPastTheDaysBoundAreCountedNotKept() async throws {
        try await CPDServerTests.withRegistry(label: "edge-rejections") { path, db in
            let c = try AdminClient(socketPath: path)
            let refusals = 1_050
            try c.send((0..<refusals).map { "course.show code=X nosuch=\($0)\nprovider.add code=lower\($0) name=x" }.joined(separator: "\n"))
            for _ in 0..<(2 * refusals) { _ = try c.readResponse() }
            let report = try c.request("report.nightly")
            #expect(report.isOK, "\(report.final)")
            let kept: Int64 = try db.query("SELECT count(*) FROM rejected_write")[0][0]
            #expect(kept == 1_000, "the day's bound for one principal: \(kept)")
            let notKept = report.data.filter { $0.contains("section=rejected_writes") && $0.contains("code=not_kept") }
            #expect(notKept.count == 1 && notKept.first?.contains("50") == true, "\(notKept)")
        }
    }
}
