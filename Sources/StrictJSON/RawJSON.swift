/// A JSON value kept as the exact text it was read from (checked by the strict parser),
/// so that it can be written back byte for byte: numbers keep their digits
/// (`12345678901234567890`, `-0`, `1.50`), strings their escapes. The file store keeps the
/// fields it does not know this way (docs/FORMAT.md: "written back unchanged").
package struct RawJSON: Sendable, Equatable {
    /// The value's UTF-8 text, without surrounding whitespace.
    package let bytes: [UInt8]

    /// The value at the parser's position, read and checked as ``JSONParser/parseValue(depth:)``
    /// reads it, kept as its text.
    package static func read(_ parser: inout JSONParser, depth: Int) throws(JSONParser.SyntaxError) -> RawJSON {
        let start = parser.index
        _ = try parser.parseValue(depth: depth)
        return RawJSON(bytes: Array(parser.bytes[start..<parser.index]))
    }

    package init(bytes: [UInt8]) { self.bytes = bytes }
}
