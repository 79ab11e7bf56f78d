import AdminProtocol

/// A data line's fields, in order, written as `key=value` pairs or as one JSON object.
struct Record {
    var fields: [(String, String)] = []

    mutating func add(_ key: String, _ value: String?) {
        if let value { fields.append((key, value)) }
    }

    func line(json: Bool) -> String {
        guard json else { return ResponseLine.data(fields) }
        return "* {" + fields.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
    }
}
