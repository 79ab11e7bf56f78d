import CPDCore
import Dispatch
import Postgres

/// The nightly report as one store operation: the rows, made in one snapshot on two connections of
/// their own, and the run recorded on the primary.
public struct NightlyReportRun: Sendable {
    public var date: Day
    public var run: Int64
    /// Every row, the `run` section's `run` column filled in.
    public var rows: [ReportRow]
    public var timings: [(part: String, took: Duration)]
    /// Why the run failed (a chain that breaks, totals that do not reconcile), or nil. The rows are
    /// complete either way; a failed run is not counted from by the next report.
    public var problem: String?
}

extension RegistryStore {
    /// Makes the nightly report for `date` (today when nil) on the report database (a replica, when
    /// configured) and records the run on the primary. `beforeReading` runs once the date is known
    /// and before the snapshot is taken (the daemon writes out the refusals it has queued, so that
    /// the report counts them).
    public func nightlyReport(date asked: Day?, by principal: String, beforeReading: @Sendable () async -> Void) async throws(StoreError) -> NightlyReportRun {
        do {
            return try await makeNightlyReport(date: asked, by: principal, beforeReading: beforeReading)
        } catch {
            throw StoreError(error, during: "report.nightly", logger: logger)
        }
    }

    private func makeNightlyReport(date asked: Day?, by principal: String, beforeReading: @Sendable () async -> Void) async throws -> NightlyReportRun {
        let (date, previous) = try await pool.withConnection { c in
            let date = try asked ?? ReportStore.today(c)
            return (date, try ReportStore.previousRun(before: date, c))
        }
        await beforeReading()
        // Two connections in one snapshot: the sections on one, the checks over the whole ledger
        // (hash chain, totals) on the other, at the same time. Both are reserved before either
        // opens, so a report never holds one while it waits for the other.
        let readers = reportDatabase ?? pool.configuration
        let longReads = self.longReads
        let ((made0, sectionRows), checked) = try await longReads.reserving(2) {
            let (exported, exporter) = AsyncStream<ReportStore.SharedSnapshot>.makeStream()
            let imported = DispatchSemaphore(value: 0)
            async let sections: (ReportStore.Made, [ReportRow]) = {
                // Finished however the sections end (or fail to start), so the checks never wait for nothing.
                defer { exporter.finish() }
                return try await longReads.onConnectionOfItsOwn(readers) { c in
                    var rows: [ReportRow] = []
                    let made = try ReportStore.make(
                        date: date, since: previous, c, shared: { exporter.yield($0) },
                        beforeCommit: { _ = imported.wait(timeout: .now() + 60) }
                    ) { rows.append($0) }
                    return (made, rows)
                }
            }()
            var snapshots = exported.makeAsyncIterator()
            var checked: (ReportStore.Checks, [ReportRow])? = nil
            var checkFailure: Error? = nil
            if let snapshot = await snapshots.next() {
                defer { imported.signal() }  // should the checks fail before importing, the sections need not wait
                do {
                    checked = try await longReads.onConnectionOfItsOwn(readers) { c in
                        var rows: [ReportRow] = []
                        let checks = try ReportStore.check(in: snapshot, c, imported: { imported.signal() }) { rows.append($0) }
                        return (checks, rows)
                    }
                } catch {
                    checkFailure = error
                }
            }
            // The sections' error first: when they fail (a date whose cycles leave the calendar),
            // the snapshot they shared is gone and the checks fail only because of it.
            let made = try await sections
            if let checkFailure { throw checkFailure }
            return (made, checked)
        }
        var made = made0
        var rows = sectionRows
        guard let (checks, checkRows) = checked else { throw StoreError.conflict("the report's snapshot was not shared") }
        rows += checkRows
        made.timings += checks.timings
        var problem: String? = nil
        if case .broken(let entry, let why) = checks.integrity {
            problem = "the ledger's hash chain breaks at entry \(entry): \(why)"
        } else if !checks.reconciles {
            problem = "the totals do not reconcile: points recorded minus points reversed is not the sum of the balances"
        }
        let run = try await pool.withConnection { [problem, made] c in
            try ReportStore.recordRun(made, since: previous, problem: problem, by: principal, c)
        }
        if let index = ReportSection.run.columns.firstIndex(of: "run") {
            for row in rows.indices where rows[row].section == .run { rows[row].values[index] = String(run) }
        }
        return NightlyReportRun(date: date, run: run, rows: rows, timings: made.timings, problem: problem)
    }
}
