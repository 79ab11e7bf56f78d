/// Points a practitioner holds in one (category, delivery) cell over some days. Entries with no
/// category or no delivery (an opening balance, carry-over, some adjustments) have nil there.
public struct PointsRecord: Sendable, Equatable {
    public var effective: Day
    public var kind: EntryKind
    public var category: String?
    public var delivery: Delivery?
    public var points: Points
    /// From a course whose modalities meet the member's accredited modalities (one in common). Read
    /// only for a scheme with a rule on accredited modalities; false otherwise.
    public var accredited: Bool

    public init(effective: Day, kind: EntryKind, category: String?, delivery: Delivery?, points: Points, accredited: Bool = false) {
        self.effective = effective
        self.kind = kind
        self.category = category
        self.delivery = delivery
        self.points = points
        self.accredited = accredited
    }
}

/// The most points that can count when categories and delivery modes each have caps.
///
/// A point can count toward the total only once, and only within its category's cap and its
/// delivery mode's cap at the same time. The most that can count is the maximum flow through a
/// small network: source → category (its cap) → delivery (the points held in that cell) →
/// sink (the delivery mode's cap). Exact, with no order-of-caps guesswork; the network has a
/// handful of nodes, so Edmonds-Karp on integer hundredths is instant.
public enum PointsAllocation {
    public struct Cell: Hashable, Sendable {
        public var category: String?
        public var delivery: Delivery?
    }

    /// - Parameter cellCaps: caps on one category delivered one way (a rule on both at once): the
    ///   capacity of that cell's edge in the network.
    public static func counted(
        cells: [Cell: Points], categoryCaps: [String: Points], deliveryCaps: [Delivery: Points], cellCaps: [Cell: Points] = [:]
    ) -> Points {
        // With no cap on any cell, its category or its delivery mode, every point counts: the flow
        // below is then the positive points left after the negative ones, less what the negative
        // ones still owe, which is the plain sum.
        if !cells.keys.contains(where: { cell in
            cell.category.map { categoryCaps[$0] != nil } ?? false || cell.delivery.map { deliveryCaps[$0] != nil } ?? false
                || cellCaps[cell] != nil
        }) {
            return cells.values.reduce(Points.zero, +)
        }
        return byFlow(cells: cells, categoryCaps: categoryCaps, deliveryCaps: deliveryCaps, cellCaps: cellCaps)
    }

    /// `counted` by the flow network alone, with no shortcut (the tests check the shortcut against it).
    static func byFlow(
        cells: [Cell: Points], categoryCaps: [String: Points], deliveryCaps: [Delivery: Points], cellCaps: [Cell: Points] = [:]
    ) -> Points {
        // A negative cell (a reversal or adjustment with no counterpart in its own cell) first reduces
        // positive cells of its category, then of its delivery mode, so that caps apply to what is
        // left; only what remains comes off the total.
        var amounts = cells.mapValues(\.hundredths)
        var negative = Points.zero
        // Most negative first; ties by the cell's description, so the answer never depends on the
        // dictionary's order (which differs from one process to the next).
        let negatives = cells.filter { $0.value.hundredths < 0 }
            .sorted { $0.value != $1.value ? $0.value < $1.value : "\($0.key)" < "\($1.key)" }
        for (cell, points) in negatives {
            var owed = -points.hundredths
            amounts[cell] = 0
            let sameCategory = cell.category.map { c in amounts.keys.filter { $0.category == c } } ?? []
            let sameDelivery = cell.delivery.map { d in amounts.keys.filter { $0.delivery == d } } ?? []
            for other in (sameCategory + sameDelivery).sorted(by: { "\($0)" < "\($1)" }) where owed > 0 {
                let available = amounts[other] ?? 0
                guard available > 0 else { continue }
                let taken = min(available, owed)
                amounts[other] = available - taken
                owed -= taken
            }
            negative = negative - Points(hundredths: owed)
        }
        var positive: [(Cell, Int64)] = []
        for (cell, amount) in amounts where amount > 0 { positive.append((cell, amount)) }
        let categories = Array(Set(positive.map { $0.0.category.map { "c:" + $0 } ?? "c" })).sorted()
        let deliveries = Array(Set(positive.map { $0.0.delivery.map { "d:" + $0.rawValue } ?? "d" })).sorted()
        // Nodes: 0 source, 1 sink, then categories, then deliveries.
        let n = 2 + categories.count + deliveries.count
        let unlimited = Int64.max / 4
        var capacity = [[Int64]](repeating: [Int64](repeating: 0, count: n), count: n)
        func categoryNode(_ c: String?) -> Int { 2 + categories.firstIndex(of: c.map { "c:" + $0 } ?? "c")! }
        func deliveryNode(_ d: Delivery?) -> Int { 2 + categories.count + deliveries.firstIndex(of: d.map { "d:" + $0.rawValue } ?? "d")! }
        for (cell, amount) in positive {
            let from = categoryNode(cell.category), to = deliveryNode(cell.delivery)
            capacity[from][to] += amount
            capacity[0][from] = cell.category.flatMap { categoryCaps[$0]?.hundredths } ?? unlimited
            capacity[to][1] = cell.delivery.flatMap { deliveryCaps[$0]?.hundredths } ?? unlimited
            // A cell is one edge, so a cap on the cell is a cap on the edge.
            if let cap = cellCaps[cell] { capacity[from][to] = min(capacity[from][to], max(0, cap.hundredths)) }
        }
        return Points(hundredths: maxFlow(&capacity, source: 0, sink: 1)) + negative
    }

    static func maxFlow(_ capacity: inout [[Int64]], source: Int, sink: Int) -> Int64 {
        let n = capacity.count
        var total: Int64 = 0
        while true {
            var parent = [Int](repeating: -1, count: n)
            parent[source] = source
            var queue = [source]
            var head = 0
            while head < queue.count, parent[sink] == -1 {
                let u = queue[head]
                head += 1
                for v in 0..<n where parent[v] == -1 && capacity[u][v] > 0 {
                    parent[v] = u
                    queue.append(v)
                }
            }
            if parent[sink] == -1 { return total }
            var bottleneck = Int64.max
            var v = sink
            while v != source {
                bottleneck = min(bottleneck, capacity[parent[v]][v])
                v = parent[v]
            }
            v = sink
            while v != source {
                capacity[parent[v]][v] -= bottleneck
                capacity[v][parent[v]] += bottleneck
                v = parent[v]
            }
            total += bottleneck
        }
    }
}
