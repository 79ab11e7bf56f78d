import CPDCore
import Postgres

/// Schemes (with their rules and required certificates), practitioners and certificates.
public enum SchemeStore {
    public static func addScheme(_ scheme: Scheme, startText: String?, _ c: PostgresConnection) throws {
        let anchor: Day?
        if case .fixed(_, let a) = scheme.period { anchor = a } else { anchor = nil }
        let hours: (minutesPerHour: Int, rounding: HourRounding)?
        if case .hours(let minutesPerHour, let rounding) = scheme.unit { hours = (minutesPerHour, rounding) } else { hours = nil }
        let inserted = try c.query(
            """
            INSERT INTO scheme (code, title, period, length_months, anchor, start_text, required, carry_over_max, opening_balance, pro_rata,
                                pro_rata_rate, unit, minutes_per_hour, hour_rounding, renewal_due_days, late_renewal)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (code) DO NOTHING
            """,
            [scheme.code, scheme.title, scheme.period.kind, scheme.period.months, anchor, startText, scheme.required,
             scheme.carryOverMax, scheme.openingBalance, scheme.proRataKind, scheme.proRataPerMonth, scheme.unit.kind,
             hours?.minutesPerHour, hours?.rounding.rawValue, scheme.renewalDueDays, scheme.lateRenewal.rawValue])
        guard inserted.affectedRows == 1 else { throw StoreError.conflict("scheme \(scheme.code) exists") }
    }

    public static func addRule(scheme code: String, _ rule: SchemeRule, _ c: PostgresConnection) throws {
        // Two rules for one target racing each other: the table's unique key lets one through.
        do {
            let current = try scheme(code, c)
            do {
                try current.validate(rule)
            } catch {
                throw StoreError.invalid(error)
            }
            let (kind, target) = stored(rule.target)
            let (bound, amount): (String, Points)
            switch rule.bound {
            case .min(let p): (bound, amount) = ("min", p)
            case .max(let p): (bound, amount) = ("max", p)
            case .minShare(let p): (bound, amount) = ("min_share", p)
            case .maxShare(let p): (bound, amount) = ("max_share", p)
            }
            try c.query(
                "INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount, advisory) VALUES ($1, $2, $3, $4, $5, $6)",
                [code, kind, target, bound, amount, rule.advisory])
        } catch let error as PostgresError where error.code == .uniqueViolation {
            throw StoreError.conflict("scheme \(code) already has a \(rule.bound.isMinimum ? "minimum" : "cap") for \(rule.target.description)")
        }
    }

    public static func addRequiredCertificate(scheme code: String, kind: String, _ c: PostgresConnection) throws {
        guard try !c.query("SELECT 1 FROM scheme WHERE code = $1", [code]).isEmpty else { throw StoreError.notFound("no scheme \(code)") }
        let inserted = try c.query("INSERT INTO scheme_certificate (scheme, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING", [code, kind])
        guard inserted.affectedRows == 1 else { throw StoreError.conflict("scheme \(code) already requires \(kind)") }
    }

    /// A scheme with its rules (in the order they were added) and required certificates, in one query.
    public static func scheme(_ code: String, _ c: PostgresConnection) throws -> Scheme {
        guard let row = try c.query(schemeSelect + " WHERE s.code = $1", [code]).first else { throw StoreError.notFound("no scheme \(code)") }
        return try decodeScheme(row)
    }

    /// A scheme's columns with its rules and certificate kinds folded into text, so that a scheme is
    /// one row (and can be joined to a member's row).
    static let schemeSelect = """
        SELECT s.code, s.title, s.period, s.length_months, s.anchor, s.required, s.carry_over_max, s.opening_balance, s.pro_rata, s.pro_rata_rate,
               s.unit, s.minutes_per_hour, s.hour_rounding, s.renewal_due_days, s.late_renewal,
               coalesce((SELECT string_agg(r.target_kind || ' ' || r.target || ' ' || r.bound || ' ' || r.amount
                                           || CASE WHEN r.advisory THEN ' advisory' ELSE '' END, ',' ORDER BY r.id)
                         FROM scheme_rule r WHERE r.scheme = s.code), '') AS rules,
               coalesce((SELECT string_agg(k.kind, ',' ORDER BY k.kind) FROM scheme_certificate k WHERE k.scheme = s.code), '') AS certificate_kinds
        FROM scheme s
        """

    static func decodeScheme(_ row: PostgresRow) throws -> Scheme {
        let months: Int = try row["length_months"]
        let period: SchemePeriod
        switch try row["period"] as String {
        case "fixed": period = .fixed(months: months, anchor: try row["anchor"])
        case "anniversary": period = .anniversary(months: months)
        default: period = .rolling(months: months)
        }
        // Targets are words and codes, bounds are words, amounts are numbers: no spaces or commas.
        let rules = try (try row["rules"] as String).split(separator: ",").map { text -> SchemeRule in
            let parts = text.split(separator: " ").map(String.init)
            guard parts.count == 4 || (parts.count == 5 && parts[4] == "advisory"), let amount = Points(parsing: parts[3]),
                  let target = target(kind: parts[0], parts[1])
            else {
                throw StoreError.invalid(ValidationError("rule", "cannot read '\(text)'"))
            }
            let bound: RuleBound
            switch parts[2] {
            case "min": bound = .min(amount)
            case "max": bound = .max(amount)
            case "min_share": bound = .minShare(percent: amount)
            default: bound = .maxShare(percent: amount)
            }
            return SchemeRule(target: target, bound: bound, advisory: parts.count == 5)
        }
        let certificates = (try row["certificate_kinds"] as String).split(separator: ",").map(String.init)
        return try Scheme(
            code: try row["code"], title: try row["title"], period: period, required: try row["required"], rules: rules,
            carryOverMax: try row["carry_over_max"], openingBalance: try row["opening_balance"],
            proRataMonthly: try row["pro_rata"] as String == "monthly", proRataPerMonth: try row["pro_rata_rate"], certificates: certificates,
            unit: try unit(row), renewalDueDays: try row["renewal_due_days"],
            lateRenewal: LateRenewal(rawValue: try row["late_renewal"]) ?? .none)
    }

    /// The scheme's unit from its row; the table's check keeps the three columns consistent.
    static func unit(_ row: PostgresRow) throws -> CreditUnit {
        guard try row["unit"] as String == "hours", let minutesPerHour: Int = try row["minutes_per_hour"],
              let rounding = HourRounding(rawValue: try row["hour_rounding"] as String? ?? "")
        else { return .points }
        return .hours(minutesPerHour: minutesPerHour, rounding: rounding)
    }

    /// A rule's target as `scheme_rule` keeps it: its kind, and its category, delivery mode, both
    /// (`clinical:in_person`) or `*`.
    static func stored(_ target: RuleTarget) -> (kind: String, target: String) {
        switch target {
        case .category(let category): return ("category", category)
        case .delivery(let delivery): return ("delivery", delivery.rawValue)
        case .categoryAndDelivery(let category, let delivery): return ("category_delivery", category + ":" + delivery.rawValue)
        case .everyCategory: return ("every_category", "*")
        case .everyDelivery: return ("every_delivery", "*")
        case .accreditedModalities: return ("accredited", "accredited")
        }
    }

    /// The target `stored` wrote; nil for what it never writes.
    static func target(kind: String, _ text: String) -> RuleTarget? {
        switch kind {
        case "category": return .category(text)
        case "delivery": return Delivery(rawValue: text).map { .delivery($0) }
        case "category_delivery":
            let halves = text.split(separator: ":", omittingEmptySubsequences: false)
            guard halves.count == 2, let delivery = Delivery(rawValue: String(halves[1])) else { return nil }
            return .categoryAndDelivery(String(halves[0]), delivery)
        case "every_category": return .everyCategory
        case "every_delivery": return .everyDelivery
        case "accredited": return .accreditedModalities
        default: return nil
        }
    }

    /// The start as it was given (`07-01`), for display.
    public static func startText(_ code: String, _ c: PostgresConnection) throws -> String? {
        try c.query("SELECT start_text FROM scheme WHERE code = $1", [code]).first.map { try $0[0] as String? } ?? nil
    }

    /// Registers a practitioner and, when their scheme has one, appends their opening balance. The same
    /// registration again is a no-op; the same id with other details is a conflict.
    public static func addPractitioner(_ p: Practitioner, by recorder: Recorder, _ c: PostgresConnection) throws {
        try c.withTransaction { c in
            guard let opening = try c.query("SELECT opening_balance FROM scheme WHERE code = $1", [p.scheme]).first else {
                throw StoreError.notFound("no scheme \(p.scheme)")
            }
            // A member whose first cycle the calendar cannot hold could never be given a standing,
            // and would fail every nightly report: refuse them here instead.
            do {
                _ = try scheme(p.scheme, c).period.cycle(containing: p.joined, joined: p.joined)
            } catch let error as DayOutOfRange {
                throw ValidationError("joined", error.description)
            }
            let inserted = try c.query(
                "INSERT INTO practitioner (id, name, scheme, joined, modalities) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                [p.id, p.name, p.scheme, p.joined, TextArray(p.modalities)])
            if inserted.affectedRows == 0 {
                let existing = try practitioner(p.id, c)
                guard existing == p else { throw StoreError.conflict("practitioner \(p.id) exists with other details") }
                return
            }
            if let balance: Points = try opening["opening_balance"] {
                try c.query(
                    """
                    INSERT INTO ledger_entry (practitioner, kind, points, effective, recorded_by, recorded_by_uid, key_scope, idempotency_key, request)
                    VALUES ($1, 'opening_balance', $2, $3, $4, $5, $6, $7, $8)
                    """,
                    // cpdd's key scope: the key is derived from the member, never a sender's.
                    [p.id, balance, p.joined, recorder.name, recorder.uid.map(Int64.init), Recorder.cpdd(for: recorder).keyScope,
                     "opening:" + p.id, RequestFingerprint.openingBalance(practitioner: p.id, scheme: p.scheme).text])
            }
        }
    }

    public static func practitioner(_ id: String, _ c: PostgresConnection) throws -> Practitioner {
        guard let row = try c.query("SELECT id, name, scheme, joined, modalities FROM practitioner WHERE id = $1", [id]).first else {
            throw StoreError.notFound("no practitioner \(id)")
        }
        return try Practitioner(
            id: try row["id"], name: try row["name"], scheme: try row["scheme"], joined: try row["joined"],
            modalities: (try row["modalities"] as TextArray).values)
    }

    public static func addCertificate(_ certificate: Certificate, by principal: String, _ c: PostgresConnection) throws {
        _ = try practitioner(certificate.practitioner, c)
        try c.query(
            "INSERT INTO certificate (practitioner, kind, issued, expires, ref, recorded_by) VALUES ($1, $2, $3, $4, $5, $6)",
            [certificate.practitioner, certificate.kind, certificate.issued, certificate.expires, certificate.reference, principal])
    }

    public static func certificates(of practitioner: String, _ c: PostgresConnection) throws -> [Certificate] {
        try c.query("SELECT kind, issued, expires, ref FROM certificate WHERE practitioner = $1 ORDER BY expires", [practitioner]).map { row in
            try Certificate(practitioner: practitioner, kind: try row["kind"], issued: try row["issued"], expires: try row["expires"], reference: try row["ref"])
        }
    }
}
