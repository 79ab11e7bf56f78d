import AdminClient
import Foundation
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// The long reads (`report.nightly`, `ledger.verify`) use connections of their own, never the pool's.
@Suite(.serialized) struct LongReadTests {
    /// With a pool of two, two reports and eight verifications at once over a ledger long enough to
    /// take a while: every one of them succeeds (before, the two reports each held one of the pool's
    /// connections while waiting for a second), and `points` on another connection is answered
    /// before they have all finished (before, it queued behind them for the pool).
    @Test func twoReportsAndEightVerificationsLeavePointsAnswering() async throws {
        try await withRegistry(label: "longreads", poolSize: 2) { socket, db in
            let setup = try AdminClient(socketPath: socket)
            for line in GroupCommitTests.setup { #expect(try setup.request(line).isOK) }
            try db.execute(script: """
                INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery,
                                          recorded_by, idempotency_key, request)
                SELECT 'P-1', 'completion', 3, '2026-08-01', 'C1', 1, 'clinical', 'online', 'root', 'bulk-' || g, 'bulk'
                FROM generate_series(1, 60000) g
                """)
            let finished = Locked([(String, String, ContinuousClock.Instant)]())
            let requests = ["report.nightly", "report.nightly"] + Array(repeating: "ledger.verify", count: 8)
            let threads = requests.map { request in
                Thread {
                    let final: String
                    do {
                        final = try AdminClient(socketPath: socket, timeoutSeconds: 600).request(request).final
                    } catch {
                        final = "\(error)"
                    }
                    finished.withLock { $0.append((request, final, ContinuousClock.now)) }
                }
            }
            let start = ContinuousClock.now
            threads.forEach { $0.start() }
            usleep(300_000)
            let reader = try AdminClient(socketPath: socket)
            let points = try reader.request("points practitioner=P-1")
            let answered = ContinuousClock.now
            while finished.value.count < requests.count, ContinuousClock.now - start < .seconds(600) { usleep(20_000) }
            let all = finished.value
            #expect(points.isOK, "\(points.final)")
            #expect(all.count == requests.count)
            for (request, final, _) in all {
                #expect(final.hasPrefix(request == "ledger.verify" ? "OK entries=60000 " : "OK report "), "\(request): \(final)")
            }
            let last = all.map(\.2).max() ?? answered
            print("long reads: points answered after \(answered - start), the last of 2 reports and 8 verifications after \(last - start)")
            #expect(answered < last, "points was answered while the long reads ran")
        }
    }
}
