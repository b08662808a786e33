import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 UTC timestamps in the one shape CredentialVault writes, `YYYY-MM-DDTHH:MM:SSZ`,
/// converted by hand (timegm/gmtime_r): Foundation's ISO 8601 parser dominated the time to
/// read a store of 1,000 items.
public enum Timestamp {
    /// Formats `date` as `2026-01-31T12:00:00Z`.
    public static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8](repeating: 0, count: 20)
        func put(_ value: Int32, _ at: Int, _ width: Int) {
            var value = value
            for offset in stride(from: width - 1, through: 0, by: -1) {
                bytes[at + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(parts.tm_year + 1900, 0, 4); bytes[4] = UInt8(ascii: "-")
        put(parts.tm_mon + 1, 5, 2); bytes[7] = UInt8(ascii: "-")
        put(parts.tm_mday, 8, 2); bytes[10] = UInt8(ascii: "T")
        put(parts.tm_hour, 11, 2); bytes[13] = UInt8(ascii: ":")
        put(parts.tm_min, 14, 2); bytes[16] = UInt8(ascii: ":")
        put(parts.tm_sec, 17, 2); bytes[19] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`; anything else is `nil`.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[from..<(from + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
