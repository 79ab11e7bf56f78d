import AdminClient
import CPDStore
import Foundation
import LocalPostgres
import Postgres
import Testing
import TestSupport

@testable import CPDServer

/// Faults, with cpdd as a separate process: the suite runs at a reduced size in CI; with
/// `CPD_FAULT_LONG=1` in the environment it runs at full size (docs/performance.md).
@Suite(.serialized) struct FaultTests {
    static let long = ProcessInfo.processInfo.environment["CPD_FAULT_LONG"] == "1"
    let cpdd = Checkout.product("cpdd")

    func startCpdd(database: String, socket: String, _ extra: [String] = []) throws -> ChildProcess {
        try CPDServerTests.startCpdd(database: database, socket: socket, extra)
    }

    /// A pipelined import is cut by kill -9 of cpdd; the client retries what was not acknowledged,
    /// with the same keys, against a restarted cpdd. Every row is then in the ledger exactly once,
    /// every acknowledged row with the entry it was acknowledged with, the balances are the sums of
    /// their entries, and the hash chain verifies.
    @Test func killNineDuringAPipelinedImportLosesAndDoublesNothing() async throws {
        let rows = Self.long ? 20_000 : 4_000
        let database = try TestDatabase.fresh("kill9")
        let socket = try TestDatabase.scratchDirectory("kill9") + "/cpdd.sock"
        let cpdd = self.cpdd
        try await runBlocking {
            #expect(try ChildProcess.run([cpdd, "migrate", "--database", database]).0 == 0)
            var server = try startCpdd(database: database, socket: socket)
            defer { server.terminate() }
            let admin = try AdminClient(socketPath: socket)
            var setup = ["provider.add code=P name=P", "course.add provider=P code=C title=T points=1.5 hours=1 category=clinical delivery=online",
                         "course.publish code=C", "scheme.add code=S title=S period=rolling length=36 required=20"]
            setup += (1...50).map { "practitioner.add id=M-\($0) name=M scheme=S joined=2020-01-01" }
            for line in setup { #expect(try admin.request(line).isOK, "\(line)") }
            let lines = (0..<rows).map { "completion.record practitioner=M-\(1 + $0 % 50) course=C completed=2026-0\(1 + $0 % 9)-01 key=kill-\($0)" }

            // Send everything pipelined; kill cpdd once a third has been acknowledged.
            var acknowledged: [Int: String] = [:]
            let client = try AdminClient(socketPath: socket, timeoutSeconds: 30)
            // Writing and reading one socket from two threads: the writer only writes.
            nonisolated(unsafe) let writer = client
            let sender = Thread { try? writer.send(lines.joined(separator: "\n")) }
            sender.start()
            do {
                for index in 0..<rows {
                    let response = try client.readResponse()
                    guard response.isOK else { break }
                    acknowledged[index] = response.final
                    if acknowledged.count == rows / 3 { server.signal(SIGKILL) }
                }
            } catch {
                // The connection died with cpdd: what was read before is what was acknowledged.
            }
            #expect(server.wait(timeout: .seconds(10)) != nil, "cpdd was killed")
            #expect(acknowledged.count >= rows / 3 && acknowledged.count < rows, "the kill came in the middle: \(acknowledged.count) of \(rows)")

            // Restart; retry every row not acknowledged, with its key.
            server = try startCpdd(database: database, socket: socket)
            let retry = try AdminClient(socketPath: socket, timeoutSeconds: 60)
            let missing = (0..<rows).filter { acknowledged[$0] == nil }
            try retry.send(missing.map { lines[$0] }.joined(separator: "\n"))
            var retriedOK = 0
            for _ in missing {
                if try retry.readResponse().isOK { retriedOK += 1 }
            }
            #expect(retriedOK == missing.count)
            // A replay of an acknowledged row is answered with the entry it was acknowledged with.
            for index in acknowledged.keys.sorted().prefix(20) {
                #expect(try retry.request(lines[index]).final == acknowledged[index])
            }

            let owner = try PostgresConnection(conninfo: database)
            let counts = try owner.query("SELECT count(*) AS n, count(DISTINCT idempotency_key) AS keys FROM ledger_entry WHERE idempotency_key LIKE 'kill-%'")[0]
            #expect(try counts["n"] as Int64 == Int64(rows) && counts["keys"] as Int64 == Int64(rows), "every row exactly once")
            for (index, final) in acknowledged {
                let entry = final.split(separator: " ").first { $0.hasPrefix("entry=") }.map { Int64($0.dropFirst(6))! }
                let stored: Int64? = try owner.query("SELECT id FROM ledger_entry WHERE idempotency_key = $1", ["kill-\(index)"]).first?[0]
                if stored != entry { Issue.record("row \(index) was acknowledged as entry \(entry ?? -1) but is \(stored ?? -1)"); break }
            }
            let balances = try owner.query(
                "SELECT practitioner, sum(points)::text AS total, count(*) AS n FROM ledger_entry GROUP BY practitioner ORDER BY practitioner")
            #expect(balances.count == 50)
            for row in balances {
                let n: Int64 = try row["n"]
                #expect(try row["total"] as String == String(format: "%.2f", Double(n) * 1.5), "a balance is the sum of its entries")
            }
            let verified = try retry.request("ledger.verify").final
            #expect(verified.hasPrefix("OK entries=\(rows) "), "\(verified)")
            server.signal(SIGTERM)
            #expect(server.wait(timeout: .seconds(30)) == 0)
        }
    }

    /// PostgreSQL restarted (fast) under load: cpdd stays up, answers `ERR unavailable` while the
    /// database is down (never a hang, never another error), serves again within 5 seconds of its
    /// return by itself, and once the clients have retried what was not acknowledged, every row is
    /// in the ledger once and the chain verifies.
    @Test func aFastRestartOfPostgreSQLUnderLoadIsSurvived() async throws {
        let cluster = try LocalPostgresCluster(directory: TestDatabase.scratchDirectory("restart") + "/postgres", settings: ["fsync": "off"])
        _ = try cluster.initializeIfNeeded()
        try cluster.start()
        defer { try? cluster.destroy() }
        let database = cluster.conninfo()
        let socket = (cluster.directory as NSString).deletingLastPathComponent + "/cpdd.sock"
        let cpdd = self.cpdd
        let perClient = Self.long ? 3_000 : 600
        let clients = 8
        try await runBlocking {
            #expect(try ChildProcess.run([cpdd, "migrate", "--database", database]).0 == 0)
            let server = try startCpdd(database: database, socket: socket)
            defer { server.terminate() }
            let admin = try AdminClient(socketPath: socket)
            for line in ["provider.add code=P name=P", "course.add provider=P code=C title=T points=2 hours=1 category=clinical delivery=online",
                         "course.publish code=C", "scheme.add code=S title=S period=rolling length=36 required=20"]
                + (1...20).map({ "practitioner.add id=M-\($0) name=M scheme=S joined=2020-01-01" }) {
                #expect(try admin.request(line).isOK, "\(line)")
            }
            let outcomes = Locked<[String: String]>([:])
            let unexpected = Locked<[String]>([])
            let slowest = Locked(Duration.zero)
            let done = Locked(0)
            for client in 0..<clients {
                Thread {
                    defer { done.withLock { $0 += 1 } }
                    guard let c = try? AdminClient(socketPath: socket, timeoutSeconds: 30) else { return }
                    for i in 0..<perClient {
                        let key = "load-\(client)-\(i)"
                        let start = ContinuousClock.now
                        guard let response = try? c.request(
                            "completion.record practitioner=M-\(1 + i % 20) course=C completed=2026-03-01 key=\(key)") else {
                            unexpected.withLock { $0.append("\(key): connection lost") }
                            return
                        }
                        let took = ContinuousClock.now - start
                        slowest.withLock { $0 = max($0, took) }
                        outcomes.withLock { $0[key] = response.final }
                        if !response.isOK && response.errorCode != "unavailable" { unexpected.withLock { $0.append("\(key): \(response.final)") } }
                        if !response.isOK { usleep(20_000) }
                    }
                }.start()
            }
            // Let the load run, restart PostgreSQL under it, and see service come back.
            while outcomes.value.count < clients * perClient / 4 { usleep(10_000) }
            try cluster.stop()
            let downAt = ContinuousClock.now
            while outcomes.value.values.filter({ $0.hasPrefix("ERR unavailable") }).isEmpty, ContinuousClock.now - downAt < .seconds(10) {
                usleep(10_000)
            }
            try cluster.start()
            let back = ContinuousClock.now
            var recoveredAfter: Duration? = nil
            let probe = try AdminClient(socketPath: socket)
            while ContinuousClock.now - back < .seconds(10) {
                if try probe.request("course.show code=C").isOK { recoveredAfter = ContinuousClock.now - back; break }
                usleep(50_000)
            }
            while done.value < clients { usleep(10_000) }

            #expect(unexpected.value.isEmpty, "\(unexpected.value.prefix(5))")
            let answers = outcomes.value
            let unavailable = answers.filter { $0.value.hasPrefix("ERR unavailable") }
            #expect(!unavailable.isEmpty, "some requests met the database down")
            #expect(slowest.value < .seconds(6), "no request hung: the slowest took \(slowest.value)")
            #expect(recoveredAfter != nil && recoveredAfter! < .seconds(5), "recovered \(String(describing: recoveredAfter)) after PostgreSQL returned")
            print("restart: \(unavailable.count) of \(answers.count) requests answered unavailable; served again \(recoveredAfter.map { "\($0)" } ?? "never") after PostgreSQL returned")
            #expect(server.wait(timeout: .zero) == nil, "cpdd stayed up")

            // The clients retry what was not acknowledged; then every row is there once.
            let retry = try AdminClient(socketPath: socket)
            for (key, _) in unavailable {
                let parts = key.split(separator: "-")
                let i = Int(parts[2])!
                #expect(try retry.request("completion.record practitioner=M-\(1 + i % 20) course=C completed=2026-03-01 key=\(key)").isOK)
            }
            let owner = try PostgresConnection(conninfo: database)
            let counts = try owner.query("SELECT count(*) AS n, count(DISTINCT idempotency_key) AS keys, sum(points)::text AS total FROM ledger_entry")[0]
            #expect(try counts["n"] as Int64 == Int64(clients * perClient) && counts["keys"] as Int64 == Int64(clients * perClient))
            #expect(try counts["total"] as String == "\(clients * perClient * 2).00", "the balances sum to the entries")
            #expect(try retry.request("ledger.verify").final.hasPrefix("OK entries=\(clients * perClient) "))
        }
    }

    /// cpdd's resident memory, from /proc.
    static func residentKiB(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// A client that sends `help` over and over and never reads: cpdd stops reading its requests once
    /// its unwritten answers pass the soft bound, closes it after the stall time, and meanwhile its
    /// memory stays near a normal client's and another client's ping is answered.
    @Test func aClientThatNeverReadsIsStoppedThenClosedAndCostsLittleMemory() async throws {
        let database = try TestDatabase.fresh("noreader")
        let socket = try TestDatabase.scratchDirectory("noreader") + "/cpdd.sock"
        let cpdd = self.cpdd
        let helps = 200_000
        try await runBlocking {
            #expect(try ChildProcess.run([cpdd, "migrate", "--database", database]).0 == 0)
            let server = try startCpdd(database: database, socket: socket, ["--output-stall-timeout", "4"])
            defer { server.terminate() }
            // A normal client: the same requests, each answer read.
            let normal = try AdminClient(socketPath: socket)
            let idle = Self.residentKiB(server.pid)
            for _ in 0..<2_000 { #expect(try normal.request("help").isOK) }
            let afterNormal = Self.residentKiB(server.pid)

            // A client that sends `help` and never reads, while the normal one pings.
            let flood = try Self.floodWithoutReading(socket, "help", count: helps, server: server) { () throws -> Void in
                let pong = try normal.request("ping").final
                #expect(pong == "OK pong")
            }
            let numbers = "cpdd resident \(idle / 1024) MiB idle, \(afterNormal / 1024) MiB after a normal client's 2,000 help"
            print("never-reading client: \(numbers), peak \(flood.peak / 1024) MiB beside a client sending help without reading; \(flood.sent) of \(helps) sent, then: \(flood.end ?? "still open")")
            // cpdd stopped reading (the sender blocked well short of its 200,000), then closed it.
            #expect(flood.sent < helps)
            #expect(flood.end != nil && flood.end != "sent everything", "the connection was closed")
            #expect(flood.peak - afterNormal < 48 * 1024, "unwritten answers stay bounded")
            #expect(try normal.request("ping").final == "OK pong")

            // The same with answers that come from tasks (completions, refused at once), which are
            // counted when they are answered, not when the stuck writer reaches them.
            let tasks = try Self.floodWithoutReading(
                socket, "completion.record practitioner=P course=C completed=x key=k", count: helps, server: server) {}
            print("never-reading client of completions: peak \(tasks.peak / 1024) MiB; \(tasks.sent) of \(helps) sent, then: \(tasks.end ?? "still open")")
            #expect(tasks.sent < helps, "cpdd stopped reading completions too")
            #expect(tasks.end != nil && tasks.end != "sent everything", "and closed the connection")
            #expect(tasks.peak - afterNormal < 64 * 1024, "unwritten answers from tasks stay bounded too")
            #expect(try normal.request("ping").final == "OK pong")
        }
    }

    /// Sends `line` `count` times from a client that never reads, in batches of 1,000 on a thread of
    /// its own, calling `meanwhile` every 100 ms for up to 30 s. How many it sent, how its sending
    /// ended (nil: still open), and cpdd's peak resident KiB.
    static func floodWithoutReading(
        _ socket: String, _ line: String, count: Int, server: ChildProcess, meanwhile: () throws -> Void
    ) throws -> (sent: Int, end: String?, peak: Int) {
        nonisolated(unsafe) let unread = try AdminClient(socketPath: socket)
        let sent = Locked(0)
        let ended = Locked(String?.none)
        Thread {
            let batch = String(repeating: line + "\n", count: 1_000)
            do {
                for _ in 0..<(count / 1_000) {
                    try unread.send(batch)
                    sent.withLock { $0 += 1_000 }
                }
                ended.withLock { $0 = "sent everything" }
            } catch {
                ended.withLock { $0 = "\(error)" }
            }
        }.start()
        var peak = 0
        let watch = ContinuousClock.now
        while ended.value == nil, ContinuousClock.now - watch < .seconds(30) {
            peak = max(peak, residentKiB(server.pid))
            usleep(100_000)
            try meanwhile()
        }
        return (sent.value, ended.value, max(peak, residentKiB(server.pid)))
    }

    /// One long answer (here a statement of 3,000 entries, about 400 KB, beside a hard bound of 64 KiB
    /// and a stall time of 2 s) read slowly, a piece every half second, arrives whole: the hard bound
    /// counts answers piled behind the one being written, and reading it is progress, not a stall.
    /// Pipelined answers left unread past the bound still close the connection.
    @Test func aLongAnswerReadSlowlyArrivesWholeWhileUnreadAnswersStillClose() async throws {
        let database = try TestDatabase.fresh("longanswer")
        let socket = try TestDatabase.scratchDirectory("longanswer") + "/cpdd.sock"
        let cpdd = self.cpdd
        try await runBlocking {
            #expect(try ChildProcess.run([cpdd, "migrate", "--database", database]).0 == 0)
            let server = try startCpdd(database: database, socket: socket, [
                "--output-soft-limit", "16384", "--output-hard-limit", "65536", "--output-stall-timeout", "2"])
            defer { server.terminate() }
            let admin = try AdminClient(socketPath: socket)
            for line in ["provider.add code=P name=P", "course.add provider=P code=C title=T points=1 hours=1 category=clinical delivery=online",
                         "course.publish code=C", "scheme.add code=S title=S period=rolling length=36 required=20",
                         "practitioner.add id=M-1 name=M scheme=S joined=2020-01-01"] {
                #expect(try admin.request(line).isOK, "\(line)")
            }
            let entries = 3_000
            try admin.send((0..<entries).map { "completion.record practitioner=M-1 course=C completed=2026-0\(1 + $0 % 9)-01 key=k-\($0)" }.joined(separator: "\n"))
            for _ in 0..<entries { _ = try admin.readResponse() }

            // A raw socket, so that the test reads at its own pace.
            let fd = connectedUnixSocket(to: socket)
            #expect(fd >= 0)
            defer { close(fd) }
            var small = [UInt8](repeating: 0, count: 1_024)
            let readAll = { () -> [UInt8] in
                var out: [UInt8] = []
                while true {
                    let n = small.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n < 0 && errno == EINTR { continue }  // a child of another test exited
                    if n <= 0 { return out }
                    out += small[..<n]
                    if n < small.count || out.count % 65_536 < 1_024 { usleep(500_000) }
                    if out.count >= 3 && out.suffix(40).contains(0x0A), let text = String(validating: out, as: UTF8.self),
                       text.split(separator: "\n").last.map({ $0.hasPrefix("OK") || $0.hasPrefix("ERR") }) == true { return out }
                }
            }
            #expect(String(decoding: readAll(), as: UTF8.self).hasPrefix("OK cpdd"), "the greeting")
            _ = send(fd, "statement practitioner=M-1\n", 27, Int32(MSG_NOSIGNAL))
            let answer = String(decoding: readAll(), as: UTF8.self)
            let lines = answer.split(separator: "\n")
            #expect(lines.count == entries + 1, "every entry and the final line: \(lines.count); cpdd said: \(server.output)")
            #expect(lines.last == "OK \(entries) entries", "\(lines.last ?? "")")
            print("long answer: \(answer.utf8.count) bytes read slowly beside a hard bound of 65,536 and a stall time of 2 s")

            // A ping pipelined behind the long answer is not piled up behind it past the hard bound:
            // the bound leaves out the answer at the head of the write order.
            let reader = try AdminClient(socketPath: socket)
            try reader.send("statement practitioner=M-1\nping")
            #expect(try reader.readResponse().final == "OK \(entries) entries")
            #expect(try reader.readResponse().final == "OK pong", "a ping behind a long answer")

            // A long answer and then quit, read only after a pause: the answer arrives whole before
            // the connection closes (closing at once dropped what NIO still held).
            let quitter = try AdminClient(socketPath: socket)
            try quitter.send("statement practitioner=M-1\nquit")
            sleep(1)
            let whole = try quitter.readResponse()
            #expect(whole.data.count == entries && whole.final == "OK \(entries) entries", "\(whole.data.count) lines, then \(whole.final)")
            #expect(try quitter.readResponse().final == "OK bye")

            // The same connection pipelines statements and reads nothing: they pile up past the hard bound.
            let request = Array(String(repeating: "statement practitioner=M-1\n", count: 20).utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var closed = false
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(30) {
                sleep(1)
                var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&probe, 1, 0)
                if server.wait(timeout: .zero) != nil { break }
                // Drain what has arrived and see whether the end has come.
                var chunk = [UInt8](repeating: 0, count: 1 << 20)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n == 0 || (n < 0 && errno == ECONNRESET) { closed = true; break }
                if n > 0 { usleep(2_500_000) }  // read a little, then nothing for longer than the stall time
            }
            #expect(closed, "answers piled up behind one another and left unread close the connection")
            #expect(try AdminClient(socketPath: socket).request("ping").final == "OK pong", "cpdd serves on")
        }
    }

    /// 500 connections that each send one byte a second (a request trickling in) do not hold up a
    /// normal client: its pings stay under 100 ms at p99 (about 4.5 ms on a quiet machine).
    @Test func fiveHundredTricklingConnectionsDoNotSlowAPing() async throws {
        let database = try TestDatabase.fresh("trickle")
        let socket = try TestDatabase.scratchDirectory("trickle") + "/cpdd.sock"
        let cpdd = self.cpdd
        let seconds = Self.long ? 60 : 8
        try await runBlocking {
            #expect(try ChildProcess.run([cpdd, "migrate", "--database", database]).0 == 0)
            let server = try startCpdd(database: database, socket: socket, ["--max-connections-per-account", "2000"])
            defer { server.terminate() }
            let tricklers = try (0..<500).map { _ in try AdminClient(socketPath: socket) }
            nonisolated(unsafe) let all = tricklers
            let stop = Locked(false)
            let trickle = Thread {
                let request = Array("ping\n".utf8)
                var position = 0
                while !stop.value {
                    for client in all { try? client.sendBytes([request[position % request.count]]) }
                    position += 1
                    sleep(1)
                }
            }
            trickle.start()
            defer { stop.withLock { $0 = true } }
            sleep(2)
            let client = try AdminClient(socketPath: socket)
            var latencies: [Duration] = []
            let end = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < end {
                let start = ContinuousClock.now
                #expect(try client.request("ping").final == "OK pong")
                latencies.append(ContinuousClock.now - start)
                usleep(2_000)
            }
            latencies.sort()
            let p99 = latencies[latencies.count * 99 / 100]
            print("trickle: \(latencies.count) pings beside 500 trickling connections, p50 \(latencies[latencies.count / 2]), p99 \(p99)")
            // The bound catches a cpdd that gives a trickling connection a thread or a wait of its own
            // (pings would then wait seconds); it is loose because CI shares two cores with
            // PostgreSQL and the build, where this p99 has been 14 ms beside 4.5 ms on a quiet machine.
            #expect(p99 < .milliseconds(100))
            // The tricklers were served too: each has had at least one whole ping answered.
            stop.withLock { $0 = true }
            for trickler in tricklers.prefix(20) { #expect(try trickler.readResponse().final == "OK pong") }
        }
    }
}
