import Testing

@testable import CPDReport

/// Which audits a transcript shows: the audit of its cycle, found by the audited cycle's end.
struct TranscriptAuditTests {
    static let points = [#"{"kind":"summary","practitioner":"P-1","scheme":"MA","cycle_start":"2023-11-30","cycle_end":"2026-11-29"}"#]

    static func audit(_ id: String, _ start: String, _ end: String) -> String {
        #"{"kind":"audit","audit":"\#(id)","cycle_start":"\#(start)","cycle_end":"\#(end)","state":"selected"}"#
    }

    @Test func aRollingWindowsAuditEndingWithinTheTranscriptsIsShownAndNoOther() throws {
        let transcript = try Transcript(points: Self.points, statement: [], audits: [
            Self.audit("1", "2023-11-01", "2026-10-31"),  // the window ending October 2026: within
            Self.audit("2", "2020-11-01", "2023-10-31"),  // ended before this window began
            Self.audit("3", "2023-12-01", "2026-11-30"),  // ends after it
        ])
        #expect(transcript.audits.map { $0["audit"] } == ["1"])
        #expect(transcript.csv.contains("\r\naudit,1,selected,"))
    }

    @Test func aFixedCyclesAuditIsItsOwn() throws {
        let points = [#"{"kind":"summary","practitioner":"P-1","scheme":"ANTA","cycle_start":"2025-01-01","cycle_end":"2025-12-31"}"#]
        let transcript = try Transcript(points: points, statement: [], audits: [
            Self.audit("4", "2025-01-01", "2025-12-31"), Self.audit("5", "2024-01-01", "2024-12-31"),
        ])
        #expect(transcript.audits.map { $0["audit"] } == ["4"])
    }
}
