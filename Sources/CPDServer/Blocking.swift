import CPDStore

/// Runs blocking work on a thread of its own (`onThreadOfItsOwn`), for the commands of `cpdd` that
/// manage a local PostgreSQL and for tests.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await onThreadOfItsOwn(body)
}
