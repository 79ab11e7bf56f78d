import AdminClient
import ArgumentParser
import Foundation
import Synchronization

/// Drives cpdd over its socket: N connections, each on a thread of its own, sending one workload's
/// requests (optionally pipelined) for a fixed time, and prints throughput, latency percentiles
/// and cpdd's peak resident memory.
struct Drive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load cpdd over its socket with one workload and print throughput, p50/p99/p99.9 latency and cpdd's peak memory.")

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case ping, points, search, record, mix
    }

    @Option(help: "cpdd's admin socket.") var socket: String
    @Option(help: "ping, points, search, record or mix (90% reads).") var workload: Workload = .ping
    @Option(help: "Concurrent connections.") var connections = 32
    @Option(help: "Requests in flight per connection (1: wait for each answer).") var pipeline = 1
    @Option(help: "Seconds to run.") var seconds = 10
    @Option(help: "Members in the registry (ids M-1 ... M-n, as `generate` makes them).") var practitioners = 100_000
    @Option(help: "cpdd's process id, for its peak resident memory (VmHWM).") var cpddPid: Int32?
    @Option(help: "Seed of the random choices.") var seed: UInt64 = 7

    struct Measurement {
        var throughput: Double
        var line: String
    }

    func run() throws { print(try measure().line) }

    func measure() throws -> Measurement {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let results = Mutex<[(count: Int, latencies: [Duration], errors: Int)]>([])
        let failures = Mutex<[String]>([])
        let runID = UInt64(Date().timeIntervalSince1970 * 1000)
        var threads: [Thread] = []
        for index in 0..<connections {
            let thread = Thread { [workload, pipeline, practitioners, seed, socket] in
                var random = SplitMix64(seed: seed &+ UInt64(index) &* 7919)
                var latencies: [Duration] = []
                var count = 0, errors = 0, sequence = 0
                do {
                    let client = try AdminClient(socketPath: socket, timeoutSeconds: 60)
                    while ContinuousClock.now < deadline {
                        var lines: [String] = []
                        for _ in 0..<pipeline {
                            sequence += 1
                            lines.append(Self.request(workload, &random, practitioners: practitioners, key: "bench-\(runID)-\(index)-\(sequence)"))
                        }
                        let start = ContinuousClock.now
                        try client.send(lines.joined(separator: "\n"))
                        for _ in lines {
                            let response = try client.readResponse()
                            if !response.isOK { errors += 1 }
                        }
                        // Each request of a pipelined batch waited as long as the batch.
                        let took = ContinuousClock.now - start
                        latencies.append(contentsOf: repeatElement(took, count: lines.count))
                        count += lines.count
                    }
                } catch {
                    failures.withLock { $0.append("connection \(index): \(error)") }
                }
                results.withLock { $0.append((count, latencies, errors)) }
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
        }
        let started = ContinuousClock.now
        threads.forEach { $0.start() }
        while results.withLock({ $0.count }) < connections { usleep(10_000) }
        let elapsed = ContinuousClock.now - started
        let all = results.withLock { $0 }
        var latencies = all.flatMap(\.latencies)
        latencies.sort()
        let total = all.reduce(0) { $0 + $1.count }
        let errors = all.reduce(0) { $0 + $1.errors }
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.3f ms", Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
        }
        let rate = Double(total) / seconds(elapsed)
        var line = ("workload=\(workload.rawValue) connections=\(connections) pipeline=\(pipeline) requests=\(total) errors=\(errors) "
            + "throughput=\(Int(rate))/s p50=\(percentile(0.5)) p99=\(percentile(0.99)) p99.9=\(percentile(0.999))"
            + (cpddPid.map { " cpdd_peak_rss=\(Self.peakResidentMiB(pid: $0).map { String(format: "%.1f MiB", $0) } ?? "?")" } ?? ""))
        for failure in failures.withLock({ $0 }).prefix(5) { line += "\n  failed: \(failure)" }
        return Measurement(throughput: rate, line: line)
    }

    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    static func request(_ workload: Workload, _ random: inout SplitMix64, practitioners: Int, key: String) -> String {
        let member = "M-\(1 + random.next(below: UInt64(practitioners)))"
        switch workload {
        case .ping: return "ping"
        case .points: return "points practitioner=\(member)"
        case .search: return "course.search q=\(["anxiety", "neck", "sleep", "ethics", "injury"][Int(random.next(below: 5))]) limit=10"
        case .record: return "completion.record practitioner=\(member) course=C-\(1 + random.next(below: 19) * 100 + 1) completed=2026-11-01 key=\(key)"
        case .mix:
            let roll = random.next(below: 100)
            if roll < 10 { return request(.record, &random, practitioners: practitioners, key: key) }
            return request(roll < 60 ? .points : roll < 90 ? .search : .ping, &random, practitioners: practitioners, key: key)
        }
    }

    /// VmHWM: the most resident memory the process has had.
    static func peakResidentMiB(pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}
