import CPDCore
import Postgres

/// Providers and courses.
public enum CatalogueStore {
    /// Registers a provider. The same code and name again is a no-op; another name is a conflict.
    public static func addProvider(_ provider: Provider, _ c: PostgresConnection) throws {
        let inserted = try c.query(
            "INSERT INTO provider (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING", [provider.code, provider.name])
        if inserted.affectedRows == 0 {
            let name: String = try c.query("SELECT name FROM provider WHERE code = $1", [provider.code])[0][0]
            guard name == provider.name else { throw StoreError.conflict("provider \(provider.code) exists with another name") }
        }
    }

    /// Adds a course as a draft, version 1. `actingProvider` is set when a provider (not an admin) asks.
    public static func addCourse(
        code: String, provider: String, content: CourseContent, by principal: String, actingProvider: String?,
        _ c: PostgresConnection
    ) throws {
        if let actingProvider, actingProvider != provider {
            throw StoreError.permissionDenied("a provider adds courses only for itself (\(actingProvider))")
        }
        try c.withTransaction { c in
            guard try !c.query("SELECT 1 FROM provider WHERE code = $1", [provider]).isEmpty else {
                throw StoreError.notFound("no provider \(provider)")
            }
            let inserted = try c.query("INSERT INTO course (code, provider) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING", [code, provider])
            guard inserted.affectedRows == 1 else { throw StoreError.conflict("course \(code) exists; use course.update to change it") }
            try insertVersion(code: code, version: 1, content: content, by: principal, c)
            try c.query("INSERT INTO course_event (course, event, version, recorded_by) VALUES ($1, 'added', 1, $2)", [code, principal])
        }
    }

    /// The fields of a course update; nil leaves a field as it is.
    public struct CourseChanges: Sendable {
        public var title: String?
        public var summary: String?
        public var points: Points?
        public var hours: Points?
        public var category: String?
        public var delivery: Delivery?
        public var modalities: [String]?
        public var minutes: Int?
        /// `minutes=none`: the new version gives no minutes (its hours count instead).
        public var clearsMinutes: Bool
        public init(
            title: String? = nil, summary: String? = nil, points: Points? = nil, hours: Points? = nil, category: String? = nil,
            delivery: Delivery? = nil, modalities: [String]? = nil, minutes: Int? = nil, clearsMinutes: Bool = false
        ) {
            self.minutes = minutes
            self.clearsMinutes = clearsMinutes
            self.title = title
            self.summary = summary
            self.points = points
            self.hours = hours
            self.category = category
            self.delivery = delivery
            self.modalities = modalities
        }
    }

    /// Makes a new version from the current one and `changes`; returns the new version number.
    @discardableResult
    public static func updateCourse(
        code: String, changes: CourseChanges, by principal: String, actingProvider: String?, _ c: PostgresConnection
    ) throws -> Int {
        try c.withTransaction { c in
            let current = try lockedCourse(code, actingProvider: actingProvider, c)
            guard current.status != .retired else { throw StoreError.conflict("course \(code) is retired") }
            let old = current.content
            let content: CourseContent
            do {
                content = try CourseContent(
                    title: changes.title ?? old.title, summary: changes.summary ?? old.summary, points: changes.points ?? old.points,
                    hours: changes.hours ?? old.hours, category: changes.category ?? old.category,
                    delivery: changes.delivery ?? old.delivery, modalities: changes.modalities ?? old.modalities,
                    minutes: changes.clearsMinutes ? nil : (changes.minutes ?? old.minutes))
            } catch let error as ValidationError {
                throw StoreError.invalid(error)
            }
            guard content != old else { throw StoreError.invalid(ValidationError("code", "the update changes nothing")) }
            let version = current.version + 1
            try insertVersion(code: code, version: version, content: content, by: principal, c)
            try c.query("UPDATE course SET current_version = $2 WHERE code = $1", [code, version])
            try c.query("INSERT INTO course_event (course, event, version, recorded_by) VALUES ($1, 'updated', $2, $3)", [code, version, principal])
            return version
        }
    }

    /// Publishes or retires a course.
    public static func setStatus(
        code: String, to status: CourseStatus, by principal: String, actingProvider: String?, _ c: PostgresConnection
    ) throws {
        try c.withTransaction { c in
            let current = try lockedCourse(code, actingProvider: actingProvider, c)
            let next: CourseStatus
            do {
                next = try CourseLifecycle.transition(from: current.status, to: status)
            } catch let error as ValidationError {
                throw StoreError.conflict(error.message)
            }
            try c.query("UPDATE course SET status = $2 WHERE code = $1", [code, next.rawValue])
            try c.query(
                "INSERT INTO course_event (course, event, version, recorded_by) VALUES ($1, $2, $3, $4)",
                [code, next.rawValue, current.version, principal])
        }
    }

    public static func course(_ code: String, _ c: PostgresConnection) throws -> Course {
        let rows = try c.query(courseSelect + " WHERE c.code = $1", [code])
        guard let row = rows.first else { throw StoreError.notFound("no course \(code)") }
        return try decodeCourse(row)
    }

    public struct SearchFilter: Sendable, Hashable {
        public var text: String?
        public var modality: String?
        public var category: String?
        public var provider: String?
        public var delivery: Delivery?
        public var limit: Int
        public var offset: Int
        public init(
            text: String? = nil, modality: String? = nil, category: String? = nil, provider: String? = nil, delivery: Delivery? = nil,
            limit: Int = 20, offset: Int = 0
        ) {
            self.text = text
            self.modality = modality
            self.category = category
            self.provider = provider
            self.delivery = delivery
            self.limit = limit
            self.offset = offset
        }
    }

    /// Published courses, best match first for a full-text query (weighted: title over summary), else
    /// by code. Filters combine; `limit` and `offset` page.
    public static func search(_ filter: SearchFilter, _ c: PostgresConnection) throws -> [Course] {
        let statement = searchStatement(filter)
        return try c.query(statement.sql, values: statement.values).map(decodeCourse)
    }

    /// The courses of each search from the results of its statement (`searchStatement`), run for many
    /// searches in one round trip (a pipeline, a sync after each: `RegistryStore`'s batches of
    /// `course.search`), each answered as it would be alone; one that fails fails alone.
    static func searches(from results: [Result<PostgresQueryResult, PostgresError>]) -> [Result<[Course], Error>] {
        results.map { outcome in Result { try outcome.get().map(decodeCourse) } }
    }

    static func searchStatement(_ filter: SearchFilter) -> PostgresStatement {
        let query = filter.text.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        return PostgresStatement(
            courseSelect + """
                , websearch_to_tsquery('english', coalesce($1, '')) AS q
                WHERE c.status = 'published'
                  AND ($1::text IS NULL OR v.search @@ q)
                  AND ($2::text IS NULL OR $2 = ANY (v.modalities))
                  AND ($3::text IS NULL OR v.category = $3)
                  AND ($4::text IS NULL OR c.provider = $4)
                  AND ($5::text IS NULL OR v.delivery = $5)
                ORDER BY CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank_cd(v.search, q) END DESC, c.code
                LIMIT $6 OFFSET $7
                """,
            [query, filter.modality, filter.category, filter.provider, filter.delivery?.rawValue, filter.limit, filter.offset])
    }

    // MARK: - Internals

    static let courseSelect = """
        SELECT c.code, c.provider, c.status, c.current_version, v.title, v.summary, v.points, v.hours, v.category, v.delivery, v.modalities,
               v.minutes
        FROM course c JOIN course_version v ON v.course = c.code AND v.version = c.current_version
        """

    static func decodeCourse(_ row: PostgresRow) throws -> Course {
        let status = CourseStatus(rawValue: try row["status"] as String) ?? .draft
        let content = try CourseContent(
            title: try row["title"], summary: try row["summary"], points: try row["points"], hours: try row["hours"],
            category: try row["category"], delivery: try row["delivery"], modalities: (try row["modalities"] as TextArray).values,
            minutes: try row["minutes"])
        return Course(code: try row["code"], provider: try row["provider"], status: status, version: try row["current_version"], content: content)
    }

    /// The course, locked for the rest of the transaction; checks a provider's ownership.
    static func lockedCourse(_ code: String, actingProvider: String?, _ c: PostgresConnection) throws -> Course {
        guard try !c.query("SELECT 1 FROM course WHERE code = $1 FOR UPDATE", [code]).isEmpty else {
            throw StoreError.notFound("no course \(code)")
        }
        let course = try course(code, c)
        if let actingProvider, course.provider != actingProvider {
            throw StoreError.permissionDenied("course \(code) belongs to \(course.provider)")
        }
        return course
    }

    static func insertVersion(code: String, version: Int, content: CourseContent, by principal: String, _ c: PostgresConnection) throws {
        try c.query(
            """
            INSERT INTO course_version (course, version, title, summary, points, hours, category, delivery, modalities, created_by, minutes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [code, version, content.title, content.summary, content.points, content.hours, content.category,
             content.delivery.rawValue, TextArray(content.modalities), principal, content.minutes.map(Int32.init)])
    }
}
