/// One statement of a pipeline (`PostgresDriver`): SQL with `$n` placeholders and the values bound to them.
public struct PostgresStatement: Sendable {
    public var sql: String
    public var values: [PostgresValue]
    public init(_ sql: String, _ bindings: [any PostgresEncodable] = []) {
        self.sql = sql
        self.values = bindings.map { $0.postgresValue }
    }
}
