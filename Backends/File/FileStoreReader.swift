import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one reader of `credentials.json` (format version 1, docs/FORMAT.md), straight from its
/// bytes on the strict parser's pieces, without a `JSONValue` for every value: a `get` from a
/// store of 1,000 items decodes the one item it wants and checks every other one.
///
/// The whole document is always checked, and a refusal names what is wrong in this order: JSON
/// syntax (with line and column, duplicate keys included), then the top level (an object with
/// a `version` number equal to 1 and an `items` array), then the first item at fault (by its
/// index) or repeated service/account.
package enum FileStoreReader {
    /// Every item.
    ///
    /// - Throws: `.dataError` naming `path` and what is wrong; the file is never changed.
    package static func document(_ bytes: [UInt8], path: String) throws -> FileStoreDocument {
        try read(bytes, lookingFor: nil, path: path).document
    }

    /// The item with `key` (nil when there is none), once the whole document has been checked.
    static func entry(for key: CredentialKey, in bytes: [UInt8], path: String) throws -> FileStoreDocument.Entry? {
        try read(bytes, lookingFor: key, path: path).found
    }

    /// What is wrong with a document that is valid JSON, in the order it is reported.
    private struct Problems {
        var notObject = false
        var version: JSONValue?
        var sawVersion = false
        var items: ItemsState = .missing
        /// The first item at fault: its index and what is wrong.
        var firstItem: (index: Int, what: String, repeated: Bool)?

        enum ItemsState { case missing, notArray, array }

        mutating func item(_ index: Int, _ what: String, repeated: Bool = false) {
            if firstItem == nil { firstItem = (index, what, repeated) }
        }
    }

    private static func read(_ bytes: [UInt8], lookingFor key: CredentialKey?, path: String) throws
        -> (document: FileStoreDocument, found: FileStoreDocument.Entry?) {
        var document = FileStoreDocument()
        var found: FileStoreDocument.Entry?
        var problems = Problems()
        var keys = Set<CredentialKey>()
        do {
            try JSONParser.read(bytes) { (parser: inout JSONParser) throws(JSONParser.SyntaxError) in
                guard parser.next == UInt8(ascii: "{") else {
                    _ = try parser.parseValue(depth: 0)
                    problems.notObject = true
                    return
                }
                try parser.readObject(depth: 0) { (parser: inout JSONParser, name: String, keyStart: Int) throws(JSONParser.SyntaxError) in
                    switch name {
                    case "version":
                        guard !problems.sawVersion else { throw duplicate(&parser, name, keyStart) }
                        problems.sawVersion = true
                        problems.version = try parser.parseValue(depth: 1)
                    case "items":
                        guard problems.items == .missing else { throw duplicate(&parser, name, keyStart) }
                        guard parser.next == UInt8(ascii: "[") else {
                            _ = try parser.parseValue(depth: 1)
                            problems.items = .notArray
                            return
                        }
                        problems.items = .array
                        var index = 0
                        try parser.readArray(depth: 1) { (parser: inout JSONParser) throws(JSONParser.SyntaxError) in
                            defer { index += 1 }
                            switch try readItem(&parser, keep: { key == nil || $0 == key }) {
                            case .failure(let problem):
                                problems.item(index, problem.what)
                            case .success(let entry):
                                if let key {
                                    guard keys.insert(entry.key).inserted else {
                                        return problems.item(index, "repeats service/account \(entry.key)", repeated: true)
                                    }
                                    if entry.key == key { found = entry }
                                } else if document.entries.updateValue(entry, forKey: entry.key) != nil {
                                    problems.item(index, "repeats service/account \(entry.key)", repeated: true)
                                }
                            }
                        }
                    default:
                        let value = try RawJSON.read(&parser, depth: 1)
                        guard document.unknownFields.updateValue(value, forKey: name) == nil else { throw duplicate(&parser, name, keyStart) }
                    }
                }
            }
        } catch {
            throw CredentialVaultError(.dataError,
                "\(path) is not valid JSON (\(error)); it was left unchanged. Fix or restore the file, or move it aside to start empty")
        }
        if problems.notObject {
            throw CredentialVaultError(.dataError, "\(path): the document is not a JSON object; it was left unchanged")
        }
        guard let version = problems.version?.numberValue else {
            throw CredentialVaultError(.dataError, "\(path): no \"version\" number; it was left unchanged")
        }
        guard version == Double(FileStoreDocument.version) else {
            let shown = version == version.rounded() && abs(version) < 1e15 ? String(Int(version)) : String(version)
            throw CredentialVaultError(.dataError,
                "\(path) has format version \(shown); this credvault reads version \(FileStoreDocument.version) only. Use a newer credvault; the file was left unchanged")
        }
        guard problems.items == .array else {
            throw CredentialVaultError(.dataError, "\(path): no \"items\" array; it was left unchanged")
        }
        if let (index, what, repeated) = problems.firstItem {
            throw CredentialVaultError(.dataError,
                repeated ? "\(path): item \(index) \(what); the file was left unchanged" : "\(path): item \(index): \(what); the file was left unchanged")
        }
        return (document, found)
    }

    private static func duplicate(_ parser: inout JSONParser, _ name: String, _ keyStart: Int) -> JSONParser.SyntaxError {
        parser.index = keyStart
        return parser.error("duplicate key '\(name)'")
    }

    /// Why an item cannot be used (the JSON around it is fine).
    private struct ItemProblem: Error { let what: String }

    /// One item at nesting level 2, read whole whether or not it is valid. Its label and secret
    /// become strings only when `keep` says the item is wanted.
    private static func readItem(_ parser: inout JSONParser, keep: (CredentialKey) -> Bool) throws(JSONParser.SyntaxError)
        -> Result<FileStoreDocument.Entry, ItemProblem> {
        guard parser.next == UInt8(ascii: "{") else {
            _ = try parser.parseValue(depth: 2)
            return .failure(ItemProblem(what: "not an object"))
        }
        var service: String?, account: String?
        var secret: JSONParser.StringToken?, label: JSONParser.StringToken?
        var attributes: [String: String] = [:]
        var created: Date?, modified: Date?
        var unknown: [String: RawJSON] = [:]
        var problem: String?
        var seen: UInt8 = 0
        func note(_ what: String) { if problem == nil { problem = what } }
        /// A string value, or nil (the value skipped) when it is something else.
        func string(_ parser: inout JSONParser, depth: Int) throws(JSONParser.SyntaxError) -> JSONParser.StringToken? {
            guard parser.next == UInt8(ascii: "\"") else { _ = try parser.parseValue(depth: depth); return nil }
            return try parser.parseStringToken()
        }
        func time(_ parser: inout JSONParser, _ name: String) throws(JSONParser.SyntaxError) -> Date? {
            guard let token = try string(&parser, depth: 3), let date = parser.withBytes(of: token, { Timestamp.parse($0) }) else {
                note("\"\(name)\" must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z")
                return nil
            }
            return date
        }
        try parser.readObject(depth: 2) { (parser: inout JSONParser, name: String, keyStart: Int) throws(JSONParser.SyntaxError) in
            let bit: UInt8
            switch name {
            case "service": bit = 1
            case "account": bit = 2
            case "secret": bit = 4
            case "label": bit = 8
            case "attributes": bit = 16
            case "created": bit = 32
            case "modified": bit = 64
            default: bit = 0
            }
            if bit != 0 {
                guard seen & bit == 0 else { throw duplicate(&parser, name, keyStart) }
                seen |= bit
            }
            switch name {
            case "service": service = try string(&parser, depth: 3).map(parser.text) ?? ""
            case "account": account = try string(&parser, depth: 3).map(parser.text) ?? ""
            case "secret":
                secret = try string(&parser, depth: 3)
                if secret == nil { note("\"secret\" must be a base64 string") }
            case "label":
                label = try string(&parser, depth: 3)
                if label == nil { note("\"label\" must be a string") }
            case "attributes":
                guard parser.next == UInt8(ascii: "{") else {
                    _ = try parser.parseValue(depth: 3)
                    return note("\"attributes\" must be an object of strings")
                }
                try parser.readObject(depth: 3) { (parser: inout JSONParser, attribute: String, keyStart: Int) throws(JSONParser.SyntaxError) in
                    guard let value = try string(&parser, depth: 4) else { return note("attribute \"\(attribute)\" is not a string") }
                    guard attributes.updateValue(parser.text(value), forKey: attribute) == nil else {
                        throw duplicate(&parser, attribute, keyStart)
                    }
                }
            case "created": created = try time(&parser, "created")
            case "modified": modified = try time(&parser, "modified")
            default:
                guard unknown.updateValue(try RawJSON.read(&parser, depth: 3), forKey: name) == nil else { throw duplicate(&parser, name, keyStart) }
            }
        }
        guard let service, let account, let key = try? CredentialKey(service: service, account: account) else {
            return .failure(ItemProblem(what: "\"service\" and \"account\" must be non-empty strings"))
        }
        guard let secret, parser.withBytes(of: secret, { Base64.isValid($0) }) else {
            return .failure(ItemProblem(what: "\"secret\" must be a base64 string"))
        }
        if let problem { return .failure(ItemProblem(what: problem)) }
        let wanted = keep(key)
        return .success(FileStoreDocument.Entry(key: key, label: wanted ? label.map(parser.text) : nil, attributes: attributes,
                                                created: created, modified: modified, secretBase64: wanted ? parser.text(secret) : "",
                                                unknownFields: unknown))
    }

    /// Checks the reader and the writer against each other on `bytes`, for the fuzz target and
    /// the tests: a document that is read is written, read back to the same items, and written
    /// again to the same bytes; a lookup finds what the full read has. Nil when all holds.
    package static func roundTripProblem(on bytes: [UInt8]) -> String? {
        guard let document = try? document(bytes, path: "fuzz") else { return nil }
        let written = document.serialized()
        guard let again = try? self.document(written, path: "written") else { return "refused its own output" }
        guard again.serialized() == written else { return "writing is not stable" }
        guard again.unknownFields == document.unknownFields, again.entries.count == document.entries.count else { return "items changed" }
        for (key, entry) in document.entries {
            // Written, an item without a label gets the default one.
            var labelled = entry
            labelled.label = entry.label ?? CredentialItem.defaultLabel(for: key)
            guard let other = again.entries[key], same(labelled, other) else { return "item \(key) changed" }
            guard let looked = try? self.entry(for: key, in: bytes, path: "fuzz"), same(looked, entry) else { return "lookup of \(key) differs" }
        }
        return nil
    }

    private static func same(_ a: FileStoreDocument.Entry, _ b: FileStoreDocument.Entry) -> Bool {
        a.key == b.key && a.label == b.label && a.attributes == b.attributes && a.created == b.created
            && a.modified == b.modified && a.secretBase64 == b.secretBase64 && a.unknownFields == b.unknownFields
    }
}
