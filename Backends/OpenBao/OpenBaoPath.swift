import CredentialVaultCore

/// How `(service, account)` becomes a KV v2 path: `<prefix>/<service>/<account>`, each
/// component escaped so that it stays one folder level: letters, digits, `-`, `_` and `.`
/// stay; every other byte of its UTF-8 becomes `~XX` (hex); a component made only of dots
/// has every dot escaped, so `.` and `..` cannot name a parent.
public enum OpenBaoPath {
    public static func escape(_ component: String) -> String {
        let bytes = Array(component.utf8)
        let onlyDots = bytes.allSatisfy { $0 == UInt8(ascii: ".") }
        var output = ""
        for byte in bytes {
            let keep = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || (byte == UInt8(ascii: ".") && !onlyDots)
            if keep { output.unicodeScalars.append(UnicodeScalar(byte)) } else { output += "~" + String(byte, radix: 16, uppercase: true).leftPadded(2) }
        }
        return output
    }

    /// The inverse of ``escape(_:)``; nil for text it could not have produced.
    public static func unescape(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "~") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
