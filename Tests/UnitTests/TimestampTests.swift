import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

@Suite("timestamps")
struct TimestampTests {
    @Test("parse agrees with glibc's timegm on every real time of leap and common years, and refuses what timegm would roll over (02-30, 04-31, second 60); format round-trips")
    func agreesWithTimegm() throws {
        var checked = 0
        for year in [1, 1600, 1899, 1900, 1969, 1970, 1999, 2000, 2023, 2024, 2026, 2100, 2400, 9999] {
            for month in 1...12 {
                for (day, hour, minute, second) in [(1, 0, 0, 0), (15, 12, 30, 30), (28, 23, 59, 59), (29, 1, 2, 3), (30, 4, 5, 6), (31, 23, 59, 60)] {
                    let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hour, minute, second)
                    var parts = tm()
                    parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
                    parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
                    let seconds = timegm(&parts)
                    // timegm normalises: a day past the month's end or second 60 rolls over. A
                    // real time is one it leaves as it was (issue 17 item 13: those are refused).
                    let real = parts.tm_year == Int32(year - 1900) && parts.tm_mon == Int32(month - 1) && parts.tm_mday == Int32(day)
                        && parts.tm_hour == Int32(hour) && parts.tm_min == Int32(minute) && parts.tm_sec == Int32(second)
                    #expect(Timestamp.parse(text) == (real ? Date(timeIntervalSince1970: TimeInterval(seconds)) : nil), "\(text)")
                    checked += 1
                }
            }
        }
        #expect(checked == 14 * 12 * 6)
        let now = Date(timeIntervalSince1970: 1_795_410_828)
        #expect(Timestamp.parse(Timestamp.format(now)) == now)
        for bad in ["2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z",
                    "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00", "+026-01-01T00:00:00Z", ""] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("format agrees with glibc's gmtime_r from year 1 to 9999 (every 97 days and 17 s, leap days, negative times); out-of-range dates are clamped, never a trap")
    func formatAgreesWithGmtime() {
        var instant = -62_135_596_800 // 0001-01-01T00:00:00Z
        var checked = 0
        while instant <= 253_402_300_799 {
            var seconds = time_t(instant)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                                  parts.tm_hour, parts.tm_min, parts.tm_sec)
            let formatted = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(instant)))
            if formatted != expected { Issue.record("\(instant): \(formatted) != \(expected)"); break }
            instant += 97 * 86_400 + 17
            checked += 1
        }
        #expect(checked > 37_000)
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1e300)) == "0001-01-01T00:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00Z")
    }
}
