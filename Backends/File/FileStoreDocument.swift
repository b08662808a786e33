import CredentialVaultCore
import Foundation

/// The parsed `credentials.json` (format version 1, specified in docs/FORMAT.md).
///
/// Fields this version does not know are kept and written back unchanged, so a newer
/// writer's additions are not lost by an older one.
package struct FileStoreDocument {
    static let version = 1

    /// One item. The secret stays in its base64 text until asked for: reading one secret
    /// from a store of 1,000 decodes one, and rewriting the store re-encodes none.
    struct Entry {
        var summary: CredentialSummary
        var secretBase64: String
        var unknownFields: [String: JSONValue]

        init(item: CredentialItem, unknownFields: [String: JSONValue]) {
            summary = item.summary
            secretBase64 = item.secret.withUnsafeBytes { Data($0).base64EncodedString() }
            self.unknownFields = unknownFields
        }

        init(summary: CredentialSummary, secretBase64: String, unknownFields: [String: JSONValue]) {
            self.summary = summary
            self.secretBase64 = secretBase64
            self.unknownFields = unknownFields
        }

        /// The secret, decoded (validated on read, so decoding cannot fail).
        var secret: SecretBytes { SecretBytes(Data(base64Encoded: secretBase64) ?? Data()) }
        var item: CredentialItem {
            CredentialItem(key: summary.key, label: summary.label, attributes: summary.attributes, secret: secret,
                           created: summary.created, modified: summary.modified)
        }
    }

    var entries: [CredentialKey: Entry] = [:]
    var unknownFields: [String: JSONValue] = [:]

    package init() {}

    /// Parses and validates `bytes` read from `path`.
    ///
    /// - Throws: `.dataError` naming the path and the line and column, or the item at fault.
    package init(bytes: [UInt8], path: String) throws {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw CredentialVaultError(.dataError,
                "\(path) is not valid JSON (\(error)); it was left unchanged. Fix or restore the file, or move it aside to start empty")
        }
        guard case .object(var members) = root else {
            throw CredentialVaultError(.dataError, "\(path): the document is not a JSON object; it was left unchanged")
        }
        guard let versionNumber = members.removeValue(forKey: "version")?.numberValue else {
            throw CredentialVaultError(.dataError, "\(path): no \"version\" number; it was left unchanged")
        }
        guard versionNumber == Double(Self.version) else {
            throw CredentialVaultError(.dataError,
                "\(path) has format version \(versionNumber.formatted()); this credvault reads version \(Self.version) only. Use a newer credvault; the file was left unchanged")
        }
        guard case .array(let items)? = members.removeValue(forKey: "items") else {
            throw CredentialVaultError(.dataError, "\(path): no \"items\" array; it was left unchanged")
        }
        unknownFields = members
        for (index, value) in items.enumerated() {
            let entry = try Self.entry(from: value, path: path, index: index)
            guard entries[entry.summary.key] == nil else {
                throw CredentialVaultError(.dataError, "\(path): item \(index) repeats service/account \(entry.summary.key); the file was left unchanged")
            }
            entries[entry.summary.key] = entry
        }
    }

    private static func entry(from value: JSONValue, path: String, index: Int) throws -> Entry {
        func bad(_ what: String) -> CredentialVaultError {
            CredentialVaultError(.dataError, "\(path): item \(index): \(what); the file was left unchanged")
        }
        guard case .object(var fields) = value else { throw bad("not an object") }
        guard let service = fields.removeValue(forKey: "service")?.stringValue,
              let account = fields.removeValue(forKey: "account")?.stringValue,
              let key = try? CredentialKey(service: service, account: account) else {
            throw bad("\"service\" and \"account\" must be non-empty strings")
        }
        guard let encoded = fields.removeValue(forKey: "secret")?.stringValue, isBase64(encoded) else {
            throw bad("\"secret\" must be a base64 string")
        }
        let label = fields.removeValue(forKey: "label")?.stringValue ?? CredentialItem.defaultLabel(for: key)
        var attributes: [String: String] = [:]
        if let raw = fields.removeValue(forKey: "attributes") {
            guard case .object(let pairs) = raw else { throw bad("\"attributes\" must be an object of strings") }
            for (name, value) in pairs {
                guard let text = value.stringValue else { throw bad("attribute \"\(name)\" is not a string") }
                attributes[name] = text
            }
        }
        func date(_ name: String) throws -> Date? {
            guard let raw = fields.removeValue(forKey: name) else { return nil }
            guard let text = raw.stringValue, let date = Timestamp.parse(text) else {
                throw bad("\"\(name)\" must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z")
            }
            return date
        }
        let created = try date("created"), modified = try date("modified")
        let summary = CredentialSummary(key: key, label: label, attributes: attributes, created: created, modified: modified)
        return Entry(summary: summary, secretBase64: encoded, unknownFields: fields)
    }

    /// Whether `text` is standard padded base64 (RFC 4648 §4), checked without decoding.
    private static func isBase64(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count % 4 == 0 else { return false }
        var padding = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { return false }
            case UInt8(ascii: "="):
                padding += 1
                if padding > 2 { return false }
            default:
                return false
            }
        }
        return true
    }

    /// The document as the bytes to write: pretty-printed, keys and items sorted.
    package func serialized() -> [UInt8] {
        var root = unknownFields
        root["version"] = .number(Double(Self.version))
        root["items"] = .array(entries.keys.sorted().map { key in
            let entry = entries[key]!
            var fields = entry.unknownFields
            fields["service"] = .string(key.service)
            fields["account"] = .string(key.account)
            fields["label"] = .string(entry.summary.label)
            if !entry.summary.attributes.isEmpty { fields["attributes"] = .object(entry.summary.attributes.mapValues { .string($0) }) }
            fields["secret"] = .string(entry.secretBase64)
            if let created = entry.summary.created { fields["created"] = .string(Timestamp.format(created)) }
            if let modified = entry.summary.modified { fields["modified"] = .string(Timestamp.format(modified)) }
            return .object(fields)
        })
        return JSONValue.object(root).serializedBytes(pretty: true) + [UInt8(ascii: "\n")]
    }
}
