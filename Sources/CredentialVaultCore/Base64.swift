/// Standard padded base64 (RFC 4648 §4), the project's one codec. Secrets decode straight into
/// ``SecretBytes`` (no intermediate buffer left unwiped in freed memory) and encode from their
/// bytes without a copy.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = (bytes.count + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: count) { output in
            var out = 0, index = 0
            while index + 3 <= bytes.count {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                for shift in stride(from: 18, through: 0, by: -6) { output[out] = alphabet[Int(value >> UInt32(shift) & 63)]; out += 1 }
                index += 3
            }
            let rest = bytes.count - index
            if rest > 0 {
                let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                output[out] = alphabet[Int(value >> 18 & 63)]
                output[out + 1] = alphabet[Int(value >> 12 & 63)]
                output[out + 2] = rest == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "=")
                output[out + 3] = UInt8(ascii: "=")
                out += 4
            }
            return out
        }
    }

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { encode($0) } }

    /// The base64 text of a secret.
    public static func encode(_ secret: SecretBytes) -> String { secret.withUnsafeBytes { encode($0) } }

    /// Whether `text` is standard padded base64, checked without decoding.
    public static func isValid(_ text: ArraySlice<UInt8>) -> Bool {
        decodedCount(text) != nil
    }

    /// The decoded bytes of `text`, or nil when it is not standard padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard let count = decodedCount(utf8) else { return nil }
            return [UInt8](unsafeUninitializedCapacity: count) { output, written in
                decode(utf8, into: UnsafeMutableRawBufferPointer(output))
                written = count
            }
        }
    }

    /// A secret decoded from `text` straight into its storage, or nil when `text` is not
    /// standard padded base64.
    public static func decodeSecret(_ text: String) -> SecretBytes? {
        var text = text
        return text.withUTF8 { utf8 -> SecretBytes? in
            guard let count = decodedCount(utf8) else { return nil }
            return SecretBytes(count: count) { decode(utf8, into: $0) }
        }
    }

    /// The decoded length, or nil for text that is not standard padded base64.
    private static func decodedCount<Text: Collection<UInt8>>(_ text: Text) -> Int? {
        guard text.count % 4 == 0 else { return nil }
        var padding = 0
        for (index, byte) in text.enumerated() {
            if byte == UInt8(ascii: "=") {
                // Padding only in the last two places, and only at the end.
                guard index >= text.count - 2 else { return nil }
                padding += 1
            } else {
                guard padding == 0, value(byte) != nil else { return nil }
            }
        }
        return text.count / 4 * 3 - padding
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

    /// Decodes valid `text` (checked by ``decodedCount(_:)``) into `output`.
    private static func decode(_ text: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableRawBufferPointer) {
        var out = 0
        var index = 0
        while index < text.count {
            var group: UInt32 = 0
            var digits = 0
            for offset in 0..<4 {
                if let digit = value(text[index + offset]) { group = group << 6 | digit; digits += 1 } else { group <<= 6 }
            }
            let produced = digits - 1
            for position in 0..<produced where out < output.count {
                output[out] = UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * position))
                out += 1
            }
            group = 0
            index += 4
        }
    }
}
