import Foundation
import Synchronization

/// A value shared between concurrent test tasks (a `Mutex` in a class, so closures can capture it).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }
    public var value: Value { mutex.withLock { $0 } }
}

/// Runs blocking database work on a thread of its own, as the pool does, so that tests which block
/// do not starve the cooperative pool that other suites run on.
public func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
