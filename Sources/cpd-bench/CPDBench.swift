/// cpd-bench: measures cpd on registries of a chosen size. Build it in release mode
/// (`swift build -c release --product cpd-bench`); docs/performance.md says how it is used.
import ArgumentParser

@main
struct CPDBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpd-bench",
        abstract: "Make registries of a chosen size and measure cpd on them.",
        subcommands: [Generate.self, Drive.self, Compare.self, Idle.self])
}
