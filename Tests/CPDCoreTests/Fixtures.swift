@testable import CPDCore

func day(_ text: String) -> Day { Day(parsing: text)! }
func pts(_ text: String) -> Points { Points(parsing: text)! }

func completion(_ date: String, _ points: String, _ category: String = "clinical", _ delivery: Delivery = .inPerson) -> PointsRecord {
    PointsRecord(effective: day(date), kind: .completion, category: category, delivery: delivery, points: pts(points))
}

/// Schemes modelled on the bodies in domain.md.
enum Schemes {
    /// Myotherapy Association Australia: 20 a year from 1 July; ≥ 4 in person, ≤ 16 online, ≤ 10 reading.
    static let myotherapy = try! Scheme(
        code: "MYO-AA", title: "Myotherapy", period: SchemePeriod(kind: "fixed", length: 12, start: "07-01"), required: Points(20),
        rules: [
            SchemeRule(target: .delivery(.inPerson), bound: .min(Points(4))),
            SchemeRule(target: .delivery(.online), bound: .max(Points(16))),
            SchemeRule(target: .delivery(.reading), bound: .max(Points(10))),
        ])
    /// NCBTMB: 24 hours in 2 years; ≥ 3 ethics, ≤ 4 self-care.
    static let ncbtmb = try! Scheme(
        code: "NCBTMB", title: "NCBTMB", period: SchemePeriod(kind: "fixed", length: 24, start: "2025-01-01"), required: Points(24),
        rules: [
            SchemeRule(target: .category("ethics"), bound: .min(Points(3))),
            SchemeRule(target: .category("self_care"), bound: .max(Points(4))),
        ])
    /// Massage & Myotherapy Australia, remedial: 40 held at all times over a rolling 3 years; opening 40; first aid.
    static let mma = try! Scheme(
        code: "MMA-REM", title: "MMA remedial", period: SchemePeriod(kind: "rolling", length: 36, start: nil), required: Points(40),
        openingBalance: Points(40), certificates: ["first_aid"])
    /// CMA: 20 a membership year; carry-over of at most 10.
    static let cma = try! Scheme(
        code: "CMA", title: "CMA", period: SchemePeriod(kind: "anniversary", length: 12, start: nil), required: Points(20),
        carryOverMax: Points(10))
    /// Florida: 24 hours every 2 years to 31 August of odd years, first renewal pro-rata by month.
    static let florida = try! Scheme(
        code: "FL-LMT", title: "Florida", period: SchemePeriod(kind: "fixed", length: 24, start: "2025-09-01"), required: Points(24),
        rules: [SchemeRule(target: .category("ethics"), bound: .min(Points(2))), SchemeRule(target: .delivery(.inPerson), bound: .min(Points(12)))],
        proRataMonthly: true)
    /// CNHC: 15 a year, no more than a third from any single type of activity.
    static let cnhc = try! Scheme(
        code: "CNHC", title: "CNHC", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(15),
        rules: Delivery.allCases.map { SchemeRule(target: .delivery($0), bound: .maxShare(percent: pts("33.33"))) })
    /// ANTA-like: a calendar year of 20 with half from clinical topics.
    static let anta = try! Scheme(
        code: "ANTA", title: "ANTA", period: SchemePeriod(kind: "fixed", length: 12, start: "01-01"), required: Points(20),
        rules: [SchemeRule(target: .category("clinical"), bound: .minShare(percent: Points(50)))])
}
