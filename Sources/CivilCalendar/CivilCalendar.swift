/// The CivilCalendar module: arithmetic on days of the proleptic Gregorian calendar, with no time
/// and no zone (Howard Hinnant's civil-from-days algorithms). Shared by the Postgres layer (SQL
/// `date` and timestamps) and the domain (cycles), which must not depend on each other.
public enum CivilCalendar {
    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Whether the three numbers name a real day of years 1 to 9999, the years `YYYY-MM-DD` writes:
    /// the one rule for SQL dates and timestamps and for the domain's days (`2026-02-29` is not one).
    public static func isValid(year: Int, month: Int, day: Int) -> Bool {
        (1...9999).contains(year) && (1...12).contains(month) && (1...daysIn(month: month, year: year)).contains(day)
    }

    /// `YYYY-MM-DD`, the form SQL dates, the wire format and the ledger's digest write.
    public static func isoDate(year: Int, month: Int, day: Int) -> String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    /// Days since 1970-01-01 of a year, month (1-12) and day.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    /// The year, month and day `days` after 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The year, month and day of exactly `YYYY-MM-DD` in ASCII (ten bytes, digits and two hyphens),
    /// whether or not they make a real day; nil for anything else. The one parser of that form, for
    /// SQL dates, the domain's days and the ledger's digest.
    @inlinable
    public static func parseISODate<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> (year: Int, month: Int, day: Int)? {
        guard bytes.count == 10 else { return nil }
        var year = 0, month = 0, day = 0
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 7 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            switch index {
            case ..<4: year = year * 10 + Int(digit)
            case ..<7: month = month * 10 + Int(digit)
            default: day = day * 10 + Int(digit)
            }
        }
        return (year, month, day)
    }

    /// `value` in decimal with leading zeros to `width` digits.
    public static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
