/// How a course is delivered. Schemes cap or require points by delivery mode (at most 16 online,
/// at least 4 in person).
public enum Delivery: String, Sendable, CaseIterable, Hashable {
    case inPerson = "in_person"
    case online
    case webinar
    case reading

    public init(parsing text: String, field: String = "delivery") throws(ValidationError) {
        guard let value = Delivery(rawValue: text) else {
            throw ValidationError(field, "'\(text.prefix(40))' is not one of \(Delivery.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = value
    }
}

/// A course's place in its lifecycle. Completions can be recorded only against published courses.
public enum CourseStatus: String, Sendable, CaseIterable {
    case draft, published, retired
}

public struct Provider: Sendable, Equatable {
    public var code: String
    public var name: String

    public init(code: String, name: String) throws(ValidationError) {
        self.code = try Code.validate(code, field: "code")
        self.name = try Prose.validate(name, field: "name", maxLength: 200)
    }
}

/// What a course is, at one version. An update makes a new version; ledger entries keep the
/// version they were earned on.
public struct CourseContent: Sendable, Equatable {
    public var title: String
    public var summary: String
    public var points: Points
    public var hours: Points
    /// The topic: `clinical`, `mental_health`, `ethics`, `first_aid`, `self_care`, `business`...
    public var category: String
    public var delivery: Delivery
    /// `remedial`, `myotherapy`, `bowen`, `manual_therapy`...
    public var modalities: [String]
    /// The course's length in minutes, when its provider gives it: a scheme that counts hours of
    /// its own length (NCBTMB's 50-minute hour) credits it from these.
    public var minutes: Int?

    public init(
        title: String, summary: String = "", points: Points, hours: Points, category: String, delivery: Delivery,
        modalities: [String] = [], minutes: Int? = nil
    ) throws(ValidationError) {
        if let minutes, !(1...60_000).contains(minutes) { throw ValidationError("minutes", "must be from 1 to 60000") }
        self.minutes = minutes
        self.title = try Prose.validate(title, field: "title", maxLength: 200)
        self.summary = try Prose.validate(summary, field: "summary", maxLength: 4000, allowEmpty: true)
        guard points.isPositive, points <= Points(1000) else { throw ValidationError("points", "must be more than 0 and at most 1000") }
        guard hours >= .zero, hours <= Points(1000) else { throw ValidationError("hours", "must be from 0 to 1000") }
        self.points = points
        self.hours = hours
        self.category = try Term.validate(category, field: "category")
        self.delivery = delivery
        var seen: [String] = []
        for modality in modalities {
            let term = try Term.validate(modality, field: "modalities")
            if !seen.contains(term) { seen.append(term) }
        }
        guard seen.count <= 20 else { throw ValidationError("modalities", "at most 20") }
        self.modalities = seen
    }
}

public struct Course: Sendable, Equatable {
    public var code: String
    public var provider: String
    public var status: CourseStatus
    public var version: Int
    public var content: CourseContent

    public init(code: String, provider: String, status: CourseStatus, version: Int, content: CourseContent) {
        self.code = code
        self.provider = provider
        self.status = status
        self.version = version
        self.content = content
    }
}

/// The lifecycle: draft → published → retired. A retired course stays retired.
public enum CourseLifecycle {
    public static func transition(from current: CourseStatus, to next: CourseStatus) throws(ValidationError) -> CourseStatus {
        switch (current, next) {
        case (.draft, .published), (.published, .retired), (.draft, .retired): return next
        default: throw ValidationError("code", "a \(current.rawValue) course cannot become \(next.rawValue)")
        }
    }
}
