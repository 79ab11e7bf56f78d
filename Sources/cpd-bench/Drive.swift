import ArgumentParser
import Foundation

/// Drives cpdd (or, for the `ping` anchor, redis-server) over its socket with the load client
/// (`LoadClient`: one process, one epoll loop), sending one workload's requests, optionally
/// pipelined, for a fixed time, and prints throughput, latency percentiles and the server's peak
/// resident memory.
struct Drive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load cpdd over its socket with one workload and print throughput, p50/p99/p99.9 latency and cpdd's peak memory.")

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case ping, points, search, record, mix
    }

    @Option(help: "The server's socket: cpdd's admin socket, or redis-server's with --protocol redis.") var socket: String
    @Option(help: "cpdd, or redis (a redis-server's Unix socket; only the ping workload, sent as PING).")
    var `protocol`: AnswerFraming.Dialect = .cpdd
    @Option(help: "ping, points, search, record or mix (90% reads).") var workload: Workload = .ping
    @Option(help: "Concurrent connections.") var connections = 32
    @Option(help: "Requests in flight per connection (1: wait for each answer).") var pipeline = 1
    @Option(help: "Seconds to run.") var seconds = 10
    @Option(help: "Members in the registry (ids M-1 ... M-n, as `generate` makes them).") var practitioners = 100_000
    @Option(help: "The server's process id (cpdd's, or redis-server's), for its peak resident memory (VmHWM).") var cpddPid: Int32?
    @Option(help: "Seed of the random choices.") var seed: UInt64 = 7

    struct Measurement {
        var throughput: Double
        var line: String
    }

    func validate() throws {
        if `protocol` == .redis, workload != .ping {
            throw ValidationError("redis-server answers only the ping workload here")
        }
        guard connections > 0, pipeline > 0, seconds > 0 else {
            throw ValidationError("--connections, --pipeline and --seconds must be positive")
        }
    }

    func run() throws { print(try measure().line) }

    func measure() throws -> Measurement {
        try validate()
        let runID = UInt64(Date().timeIntervalSince1970 * 1000)
        let request: LoadClient.Request
        switch `protocol` {
        case .cpdd:
            request = { [workload, practitioners] index, sequence, random in
                Self.request(workload, &random, practitioners: practitioners, key: "bench-\(runID)-\(index)-\(sequence)")
            }
        case .redis:
            // Redis's inline form, the counterpart of cpdd's `ping` line.
            request = { _, _, _ in "PING" }
        }
        let client = LoadClient(socketPath: socket, dialect: `protocol`, pipeline: pipeline, request: request)
        let outcome = try client.run(connections: connections, duration: .seconds(seconds), seed: seed)
        let latencies = outcome.latencies
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let nanoseconds = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.3f ms", Double(nanoseconds) / 1e6)
        }
        let rate = Double(outcome.requests) / seconds(outcome.elapsed)
        let memory = cpddPid.map { pid in
            " \(`protocol`.rawValue)_peak_rss=" + (Self.peakResidentMiB(pid: pid).map { String(format: "%.1f MiB", $0) } ?? "?")
        }
        var line = ("workload=\(workload.rawValue) connections=\(connections) pipeline=\(pipeline) requests=\(outcome.requests) "
            + "errors=\(outcome.errors) throughput=\(Int(rate))/s p50=\(percentile(0.5)) p99=\(percentile(0.99)) "
            + "p99.9=\(percentile(0.999))" + (memory ?? ""))
        for failure in outcome.failures.prefix(5) { line += "\n  failed: \(failure)" }
        return Measurement(throughput: rate, line: line)
    }

    func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// One request of the workload. The member is drawn for every request (so that a seed gives the
    /// same requests whatever the workload), but spelled, like the key, only where it is used: for
    /// `ping` the client does no more work than for Redis's PING.
    static func request(_ workload: Workload, _ random: inout SplitMix64, practitioners: Int, key: @autoclosure () -> String) -> String {
        let member = 1 + random.next(below: UInt64(practitioners))
        switch workload {
        case .ping: return "ping"
        case .points: return "points practitioner=M-\(member)"
        case .search: return "course.search q=\(["anxiety", "neck", "sleep", "ethics", "injury"][Int(random.next(below: 5))]) limit=10"
        case .record: return "completion.record practitioner=M-\(member) course=C-\(1 + random.next(below: 19) * 100 + 1) completed=2026-11-01 key=\(key())"
        case .mix:
            let roll = random.next(below: 100)
            if roll < 10 { return request(.record, &random, practitioners: practitioners, key: key()) }
            return request(roll < 60 ? .points : roll < 90 ? .search : .ping, &random, practitioners: practitioners, key: key())
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

extension AnswerFraming.Dialect: ExpressibleByArgument {}
