import CPDStore
import Synchronization

/// Tells a connection when its principal may have changed, so that `principal.remove` (or a changed
/// grant) takes effect on connections already open, cheaply. A connection keeps the `Stamp` it
/// resolved its principal at and, before each request that reaches the database, compares it with
/// the current one; only when they differ does it look its principal up again.
///
/// The stamp has two parts: a counter this cpdd moves on as soon as one of its own `principal.add`
/// or `principal.remove` has committed (its effect is immediate), and the database's
/// `principal_generation`, which every change to the principals moves on in the same transaction,
/// whichever cpdd made it. That one is read at most once per `databaseInterval`, so another cpdd's
/// change takes effect within about that long, at one small query per interval for the whole daemon.
public final class PrincipalChanges: Sendable {
    public struct Stamp: Sendable, Equatable {
        var local: Int
        var database: Int64?
    }

    /// How old the database's generation may be when a request is checked against it.
    public static let databaseInterval: Duration = .seconds(1)

    let store: RegistryStore
    private let local = Atomic<Int>(0)
    private let database = Mutex((value: Int64?.none, readAt: ContinuousClock.Instant?.none, reading: false))

    init(store: RegistryStore) {
        self.store = store
    }

    /// This cpdd has changed the principals: every connection looks its principal up again before
    /// its next request, the database's generation included.
    func noteChange() {
        database.withLock { $0.readAt = nil }
        local.add(1, ordering: .sequentiallyConsistent)
    }

    /// The stamp now: take it before resolving a principal, so that a change made meanwhile shows
    /// as a later stamp.
    func stamp() async -> Stamp {
        let now = ContinuousClock.now
        let due = database.withLock { state -> Bool in
            guard !state.reading, state.readAt.map({ now - $0 >= Self.databaseInterval }) ?? true else { return false }
            state.reading = true
            return true
        }
        // The counter is read before the generation: a change noted after this read makes a later
        // stamp whatever the generation read says.
        let counter = local.load(ordering: .sequentiallyConsistent)
        if due {
            let value = try? await store.principalGeneration()
            database.withLock { state in
                state.reading = false
                // When the database cannot be read, the next request tries again.
                if let value {
                    state.value = value
                    state.readAt = now
                }
            }
        }
        return Stamp(local: counter, database: database.withLock { $0.value })
    }
}
