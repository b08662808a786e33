// Text helpers that `Foundation` would give, kept here so the project's modules build on
// `FoundationEssentials` alone (no ICU in the binary).

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (what `trimmingCharacters(in: .whitespaces)` did).
    package func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }

    /// The text without leading and trailing whitespace and newlines, `\r` included.
    package func trimmingWhitespaceAndNewlines() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// The text with every character a terminal would act on made visible as `\u{XX}`: the C0
    /// controls (escape, bell, carriage return, backspace…), DEL, the C1 controls (U+0080 to
    /// U+009F: CSI, OSC…) and the bidirectional overrides and isolates (U+202A to U+202E,
    /// U+2066 to U+2069) that reorder what is shown. With `keepingLineBreaks`, `\n` and `\t`
    /// stay. Text from outside (a server's messages, an ID token's claims, stored names) goes
    /// through this before it reaches a terminal, so it cannot clear the screen, write the
    /// clipboard (OSC 52), plant a link (OSC 8) or disguise a URL.
    public func escapingControls(keepingLineBreaks: Bool = false) -> String {
        var result = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            let value = scalar.value
            let isControl = value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value)
                || (0x2066...0x2069).contains(value)
            if !isControl || (keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                result.append(scalar)
            } else {
                result.append(contentsOf: "\\u{\(String(value, radix: 16, uppercase: true))}".unicodeScalars)
            }
        }
        return String(result)
    }
}

extension Double {
    /// The value with exactly `digits` decimals, rounded half away from zero (`String(format: "%.2f")`).
    package func formatted(decimals digits: Int) -> String {
        precondition((0...9).contains(digits))
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(self) * Double(scale)).rounded()
        guard scaled.isFinite, scaled < 9e18 else { return "\(self)" }
        let whole = Int(scaled)
        let sign = self < 0 && whole != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        var fraction = String(whole % scale)
        while fraction.count < digits { fraction = "0" + fraction }
        return "\(sign)\(whole / scale).\(fraction)"
    }
}

/// Hexadecimal digits of bytes, and percent-encoding built on them.
package enum Hex {
    private static let lower = Array("0123456789abcdef".utf8)
    private static let upper = Array("0123456789ABCDEF".utf8)

    /// Two lowercase digits per byte (`%02x` of each).
    package static func lowercase<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var output: [UInt8] = []
        for byte in bytes { output += [lower[Int(byte >> 4)], lower[Int(byte & 0x0f)]] }
        return String(decoding: output, as: UTF8.self)
    }

    /// `text`'s UTF-8 with every byte outside `kept` written `%XX` (uppercase, RFC 3986 §2.1);
    /// a space becomes `+` when `spaceAsPlus` (form encoding).
    package static func percentEncoded(_ text: String, keeping kept: Set<UInt8>, spaceAsPlus: Bool = false) -> String {
        var output: [UInt8] = []
        for byte in text.utf8 {
            if kept.contains(byte) { output.append(byte) }
            else if spaceAsPlus, byte == 0x20 { output.append(UInt8(ascii: "+")) }
            else { output += [UInt8(ascii: "%"), upper[Int(byte >> 4)], upper[Int(byte & 0x0f)]] }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `text` with each `%XX` turned back into its byte (and `+` into a space when
    /// `plusAsSpace`); nil for a malformed escape or bytes that are not UTF-8.
    package static func percentDecoded(_ text: String, plusAsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+") where plusAsSpace: bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(digit), let low = iterator.next().flatMap(digit) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 3986's unreserved characters: letters, digits, `-._~`.
    package static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
}
