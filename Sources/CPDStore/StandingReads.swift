import CPDCore
import Postgres

/// `points` for many requests at once: the standings of many members, each on the day asked for, from
/// one round trip (two statements in one pipeline), whatever the number of requests. The read
/// batcher (`ReadBatcher`) sends every `points` request that waits to this.
extension LedgerStore {
    /// A `points` request: a member, and the day asked for (nil: today in the registry's time zone).
    public struct StandingRequest: Sendable, Hashable {
        public var practitioner: String
        public var day: Day?
        public init(practitioner: String, day: Day?) {
            self.practitioner = practitioner
            self.day = day
        }
    }

    /// The requests, one row each (`request` is its position, from 1), with its member, the member's
    /// scheme, the day (`on`, or today) and the first day whose sums are read (`read_from`). A request
    /// for no member has no row.
    ///
    /// `read_from` is the day minus the months a standing can read under the member's scheme (a
    /// cycle, or two with carry-over: `Compliance.monthsRead`, which this mirrors so that the sums can
    /// be read in the same round trip as the member). It is only a bound: the standing reads from
    /// `Compliance.firstDayRead`, and a request whose first day lies before `read_from` is read again
    /// alone (`standings` checks), so the two can never give different answers.
    static let requestedMembers = """
        FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w (id, asked, request)
        JOIN practitioner p ON p.id = w.id
        JOIN scheme s ON s.code = p.scheme
        CROSS JOIN LATERAL (
            SELECT coalesce(nullif(w.asked, '')::date, (SELECT (now() AT TIME ZONE g.time_zone)::date FROM registry g)) AS day
        ) d
        CROSS JOIN LATERAL (
            SELECT (d.day - make_interval(months => s.length_months
                * CASE WHEN s.period <> 'rolling' AND s.carry_over_max IS NOT NULL THEN 2 ELSE 1 END))::date AS read_from
        ) r
        CROSS JOIN LATERAL (\(needsAccredited)) n
        """

    /// Each request's member with their scheme and certificates (as `memberWithScheme`).
    static let requestedMembersWithScheme = SchemeStore.schemeSelect.replacingOccurrences(of: "FROM scheme s", with: """
        , w.request, p.id AS member, p.name AS member_name, p.joined, p.modalities, d.day, r.read_from::text AS read_from,
          coalesce((SELECT string_agg(x.kind || ' ' || x.issued || ' ' || x.expires, ',' ORDER BY x.expires)
                    FROM certificate x WHERE x.practitioner = p.id), '') AS member_certificates,
          coalesce((SELECT \(LedgerStore.renewalsFolded) FROM renewal n WHERE n.practitioner = p.id), '') AS member_renewals
        """ + "\n" + requestedMembers)

    /// Each request's sums from `read_from` to its day, per day, kind, category and delivery (as `records`).
    static let requestedSums = """
        SELECT w.request, e.effective, e.kind, e.category, e.delivery, \(accreditedColumn) AS accredited, sum(e.points) AS points
        """ + "\n" + requestedMembers + """

        JOIN ledger_entry e ON e.practitioner = p.id AND e.effective BETWEEN r.read_from AND d.day
        GROUP BY w.request, e.effective, e.kind, e.category, e.delivery, 6
        """

    /// The two statements that answer `requests`: their members, and their sums.
    static func standingStatements(_ requests: [StandingRequest]) -> [PostgresStatement] {
        // Encoded once for both statements.
        var members = PostgresStatement(requestedMembersWithScheme)
        members.values = [TextArray(requests.map(\.practitioner)).postgresValue, TextArray(requests.map { $0.day?.description ?? "" }).postgresValue]
        var sums = PostgresStatement(requestedSums)
        sums.values = members.values
        return [members, sums]
    }

    /// The standings for `requests`, in their order, from the results of `standingStatements` run in
    /// one pipeline (`RegistryStore`'s batches of `points`): each exactly what
    /// `standing(practitioner:on:)` gives for it alone, or nil for a request whose standing reads
    /// further back than the sums did (it is to be read alone). A request fails alone: an unknown
    /// member (`notFound`), a day whose cycle leaves the calendar (`DayOutOfRange`).
    static func standings(_ requests: [StandingRequest], from results: [PostgresQueryResult]) throws -> [Result<MemberStanding, Error>?] {
        guard results.count == 2 else { throw StoreError.unexpected("points: the pipeline gave \(results.count) results, not 2") }
        var records = Array(repeating: [PointsRecord](), count: requests.count)
        for row in results[1] {
            let request: Int = try row["request"]
            guard records.indices.contains(request - 1) else { continue }
            records[request - 1].append(PointsRecord(
                effective: try row["effective"], kind: EntryKind(rawValue: try row["kind"]) ?? .adjustment,
                category: try row["category"], delivery: try row["delivery"], points: try row["points"], accredited: try row["accredited"]))
        }
        var outcomes: [Result<MemberStanding, Error>?] = requests.map { .failure(StoreError.notFound("no practitioner \($0.practitioner)")) }
        var schemes: [String: Scheme] = [:]
        for row in results[0] {
            let request: Int = try row["request"]
            guard outcomes.indices.contains(request - 1) else { continue }
            do {
                // One statement, one snapshot: a scheme's columns are the same on each of its members' rows.
                let code: String = try row["code"]
                let scheme = try schemes[code] ?? SchemeStore.decodeScheme(row)
                schemes[code] = scheme
                let id: String = try row["member"]
                let practitioner = try Practitioner(
                    id: id, name: try row["member_name"], scheme: scheme.code, joined: try row["joined"],
                    modalities: (try row["modalities"] as TextArray).values)
                let date: Day = try row["day"]
                let first = try Compliance.firstDayRead(scheme: scheme, joined: practitioner.joined, on: date)
                // A bound before the calendar's first day (`0001-... BC`) is no Day: it covers everything.
                if let readFrom = (try row["read_from"] as String?).flatMap({ Day(parsing: $0) }), first < readFrom {
                    outcomes[request - 1] = nil
                    continue
                }
                let standing = try Compliance.standing(
                    scheme: scheme, joined: practitioner.joined, on: date, records: records[request - 1].filter { $0.effective >= first },
                    certificates: try foldedCertificates(try row["member_certificates"], of: id),
                    renewals: try foldedRenewals(try row["member_renewals"]))
                outcomes[request - 1] = .success(MemberStanding(practitioner: practitioner, scheme: scheme, standing: standing))
            } catch {
                outcomes[request - 1] = .failure(error)
            }
        }
        return outcomes
    }
}
