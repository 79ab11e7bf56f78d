import Foundation

/// Runs blocking work (a child process, startup checks) on a thread of its own, so that it never
/// occupies an event loop or a thread of Swift's cooperative pool.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
