import Foundation
import Testing

@testable import Postgres

/// Binding and decoding rules that need no server.
@Suite struct ValueEncodingTests {
    @Test func timestampsBindInUTCWithMicrosecondsAcrossCenturies() {
        #expect(Date(timeIntervalSince1970: 0).postgresValue.bytes == Array("1970-01-01 00:00:00.000000+00".utf8))
        #expect(Date(timeIntervalSince1970: 951_782_400.25).postgresValue.bytes == Array("2000-02-29 00:00:00.250000+00".utf8))
        #expect(Date(timeIntervalSince1970: -2_208_988_801).postgresValue.bytes == Array("1899-12-31 23:59:59.000000+00".utf8))
        #expect(Date(timeIntervalSince1970: 253_402_300_799).postgresValue.bytes == Array("9999-12-31 23:59:59.000000+00".utf8))
    }

    @Test func timestampsRefuseDaysThatDoNotExist() {
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "2026-02-29 00:00:00+00", type: .timestamptz) }
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "1900-02-29", type: .timestamp) }
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "2026-04-31 12:00:00", type: .timestamp) }
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "2026-4-1 12:00:00", type: .timestamp) }
        #expect((try? Date(postgresText: "2000-02-29", type: .timestamp))?.timeIntervalSince1970 == 951_782_400)
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
