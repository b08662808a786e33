/// JSON text exactly as Go's `encoding/json` writes it, for the docker credential-helper
/// protocol whose reference implementation is Go: no spaces, `<`, `>` and `&` escaped as
/// `\u003c` `\u003e` `\u0026`, U+2028/U+2029 escaped, `\b \f \n \r \t` short escapes, other
/// control characters as `\u00XX` in lower-case hex, and invalid UTF-8 as U+FFFD.
enum GoJSON {
    /// A quoted JSON string of `bytes` (which may hold a secret; the caller owns the result).
    static func string(_ bytes: [UInt8], into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        // Decoding with replacement gives Go's U+FFFD for each invalid sequence.
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += [0x5C, 0x22]
            case "\\": out += [0x5C, 0x5C]
            case "\u{08}": out += [0x5C, UInt8(ascii: "b")]
            case "\u{0C}": out += [0x5C, UInt8(ascii: "f")]
            case "\n": out += [0x5C, UInt8(ascii: "n")]
            case "\r": out += [0x5C, UInt8(ascii: "r")]
            case "\t": out += [0x5C, UInt8(ascii: "t")]
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                let value = scalar.value
                out += Array("\\u".utf8)
                for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((value >> UInt32(shift)) & 0xF)]) }
            default:
                if scalar.value < 0x20 {
                    out += Array("\\u00".utf8) + [hex[Int(scalar.value >> 4)], hex[Int(scalar.value & 0xF)]]
                } else {
                    out += Array(String(scalar).utf8)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `{"k1":"v1",...}` with the keys in the given order (a Go struct's field order).
    static func object(_ fields: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            string(Array(field.0.utf8), into: &out)
            out.append(UInt8(ascii: ":"))
            string(field.1, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A Go `map[string]string`: keys sorted byte-wise, as encoding/json sorts them.
    static func map(_ entries: [String: String]) -> [UInt8] {
        let sorted = entries.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return object(sorted.map { ($0.key, Array($0.value.utf8)) })
    }
}
