/// Standard padded base64 (RFC 4648 §4), the project's one codec. Secrets decode straight into
/// ``SecretBytes`` (no intermediate buffer left unwiped in freed memory).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var text = encodedBytes(bytes)
        defer { text.wipe() }
        return String(decoding: text, as: UTF8.self)
    }

    /// The base64 text of a secret (the intermediate buffer is wiped).
    public static func encode(_ secret: SecretBytes) -> String { secret.withBytes { encode($0) } }

    private static func encodedBytes(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in stride(from: 18, through: 0, by: -6) { output.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(rest == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return output
    }

    /// Whether `text` is standard padded base64, checked without decoding.
    public static func isValid(_ text: ArraySlice<UInt8>) -> Bool {
        decodedCount(text) != nil
    }

    /// The decoded bytes of `text`, or nil when it is not standard padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        guard let count = decodedCount(text.utf8) else { return nil }
        return decode(text.utf8, count: count)
    }

    /// A secret decoded from `text` straight into its storage, or nil when `text` is not
    /// standard padded base64.
    public static func decodeSecret(_ text: String) -> SecretBytes? {
        guard let count = decodedCount(text.utf8) else { return nil }
        return SecretBytes(adopting: decode(text.utf8, count: count))
    }

    /// The decoded length, or nil for text that is not canonical standard padded base64
    /// (RFC 4648 §4 and §3.5): length a multiple of 4, `=` only as the last one or two
    /// characters, and the bits the padding leaves unused all zero ("YR==" is refused: it
    /// would decode as "YQ==" does, so one value would have two texts).
    private static func decodedCount<Text: Collection<UInt8>>(_ text: Text) -> Int? {
        let length = text.count
        guard length % 4 == 0 else { return nil }
        var padding = 0
        var index = 0
        var last: UInt32 = 0
        for byte in text {
            if byte == UInt8(ascii: "=") {
                // Padding only in the last two places, and only at the end.
                guard index >= length - 2 else { return nil }
                padding += 1
            } else {
                guard padding == 0, let digit = value(byte) else { return nil }
                last = digit
            }
            index += 1
        }
        // The last digit before the padding carries 4 (two `=`) or 2 (one `=`) unused bits.
        if padding == 2, last & 0x0F != 0 { return nil }
        if padding == 1, last & 0x03 != 0 { return nil }
        return length / 4 * 3 - padding
    }

    private static func value(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    /// Decodes valid `text` (checked by ``decodedCount(_:)``) into `count` bytes, in one pass
    /// over the text and one allocation of exactly the result's size.
    private static func decode<Text: Sequence<UInt8>>(_ text: Text, count: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(count)
        var group: UInt32 = 0
        var digits = 0
        var position = 0
        for byte in text {
            if let digit = value(byte) { group = group << 6 | digit; digits += 1 } else { group <<= 6 }
            position += 1
            guard position == 4 else { continue }
            for shift in 0..<(digits - 1) where output.count < count {
                output.append(UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * shift)))
            }
            group = 0; digits = 0; position = 0
        }
        return output
    }
}
