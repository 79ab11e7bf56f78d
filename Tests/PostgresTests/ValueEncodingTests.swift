import Foundation
import Testing

@testable import Postgres

/// Binding and decoding rules that need no server.
@Suite struct ValueEncodingTests {
    @Test func hundredthsParseExactDecimalsWithAtMostTwoPlaces() {
        #expect(Hundredths(parsing: "3")?.rawValue == 300)
        #expect(Hundredths(parsing: "2.5")?.rawValue == 250)
        #expect(Hundredths(parsing: "-0.07")?.rawValue == -7)
        #expect(Hundredths(parsing: "+1.50")?.rawValue == 150)
        #expect(Hundredths(parsing: "12.500")?.rawValue == 1250, "trailing zeros beyond two places are exact")
        #expect(Hundredths(parsing: "1.005") == nil, "a third significant place is refused, not rounded")
        #expect(Hundredths(parsing: "") == nil)
        #expect(Hundredths(parsing: "-") == nil)
        #expect(Hundredths(parsing: "1.2.3") == nil)
        #expect(Hundredths(parsing: "1e3") == nil)
        #expect(Hundredths(parsing: "99999999999999999999") == nil, "overflow is refused")
    }

    @Test func hundredthsPrintWithTwoPlaces() {
        #expect(Hundredths(rawValue: 300).description == "3.00")
        #expect(Hundredths(rawValue: -7).description == "-0.07")
        #expect(Hundredths(rawValue: 1205).description == "12.05")
    }

    @Test func datesRejectDaysThatDoNotExist() {
        #expect(PostgresDate(year: 2024, month: 2, day: 29) != nil)
        #expect(PostgresDate(year: 2026, month: 2, day: 29) == nil)
        #expect(PostgresDate(year: 1900, month: 2, day: 29) == nil)
        #expect(PostgresDate(year: 2000, month: 2, day: 29) != nil)
        #expect(PostgresDate(parsing: "2026-04-31") == nil)
        #expect(PostgresDate(parsing: "2026-4-1") == nil)
        #expect(PostgresDate(parsing: "2026-11-21")?.description == "2026-11-21")
    }

    @Test func daysSinceEpochRoundTripAcrossCenturies() {
        #expect(PostgresDate(parsing: "1970-01-01")?.daysSinceEpoch == 0)
        #expect(PostgresDate(parsing: "2000-03-01")?.daysSinceEpoch == 11_017)
        for days in stride(from: -800_000, through: 2_000_000, by: 997) {
            #expect(PostgresDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
    }

    @Test func timestampsDecodeZoneOffsets() throws {
        let utc = try Date(postgresText: "2026-11-21 23:18:32.5+00", type: .timestamptz)
        let india = try Date(postgresText: "2026-11-22 04:48:32.5+05:30", type: .timestamptz)
        #expect(utc == india)
        #expect(utc.timeIntervalSince1970 == 1_795_303_112.5)
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "2026-11-21 25:00:00+00", type: .timestamptz) }
    }

    @Test func byteaDecodesHexFormat() throws {
        #expect(try [UInt8](postgresText: "\\x00ff7F", type: .bytea) == [0, 255, 127])
        #expect(throws: PostgresDecodingFailure.self) { try [UInt8](postgresText: "\\x0", type: .bytea) }
        #expect(throws: PostgresDecodingFailure.self) { try [UInt8](postgresText: "00", type: .bytea) }
    }

    @Test func retryableErrorsAreSerializationDeadlockShutdownAndConnectionClass() {
        for code in ["40001", "40P01", "57P01", "57P02", "57P03", "08000", "08006", "08001"] {
            #expect(PostgresError(code: SQLState(code), message: "").isRetryable, "\(code)")
        }
        for code in ["23505", "42601", "25P02", "57014", "42501"] {
            #expect(!PostgresError(code: SQLState(code), message: "").isRetryable, "\(code)")
        }
    }

    @Test func retryBackoffGrowsAndIsBounded() {
        let policy = RetryPolicy(maxAttempts: 20, baseDelay: .milliseconds(10))
        #expect(policy.delay(beforeAttempt: 2) >= .milliseconds(10))
        #expect(policy.delay(beforeAttempt: 2) < .milliseconds(15))
        #expect(policy.delay(beforeAttempt: 5) >= .milliseconds(80))
        #expect(policy.delay(beforeAttempt: 40) < .seconds(16), "the exponent is capped")
    }
}
