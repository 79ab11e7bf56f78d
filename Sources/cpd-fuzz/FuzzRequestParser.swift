/// cpd-fuzz: the request parser and line framer under a fuzzer.
///
/// With libFuzzer (see docs/fuzzing.md):
///     swift build -c release --sanitize=fuzzer -Xswiftc -DFUZZING --product cpd-fuzz
///     .build/release/cpd-fuzz -max_total_time=300 Fuzz/corpus
/// Built normally, it replays files (a corpus, or a crash libFuzzer saved) through the same checks.
import AdminProtocol

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ProtocolSelfCheck.check(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
import Foundation

@main
struct ReplayCorpus {
    static func main() throws {
        var files = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("cpd-fuzz: no such file \(argument)\n".utf8))
                exit(2)
            }
            let paths = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: argument).sorted().map { argument + "/" + $0 } : [argument]
            for path in paths {
                ProtocolSelfCheck.check(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
                files += 1
            }
        }
        print("cpd-fuzz: \(files) inputs replayed, no property violated")
    }
}
#endif
