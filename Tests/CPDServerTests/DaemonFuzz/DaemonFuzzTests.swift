import CPDCore
import Foundation
import Testing
import TestSupport

@testable import CPDServer

/// The stateful fuzzer of the running daemon (docs/fuzzing.md): seeded sequences of requests for
/// every command and every role, pipelined over several connections of real Unix accounts, with the
/// registry's promises checked after each step. CI runs it for `CPD_FUZZ_SECONDS` (60 by default;
/// 600 with `CPD_FAULT_LONG=1`); `CPD_FUZZ_SEED` replays a run.
@Suite(.serialized) struct DaemonFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seconds = environment["CPD_FUZZ_SECONDS"].flatMap(Int.init) ?? (environment["CPD_FAULT_LONG"] == "1" ? 600 : 60)

    @Test func everyCommandHasAGenerator() {
        #expect(Set(FuzzRequests.generators.keys) == Set(CommandTable.all.map(\.name)), "teach the fuzzer every command")
    }

    @Test func noSequenceOfRequestsCrashesDesyncsOrCorruptsTheRegistry() async throws {
        let seed = Self.environment["CPD_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let seconds = Self.seconds
        try FuzzDaemon.createAccounts()
        defer { FuzzDaemon.removeAccounts() }
        try await runBlocking {
            let daemon = try FuzzDaemon(label: "fuzz")
            defer { daemon.stop() }
            let fuzzer = try DaemonFuzzer(daemon: daemon, seed: seed)
            let started = ContinuousClock.now
            let failure = fuzzer.run(for: seconds)
            let f = fuzzer.figures
            print("""
                daemon fuzz: seed \(seed), \(ContinuousClock.now - started), \(fuzzer.links.count) connections \
                (\(fuzzer.identities.values.map { "\($0.name):\($0.role.rawValue)" }.sorted().joined(separator: " "))), \
                \(f.sequences) sequences, \(f.requests) requests, \(f.probes) one-at-a-time probes, \
                ERR by code \(f.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")), \
                OK by command \(f.oks.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")), \
                \(failure == nil ? "0 failures" : "1 failure")
                """)
            guard let failure else { return }
            let shortened = DaemonFuzzer.shrink(fuzzer.trace, as: failure, budget: .seconds(180))
            let shown = (shortened ?? Array(fuzzer.trace.suffix(40))).map { "  \($0.link): \($0.request.text.debugDescription.prefix(400))" }
            Issue.record("""
                daemon fuzz failed with seed \(seed) (CPD_FUZZ_SEED=\(seed) replays it): \(failure)
                \(shortened == nil ? "it does not fail when replayed one request at a time; the last 40 requests:" : "a shortened sequence that still fails, one request at a time:")
                \(shown.joined(separator: "\n"))
                """)
        }
    }
}
