import Testing

@testable import CPDCore

/// The fast paths in the rules (a plain sum when no cap applies, running sums for a rolling balance)
/// against the straightforward computations they replace, on many random ledgers.
@Suite struct ShortcutTests {
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let categories: [String?] = ["clinical", "ethics", "self_care", nil]

    static func records(_ random: inout Random, count: Int, around today: Day, spanDays: Int) -> [PointsRecord] {
        (0..<count).map { _ in
            let negative = random.next(6) == 0
            let hundredths = Int64(25 + random.next(600)) * (negative ? -1 : 1)
            let delivery: Delivery? = random.next(5) == 0 ? nil : Delivery.allCases[random.next(Delivery.allCases.count)]
            return PointsRecord(
                effective: today.adding(days: -random.next(spanDays)), kind: negative ? .reversal : .completion,
                category: categories[random.next(categories.count)], delivery: delivery, points: Points(hundredths: hundredths))
        }
    }

    @Test func aPlainSumEqualsTheFlowWheneverNoCapApplies() {
        var random = Random(state: 1)
        for _ in 0..<2_000 {
            var cells: [PointsAllocation.Cell: Points] = [:]
            for record in Self.records(&random, count: 1 + random.next(12), around: Day(ordinal: 20_000), spanDays: 30) {
                cells[PointsAllocation.Cell(category: record.category, delivery: record.delivery), default: .zero] += record.points
            }
            // Caps on a category and a delivery mode no cell has: the shortcut must be taken and agree.
            let absentCategory = ["nowhere": Points(1)]
            #expect(PointsAllocation.counted(cells: cells, categoryCaps: absentCategory, deliveryCaps: [:])
                == PointsAllocation.byFlow(cells: cells, categoryCaps: absentCategory, deliveryCaps: [:]))
            // Caps that do apply go through the flow.
            let caps = ["ethics": Points(hundredths: Int64(random.next(800)))]
            let deliveryCaps: [Delivery: Points] = [.online: Points(hundredths: Int64(random.next(800)))]
            #expect(PointsAllocation.counted(cells: cells, categoryCaps: caps, deliveryCaps: deliveryCaps)
                == PointsAllocation.byFlow(cells: cells, categoryCaps: caps, deliveryCaps: deliveryCaps))
            // A cap on a cell (a category delivered one way) goes through the flow too; on a cell no
            // record has, the shortcut is taken and agrees.
            let cellCap = [PointsAllocation.Cell(category: "ethics", delivery: .online): Points(hundredths: Int64(random.next(800)))]
            #expect(PointsAllocation.counted(cells: cells, categoryCaps: [:], deliveryCaps: [:], cellCaps: cellCap)
                == PointsAllocation.byFlow(cells: cells, categoryCaps: [:], deliveryCaps: [:], cellCaps: cellCap))
            let absentCell = [PointsAllocation.Cell(category: "nowhere", delivery: .online): Points(1)]
            #expect(PointsAllocation.counted(cells: cells, categoryCaps: [:], deliveryCaps: [:], cellCaps: absentCell)
                == cells.values.reduce(Points.zero, +))
        }
    }

    @Test func theCountedPointsDoNotDependOnTheDictionarysOrder() {
        // Two negative cells of the same size: which one is settled first decides where the other
        // one's points come off, and so (with a cap) the answer. It must be the same however the
        // dictionary happens to order them.
        let entries: [(PointsAllocation.Cell, Points)] = [
            (.init(category: "x", delivery: .online), Points(-5)), (.init(category: "x", delivery: .webinar), Points(-5)),
            (.init(category: "x", delivery: .reading), Points(5)), (.init(category: "y", delivery: .online), Points(5)),
        ]
        var answers: Set<Points> = []
        for capacity in 0..<48 {
            for rotation in 0..<entries.count {
                var cells = [PointsAllocation.Cell: Points](minimumCapacity: capacity)
                for (cell, points) in entries[rotation...] + entries[..<rotation] { cells[cell] = points }
                answers.insert(PointsAllocation.counted(cells: cells, categoryCaps: ["y": .zero], deliveryCaps: [:]))
            }
        }
        #expect(answers.count == 1, "\(answers)")
        // Ties go in the order of the cells' descriptions: (x, online) first takes the 5 in
        // (x, reading); (x, webinar) then finds nothing left in x or in webinar and comes off the
        // total; y's 5 is capped away. Dictionary order alone gave 0 in some processes.
        #expect(answers == [Points(-5)])
    }

    /// Days until a rolling balance falls short, tallying the whole window again on each day an
    /// entry leaves it: what `daysUntilShort` computed before it kept running sums.
    static func daysUntilShortByRetallying(scheme: Scheme, joined: Day, on day: Day, records: [PointsRecord], required: Points) -> Int {
        func leaves(_ effective: Day) -> Day {
            var date = try! effective.adding(months: scheme.period.months)
            while try! scheme.period.cycle(containing: date, joined: joined).start <= effective { date = date.adding(days: 1) }
            return date
        }
        for date in Set(records.map { leaves($0.effective) }).filter({ $0 > day }).sorted() {
            let window = try! scheme.period.cycle(containing: date, joined: joined)
            if Tally(records: records.filter { $0.effective >= window.start }, scheme: scheme, required: required).shortfall.isPositive {
                return day.distance(to: date) - 1
            }
        }
        return Int(Int32.max)
    }

    @Test func runningSumsGiveTheSameDaysLeftAsRetallying() throws {
        var random = Random(state: 2)
        let capped = try Scheme(
            code: "RC", title: "RC", period: .rolling(months: 12), required: Points(20),
            rules: [SchemeRule(target: .category("ethics"), bound: .min(Points(3))),
                    SchemeRule(target: .delivery(.online), bound: .max(Points(8)))])
        let plain = try Scheme(code: "RP", title: "RP", period: .rolling(months: 36), required: Points(40))
        var checked = 0
        for scheme in [capped, plain] {
            for _ in 0..<500 {
                // Month ends and 29 February among the days, where windows clamp.
                let today = Day(year: 2024 + random.next(3), month: 1 + random.next(12), day: [1, 28, 29, 30, 31][random.next(5)])
                    ?? Day(year: 2025, month: 2, day: 28)!
                let joined = today.adding(days: -4_000)
                let cycle = try scheme.period.cycle(containing: today, joined: joined)
                let records = Self.records(&random, count: random.next(30), around: today, spanDays: cycle.start.distance(to: today) + 1)
                let required = try Compliance.requirement(scheme: scheme, cycle: cycle, joined: joined)
                guard !Tally(records: records, scheme: scheme, required: required).shortfall.isPositive else { continue }
                #expect(Compliance.daysUntilShort(scheme: scheme, joined: joined, on: today, records: records, required: required)
                    == Self.daysUntilShortByRetallying(scheme: scheme, joined: joined, on: today, records: records, required: required))
                checked += 1
            }
        }
        #expect(checked > 200, "enough ledgers were sufficient today to compare")
    }
}
