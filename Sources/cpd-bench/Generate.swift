import ArgumentParser
import CPDCore
import CPDStore
import Foundation
import Postgres

/// A registry of a chosen size, made for measuring: providers, courses and schemes like the demo's,
/// members spread over the schemes and join dates, certificates some of which have lapsed or are
/// about to, and ledger entries loaded with COPY through the ledger's own append trigger (so ids,
/// links and hashes are exactly what cpdd would have written), with one entry in 200 reversed.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill an empty database with a registry of a chosen size (COPY, through the ledger's trigger).")

    @Option(help: ArgumentHelp("libpq conninfo of an empty database; it is migrated first (as its owner).", valueName: "conninfo"))
    var database: String

    @Option(help: "Members.") var practitioners = 100_000
    @Option(help: "Ledger entries (completions, then one in 200 of them reversed).") var entries = 2_000_000
    @Option(help: "Seed of the pseudo-random choices, so that a registry can be made again.") var seed: UInt64 = 1

    func run() throws {
        guard practitioners > 0, entries >= 0 else { throw ValidationError("--practitioners must be above 0 and --entries at least 0") }
        let c = try PostgresConnection(conninfo: database, applicationName: "cpd-bench generate")
        try Migrator(set: try MigrationSet(directory: try sqlDirectory() + "/migrations")).migrate(c)
        let existing: Int64 = try c.query("SELECT count(*) FROM practitioner")[0][0]
        guard existing == 0 else { throw ValidationError("the database already has \(existing) practitioners; give an empty one") }
        let today: Day = try c.query("SELECT (now() AT TIME ZONE time_zone)::date FROM registry")[0][0]
        var random = SplitMix64(seed: seed)
        let clock = ContinuousClock()

        var start = clock.now
        try c.execute(script: Self.catalogueAndSchemes)
        let courses = try c.query(
            "SELECT v.course, v.version, v.points::text AS points, v.category, v.delivery FROM course c JOIN course_version v ON v.course = c.code AND v.version = c.current_version WHERE c.status = 'published' ORDER BY 1"
        ).map { row in (code: try row["course"] as String, version: try row["version"] as Int, points: try row["points"] as String, category: try row["category"] as String, delivery: try row["delivery"] as String) }
        let schemes = try c.query("SELECT code, EXISTS (SELECT 1 FROM scheme_certificate s WHERE s.scheme = code) AS certified FROM scheme ORDER BY code")
            .map { (code: try $0["code"] as String, certified: try $0["certified"] as Bool) }
        report("catalogue and schemes", courses.count, clock.now - start)

        start = clock.now
        var joined: [Day] = []
        joined.reserveCapacity(practitioners)
        let earliest = Day(year: 2015, month: 1, day: 1)!
        let joinSpan = earliest.distance(to: today.adding(days: -30))
        let loaded = try c.copyFrom("COPY practitioner (id, name, scheme, joined, modalities) FROM STDIN") { rows in
            for i in 0..<practitioners {
                let day = earliest.adding(days: Int(random.next(below: UInt64(joinSpan))))
                joined.append(day)
                try rows.append([Self.memberID(i), "Member \(i)", schemes[i % schemes.count].code, day, TextArrayLiteral("{remedial}")])
            }
        }
        report("practitioners", Int(loaded), clock.now - start)

        start = clock.now
        let certificates = try c.copyFrom("COPY certificate (practitioner, kind, issued, expires, recorded_by) FROM STDIN") { rows in
            for i in 0..<practitioners where schemes[i % schemes.count].certified {
                // Most current, some expiring within 60 days, some expired, one in 50 never recorded.
                let roll = random.next(below: 100)
                guard roll >= 2 else { continue }
                let expires = roll < 8 ? today.adding(days: -Int(random.next(below: 400)) - 1)
                    : roll < 14 ? today.adding(days: Int(random.next(below: 60)))
                    : today.adding(days: 61 + Int(random.next(below: 1000)))
                try rows.append([Self.memberID(i), "first_aid", expires.adding(days: -1095), expires, "bench"])
            }
        }
        report("certificates", Int(certificates), clock.now - start)

        // Foreign keys are checked per row at the end of a COPY (20 million lookups and locks);
        // dropped for the load and added back, which checks them all in one set-based pass.
        let keys = try c.query(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'ledger_entry'::regclass AND contype = 'f'"
        ).map { (name: try $0["conname"] as String, definition: try $0["definition"] as String) }
        for key in keys { try c.execute(script: "ALTER TABLE ledger_entry DROP CONSTRAINT \(Self.identifier(key.name))") }

        start = clock.now
        let window = 3 * 365
        let made = try c.copyFrom(
            "COPY ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, recorded_by, idempotency_key, request) FROM STDIN"
        ) { rows in
            for i in 0..<entries {
                let member = Int(random.next(below: UInt64(practitioners)))
                let course = courses[Int(random.next(below: UInt64(courses.count)))]
                let from = max(joined[member], today.adding(days: -window))
                let effective = from.adding(days: Int(random.next(below: UInt64(max(from.distance(to: today), 0) + 1))))
                try rows.append([
                    Self.memberID(member), "completion", NumericLiteral(course.points), effective, course.code, course.version, course.category,
                    course.delivery, "bench", "g-\(i)", "generated \(i)",
                ])
                if i % 1_000_000 == 999_999 { report("  entries so far", i + 1, clock.now - start) }
            }
        }
        report("completions", Int(made), clock.now - start)

        start = clock.now
        for key in keys { try c.execute(script: "ALTER TABLE ledger_entry ADD CONSTRAINT \(Self.identifier(key.name)) \(key.definition)") }
        report("foreign keys checked", keys.count, clock.now - start)

        start = clock.now
        let reversed = try c.query(
            """
            INSERT INTO ledger_entry (practitioner, kind, points, effective, course, course_version, category, delivery, reverses, reason,
                                      recorded_by, idempotency_key, request)
            SELECT practitioner, 'reversal', -points, effective, course, course_version, category, delivery, id, 'generated reversal',
                   'bench', 'r-' || id, 'generated reversal ' || id
            FROM ledger_entry WHERE kind = 'completion' AND id % 200 = 0 ORDER BY id
            """).affectedRows
        report("reversals", Int(reversed), clock.now - start)

        start = clock.now
        try c.execute(script: "ANALYZE")
        report("analyze", 0, clock.now - start)
    }

    static func memberID(_ i: Int) -> String { "M-" + String(i + 1) }

    /// A constraint's name as an identifier (names cannot be parameters): the catalogue's own
    /// names, checked to be plain before they are quoted.
    static func identifier(_ name: String) throws -> String {
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ValidationError("unexpected constraint name \(name)")
        }
        return "\"" + name + "\""
    }

    func report(_ what: String, _ count: Int, _ took: Duration) {
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Int(Double(count) / seconds) : 0
        print("\(what): \(count) in \(String(format: "%.1f", seconds)) s (\(rate)/s)")
        fflush(nil)
    }

    func sqlDirectory() throws -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.path + "/sql/migrations") { return url.path + "/sql" }
            url.deleteLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: "/usr/share/cpd/sql/migrations") { return "/usr/share/cpd/sql" }
        throw ValidationError("no sql/migrations found above \(executable)")
    }

    /// Small and set-based: 40 providers, 2,000 courses (1,900 published), four schemes that cover
    /// the period kinds, minimums, caps, shares, pro-rata and a required certificate.
    static let catalogueAndSchemes = """
        INSERT INTO provider (code, name) SELECT 'PROV-' || n, 'Provider ' || n FROM generate_series(1, 40) n;
        INSERT INTO course (code, provider, status)
            SELECT 'C-' || n, 'PROV-' || (1 + n % 40), CASE WHEN n % 20 = 0 THEN 'retired' ELSE 'published' END FROM generate_series(1, 2000) n;
        INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by)
            SELECT 'C-' || n, 1, 'Course ' || n || ' on ' || (ARRAY['neck pain', 'anxiety', 'sleep', 'ethics', 'first aid', 'sports injury'])[1 + n % 6],
                   'Generated for measuring.', (1 + n % 8)::numeric, (1 + n % 8)::numeric,
                   (ARRAY['clinical', 'mental_health', 'ethics', 'clinical', 'first_aid', 'clinical'])[1 + n % 6],
                   (ARRAY['in_person', 'online', 'webinar', 'reading'])[1 + n % 4], '{remedial}', 'bench'
            FROM generate_series(1, 2000) n;
        INSERT INTO scheme (code, title, period, length_months, anchor, start_text, required, carry_over_max, pro_rata) VALUES
            ('FIXED', 'Fixed yearly, from 1 July', 'fixed', 12, '2000-07-01', '07-01', 20, 5, 'none'),
            ('ANNIV', 'Anniversary, two years', 'anniversary', 24, NULL, NULL, 40, NULL, 'none'),
            ('ROLL', 'Rolling three years', 'rolling', 36, NULL, NULL, 60, NULL, 'none'),
            ('CAL', 'Calendar year, pro rata', 'fixed', 12, '2000-01-01', '01-01', 15, NULL, 'monthly');
        INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount) VALUES
            ('FIXED', 'delivery', 'in_person', 'min', 4), ('FIXED', 'delivery', 'online', 'max', 10),
            ('ANNIV', 'delivery', 'online', 'max_share', 50), ('ROLL', 'category', 'ethics', 'min', 2),
            ('CAL', 'category', 'clinical', 'min_share', 40);
        INSERT INTO scheme_certificate (scheme, kind) VALUES ('FIXED', 'first_aid'), ('ROLL', 'first_aid');
        """
}

/// A numeric already in text form (the course's points as the database wrote them).
struct NumericLiteral: PostgresEncodable {
    let text: String
    init(_ text: String) { self.text = text }
    static var postgresType: PostgresType { .numeric }
    var postgresValue: PostgresValue { .text(text, as: .numeric) }
}

/// A text[] literal, written as PostgreSQL's array syntax.
struct TextArrayLiteral: PostgresEncodable {
    let text: String
    init(_ text: String) { self.text = text }
    static var postgresType: PostgresType { PostgresType(rawValue: 1009) }
    var postgresValue: PostgresValue { .text(text, as: Self.postgresType) }
}

/// A small, fast, seedable generator (SplitMix64), so that a registry can be made again.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextValue() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below bound: UInt64) -> UInt64 { bound == 0 ? 0 : nextValue() % bound }
}
