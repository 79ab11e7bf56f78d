import AdminClient
import ArgumentParser
import Foundation

/// Opens many connections that then say nothing, and reports cpdd's resident memory with them open.
struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Hold N idle connections to cpdd and print its resident memory.")

    @Option(help: "cpdd's admin socket.") var socket: String
    @Option(help: "cpdd's process id.") var cpddPid: Int32
    @Option(help: "Idle connections.") var connections = 1000
    @Option(help: "Seconds to hold them before measuring.") var seconds = 3

    func run() throws {
        let before = Self.memory(pid: cpddPid)
        var clients: [AdminClient] = []
        for _ in 0..<connections { clients.append(try AdminClient(socketPath: socket)) }
        sleep(UInt32(seconds))
        let held = Self.memory(pid: cpddPid)
        _ = try clients.last?.request("ping")
        print(String(format: "idle connections=%d cpdd_rss_before=%.1f MiB cpdd_rss_with_them=%.1f MiB cpdd_peak_rss=%.1f MiB",
                     clients.count, before.rss, held.rss, held.peak))
    }

    static func memory(pid: Int32) -> (rss: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
                  let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
            return kb / 1024
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }
}
