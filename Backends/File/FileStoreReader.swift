import CredentialVaultCore
import Foundation

/// Reads `credentials.json` straight from its bytes, without a `JSONValue` for every value:
/// a `get` from a store of 1,000 items decodes the one item it wants and only checks the rest.
///
/// It takes exactly the documents ``FileStoreDocument/init(bytes:path:)`` takes, with the same
/// result. Any other document is handed to that reader, so its error (the JSON line and
/// column, or the item at fault) is the one reported, and a document this reader declines
/// for a reason of its own is still read correctly. The `credentials-json` fuzz target checks
/// that the two readers agree on every input.
package enum FileStoreReader {
    /// Every item: what ``FileStoreDocument/init(bytes:path:)`` gives for `bytes`.
    static func document(_ bytes: [UInt8], path: String) throws -> FileStoreDocument {
        var document = FileStoreDocument()
        var unused: FileStoreDocument.Entry?
        if read(bytes, lookingFor: nil, into: &document, found: &unused) { return document }
        return try FileStoreDocument(bytes: bytes, path: path)
    }

    /// The item with `key` (nil when there is none), once the whole document has been checked
    /// as ``FileStoreDocument/init(bytes:path:)`` checks it.
    static func entry(for key: CredentialKey, in bytes: [UInt8], path: String) throws -> FileStoreDocument.Entry? {
        var unused = FileStoreDocument()
        var found: FileStoreDocument.Entry?
        if read(bytes, lookingFor: key, into: &unused, found: &found) { return found }
        return try FileStoreDocument(bytes: bytes, path: path).entries[key]
    }

    /// Reads `bytes`: every item into `document`, or, when `key` is given, only that item into
    /// `found` (the others are checked, not kept). False when the document is not one this
    /// reader accepts; then neither output is meaningful.
    static func read(_ bytes: [UInt8], lookingFor key: CredentialKey?,
                     into document: inout FileStoreDocument, found: inout FileStoreDocument.Entry?) -> Bool {
        var version: JSONValue?
        var sawItems = false
        var keys = Set<CredentialKey>()
        do {
            try JSONParser.read(bytes) { (parser: inout JSONParser) throws(JSONParser.SyntaxError) in
                try parser.readObject(depth: 0) { (parser: inout JSONParser, name: String, _: Int) throws(JSONParser.SyntaxError) in
                    switch name {
                    case "version":
                        guard version == nil else { throw parser.error("duplicate key") }
                        version = try parser.parseValue(depth: 1)
                    case "items":
                        guard !sawItems else { throw parser.error("duplicate key") }
                        sawItems = true
                        try parser.readArray(depth: 1) { (parser: inout JSONParser) throws(JSONParser.SyntaxError) in
                            let entry = try readItem(&parser, keep: { key == nil || $0 == key })
                            if let key {
                                guard keys.insert(entry.key).inserted else { throw parser.error("repeated service/account") }
                                if entry.key == key { found = entry }
                            } else {
                                guard document.entries.updateValue(entry, forKey: entry.key) == nil else {
                                    throw parser.error("repeated service/account")
                                }
                            }
                        }
                    default:
                        guard document.unknownFields.updateValue(try parser.parseValue(depth: 1), forKey: name) == nil else {
                            throw parser.error("duplicate key")
                        }
                    }
                }
            }
        } catch {
            return false
        }
        return sawItems && version == .number(Double(FileStoreDocument.version))
    }

    /// One item object, at nesting level 2, checked as ``FileStoreDocument`` checks it. Its
    /// label and secret become strings only when `keep` says the item is wanted.
    private static func readItem(_ parser: inout JSONParser, keep: (CredentialKey) -> Bool) throws(JSONParser.SyntaxError) -> FileStoreDocument.Entry {
        var service: String?, account: String?
        var secret: JSONParser.StringToken?, label: JSONParser.StringToken?
        var attributes: [String: String] = [:]
        var created: Date?, modified: Date?
        var unknown: [String: JSONValue] = [:]
        var seen: UInt8 = 0
        func first(_ field: UInt8, _ parser: JSONParser) throws(JSONParser.SyntaxError) {
            guard seen & field == 0 else { throw parser.error("duplicate key") }
            seen |= field
        }
        func string(_ parser: inout JSONParser) throws(JSONParser.SyntaxError) -> JSONParser.StringToken {
            guard parser.next == UInt8(ascii: "\"") else { throw parser.error("expected a string") }
            return try parser.parseStringToken()
        }
        func time(_ parser: inout JSONParser) throws(JSONParser.SyntaxError) -> Date {
            let token = try string(&parser)
            guard let date = parser.withBytes(of: token, { Timestamp.parse($0) }) else { throw parser.error("not a timestamp") }
            return date
        }
        guard parser.next == UInt8(ascii: "{") else { throw parser.error("not an object") }
        try parser.readObject(depth: 2) { (parser: inout JSONParser, name: String, _: Int) throws(JSONParser.SyntaxError) in
            switch name {
            case "service": try first(1, parser); service = parser.text(try string(&parser))
            case "account": try first(2, parser); account = parser.text(try string(&parser))
            case "secret": try first(4, parser); secret = try string(&parser)
            case "label":
                // A label that is not a string reads as no label, as in FileStoreDocument.
                try first(8, parser)
                if parser.next == UInt8(ascii: "\"") { label = try parser.parseStringToken() } else { _ = try parser.parseValue(depth: 3) }
            case "attributes":
                try first(16, parser)
                try parser.readObject(depth: 3) { (parser: inout JSONParser, name: String, _: Int) throws(JSONParser.SyntaxError) in
                    let value = parser.text(try string(&parser))
                    guard attributes.updateValue(value, forKey: name) == nil else { throw parser.error("duplicate key") }
                }
            case "created": try first(32, parser); created = try time(&parser)
            case "modified": try first(64, parser); modified = try time(&parser)
            default:
                guard unknown.updateValue(try parser.parseValue(depth: 3), forKey: name) == nil else { throw parser.error("duplicate key") }
            }
        }
        guard let service, let account, let key = try? CredentialKey(service: service, account: account) else {
            throw parser.error("no service and account")
        }
        guard let secret, parser.withBytes(of: secret, { FileStoreDocument.isBase64($0) }) else { throw parser.error("secret is not base64") }
        let wanted = keep(key)
        return FileStoreDocument.Entry(key: key, label: wanted ? label.map(parser.text) : nil, attributes: attributes,
                                       created: created, modified: modified, secretBase64: wanted ? parser.text(secret) : "",
                                       unknownFields: unknown)
    }

    /// Where this reader and ``FileStoreDocument/init(bytes:path:)`` disagree on `bytes`
    /// (which documents they accept, or what they read from one), or nil when they agree.
    /// For the fuzz target and the tests.
    package static func disagreement(on bytes: [UInt8]) -> String? {
        let reference = try? FileStoreDocument(bytes: bytes, path: "reference")
        var document = FileStoreDocument()
        var unused: FileStoreDocument.Entry?
        let accepted = read(bytes, lookingFor: nil, into: &document, found: &unused)
        guard let reference else { return accepted ? "accepted a document the reference reader refuses" : nil }
        guard accepted else { return "refused a document the reference reader accepts" }
        guard reference.unknownFields == document.unknownFields else { return "unknown top-level fields differ" }
        guard reference.entries.count == document.entries.count else { return "item counts differ" }
        for (key, expected) in reference.entries {
            guard let entry = document.entries[key], same(entry, expected) else { return "item \(key) differs" }
        }
        // Looking up one item: the first present key, and one that is absent.
        var probes = Array(reference.entries.keys.prefix(1))
        probes.append(try! CredentialKey(service: "\u{1}absent", account: "\u{1}absent"))
        for key in probes {
            var scratch = FileStoreDocument()
            var found: FileStoreDocument.Entry?
            guard read(bytes, lookingFor: key, into: &scratch, found: &found) else { return "lookup of \(key) refused the document" }
            switch (found, reference.entries[key]) {
            case (nil, nil): continue
            case (let found?, let expected?) where same(found, expected): continue
            default: return "lookup of \(key) differs"
            }
        }
        return nil
    }

    private static func same(_ a: FileStoreDocument.Entry, _ b: FileStoreDocument.Entry) -> Bool {
        a.key == b.key && a.label == b.label && a.attributes == b.attributes && a.created == b.created
            && a.modified == b.modified && a.secretBase64 == b.secretBase64 && a.unknownFields == b.unknownFields
    }
}
