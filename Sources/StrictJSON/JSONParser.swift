/// A strict RFC 8259 JSON parser that reports the line and column of the first error.
///
/// Strict on purpose: no trailing commas, no comments, no duplicate keys, no bytes after
/// the document, and input must be UTF-8. Nesting is limited to 64 levels.
public struct JSONParser {
    /// Where and why parsing stopped.
    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public let reason: String
        public var description: String { "line \(line), column \(column): \(reason)" }
    }

    /// The input. The parser lives only inside ``parse(_:)`` or ``read(_:_:)``; it holds the
    /// array, never a pointer into it.
    package let bytes: [UInt8]
    /// The offset of the next byte to read.
    package var index = 0

    /// Parses `bytes` as one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        try read(bytes) { (parser: inout JSONParser) throws(SyntaxError) in try parser.parseValue(depth: 0) }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    // MARK: - Reading a document of known shape
    //
    // For readers that know their document's layout (credentials.json) and want its values
    // without a JSONValue for each: the same grammar, built from the same pieces as parse(_:).

    /// Runs `body` on a parser at the start of `bytes` (leading whitespace skipped), then
    /// requires that nothing but whitespace follows what `body` read.
    package static func read<T>(_ bytes: [UInt8], _ body: (inout JSONParser) throws(SyntaxError) -> T) throws(SyntaxError) -> T {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try body(&parser)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the end of the document") }
        return value
    }

    /// The byte at the current position, if any.
    package var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Reads the object at the current position (its `{`), at nesting level `depth`, member by
    /// member: `member` gets each key and the offset of its opening quote, and must read its
    /// value (at level `depth + 1`). Refusing duplicate keys is the caller's part.
    package mutating func readObject(depth: Int, _ member: (inout JSONParser, String, Int) throws(SyntaxError) -> Void) throws(SyntaxError) {
        guard depth < 64 else { throw error("nesting deeper than 64 levels") }
        guard next == UInt8(ascii: "{") else { throw error("expected an object") }
        index += 1
        skipWhitespace()
        if next == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard next == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            index += 1
            skipWhitespace()
            guard depth + 1 < 64 else { throw error("nesting deeper than 64 levels") }
            guard index < bytes.count else { throw error("unexpected end of file") }
            try member(&self, key, keyStart)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return }
            throw error("expected ',' or '}' in an object")
        }
    }

    /// Reads the array at the current position (its `[`), at nesting level `depth`; `element`
    /// must read each element (at level `depth + 1`).
    package mutating func readArray(depth: Int, _ element: (inout JSONParser) throws(SyntaxError) -> Void) throws(SyntaxError) {
        guard depth < 64 else { throw error("nesting deeper than 64 levels") }
        guard next == UInt8(ascii: "[") else { throw error("expected an array") }
        index += 1
        skipWhitespace()
        if next == UInt8(ascii: "]") { index += 1; return }
        while true {
            skipWhitespace()
            guard depth + 1 < 64 else { throw error("nesting deeper than 64 levels") }
            guard index < bytes.count else { throw error("unexpected end of file") }
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            throw error("expected ',' or ']' in an array")
        }
    }

    /// The string at the current position (its opening quote) as the range of its bytes in
    /// the input when it is ASCII with no escapes (nothing to decode or validate), else
    /// decoded as ``parseString()`` decodes it.
    package mutating func parseStringToken() throws(SyntaxError) -> StringToken {
        let start = index + 1
        var end = start, high: UInt8 = 0
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
            high |= bytes[end]
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\""), high < 0x80 {
            index = end + 1
            return .ascii(start..<end)
        }
        return .decoded(try parseString())
    }

    /// A string read by ``parseStringToken()``.
    package enum StringToken {
        /// ASCII without escapes: its bytes are the input's, in this range.
        case ascii(Range<Int>)
        /// Anything else, decoded.
        case decoded(String)
    }

    /// The text of `token`.
    package func text(_ token: StringToken) -> String {
        switch token {
        case .ascii(let range): return String(decoding: bytes[range], as: UTF8.self)
        case .decoded(let text): return text
        }
    }

    /// Runs `body` on the UTF-8 bytes of `token`.
    package func withBytes<T>(of token: StringToken, _ body: (ArraySlice<UInt8>) -> T) -> T {
        switch token {
        case .ascii(let range): return body(bytes[range])
        case .decoded(let text): return body(Array(text.utf8)[...])
        }
    }

    /// An error at the current position.
    package func error(_ reason: String) -> SyntaxError {
        var line = 1, column = 1
        for byte in bytes[..<min(index, bytes.count)] {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return SyntaxError(line: line, column: column, reason: reason)
    }

    package mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(SyntaxError) -> JSONValue {
        let start = index
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { index = start; throw error("invalid literal; expected '\(literal)'") }
            index += 1
        }
        return value
    }

    /// The value at the current position, at nesting level `depth` (the document is 0).
    package mutating func parseValue(depth: Int) throws(SyntaxError) -> JSONValue {
        guard depth < 64 else { throw error("nesting deeper than 64 levels") }
        guard index < bytes.count else { throw error("unexpected end of file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(SyntaxError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        try readObject(depth: depth) { (parser: inout JSONParser, key: String, keyStart: Int) throws(SyntaxError) in
            if members.isEmpty { members.reserveCapacity(8) }
            let value = try parser.parseValue(depth: depth + 1)
            guard members.updateValue(value, forKey: key) == nil else { parser.index = keyStart; throw parser.error("duplicate key '\(key)'") }
        }
        return .object(members)
    }

    private mutating func parseArray(depth: Int) throws(SyntaxError) -> JSONValue {
        var values: [JSONValue] = []
        try readArray(depth: depth) { (parser: inout JSONParser) throws(SyntaxError) in values.append(try parser.parseValue(depth: depth + 1)) }
        return .array(values)
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) { parser.index += 1 }
            return parser.index - from
        }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("invalid number") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { index = integerStart; throw error("leading zero in a number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("expected digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in an exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { index = start; throw error("number out of range") }
        return .number(value)
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// The string at the current position (at its opening quote).
    package mutating func parseString() throws(SyntaxError) -> String {
        index += 1
        // Fast path: no escapes before the closing quote.
        var end = index, high: UInt8 = 0
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
            high |= bytes[end]
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let run = bytes[index..<end]
            // ASCII cannot be invalid UTF-8, so the fast decoder is exact there; anything else is validated.
            guard let text = high < 0x80 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self) else {
                throw error("invalid UTF-8 in a string")
            }
            index = end + 1
            return text
        }
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ parser: JSONParser, into scalars: inout String.UnicodeScalarView) throws(SyntaxError) {
            guard runStart < parser.index else { return }
            guard let text = String(validating: parser.bytes[runStart..<parser.index], as: UTF8.self) else {
                throw parser.error("invalid UTF-8 in a string")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try flushRun(self, into: &scalars)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in a string (escape it)") }
            if byte != UInt8(ascii: "\\") { index += 1; continue }
            try flushRun(self, into: &scalars)
            index += 1
            guard index < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("unpaired surrogate in a \\u escape") }
                scalars.append(scalar)
            default:
                index -= 1
                throw error("invalid escape character")
            }
            runStart = index
        }
    }
}
