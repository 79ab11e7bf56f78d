/// Properties of framing and parsing that must hold for any bytes whatever, checked by the fuzz target
/// (`Sources/cpd-fuzz`) and by a property test. A violated property traps, which is what a fuzzer
/// reports.
public enum ProtocolSelfCheck {
    /// - Framing is the same whether the bytes come at once or in pieces, and never holds more than
    ///   the limit.
    /// - A line that parses, written back with `ResponseLine.quote`, is one line and parses to the same
    ///   request.
    public static func check(_ bytes: [UInt8], limit: Int = 64) {
        var whole = LineFramer(limit: limit)
        let expected = whole.feed(bytes)
        precondition(whole.bufferedByteCount <= limit + 1, "the framer held more than its limit")
        var pieces = LineFramer(limit: limit)
        var got: [FramedLine] = []
        var index = 0
        var step = 1
        while index < bytes.count {
            let end = min(bytes.count, index + step)
            got += pieces.feed(bytes[index..<end])
            precondition(pieces.bufferedByteCount <= limit + 1, "the framer held more than its limit")
            index = end
            step = Int(bytes[index - 1] % 7) + 1
        }
        precondition(got == expected, "framing depends on how the bytes were split")
        for case .line(let line) in expected {
            guard let text = String(validating: line, as: UTF8.self),
                let request = try? RequestParser.parse(text)
            else { continue }
            let written = ([request.command] + request.positional + request.arguments.map { "\($0.key)=\(ResponseLine.quote($0.value))" })
                .joined(separator: " ")
            precondition(!written.utf8.contains(UInt8(ascii: "\n")) && !written.utf8.contains(UInt8(ascii: "\r")),
                "a written request must stay on one line: '\(written)'")
            let again = try? RequestParser.parse(written)
            precondition(again == request, "'\(text)' parsed, but its written form '\(written)' did not parse back the same")
        }
    }
}
