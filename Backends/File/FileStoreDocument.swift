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
        var key: CredentialKey
        /// The label as stored; nil for an item written without one (its summary then shows
        /// the default label, computed only when asked for).
        var label: String?
        var attributes: [String: String]
        var created: Date?
        var modified: Date?
        var secretBase64: String
        var unknownFields: [String: JSONValue]

        init(item: CredentialItem, unknownFields: [String: JSONValue]) {
            key = item.key
            label = item.label
            attributes = item.attributes
            created = item.created
            modified = item.modified
            secretBase64 = item.secret.withUnsafeBytes { Data($0).base64EncodedString() }
            self.unknownFields = unknownFields
        }

        init(key: CredentialKey, label: String?, attributes: [String: String], created: Date?, modified: Date?,
             secretBase64: String, unknownFields: [String: JSONValue]) {
            self.key = key
            self.label = label
            self.attributes = attributes
            self.created = created
            self.modified = modified
            self.secretBase64 = secretBase64
            self.unknownFields = unknownFields
        }

        var summary: CredentialSummary {
            CredentialSummary(key: key, label: label ?? CredentialItem.defaultLabel(for: key), attributes: attributes,
                              created: created, modified: modified)
        }
        /// The secret, decoded (validated on read, so decoding cannot fail).
        var secret: SecretBytes { SecretBytes(Data(base64Encoded: secretBase64) ?? Data()) }
        var item: CredentialItem {
            CredentialItem(key: key, label: label ?? CredentialItem.defaultLabel(for: key), attributes: attributes, secret: secret,
                           created: created, modified: modified)
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
        entries.reserveCapacity(items.count)
        for (index, value) in items.enumerated() {
            let entry = try Self.entry(from: value, path: path, index: index)
            guard entries.updateValue(entry, forKey: entry.key) == nil else {
                throw CredentialVaultError(.dataError, "\(path): item \(index) repeats service/account \(entry.key); the file was left unchanged")
            }
        }
    }

    private static func entry(from value: JSONValue, path: String, index: Int) throws -> Entry {
        func bad(_ what: String) -> CredentialVaultError {
            CredentialVaultError(.dataError, "\(path): item \(index): \(what); the file was left unchanged")
        }
        guard case .object(let fields) = value else { throw bad("not an object") }
        // One pass over the item's fields, comparing names instead of hashing each lookup
        // (a 1,000-item store is read on every `get`).
        var service: String?, account: String?, encoded: String?, label: String?
        var attributesValue: JSONValue?, createdValue: JSONValue?, modifiedValue: JSONValue?
        var unknown: [String: JSONValue] = [:]
        for (name, field) in fields {
            switch name {
            case "service": service = field.stringValue ?? ""
            case "account": account = field.stringValue ?? ""
            case "secret": encoded = field.stringValue ?? "!"
            case "label": label = field.stringValue
            case "attributes": attributesValue = field
            case "created": createdValue = field
            case "modified": modifiedValue = field
            default: unknown[name] = field
            }
        }
        guard let service, let account, let key = try? CredentialKey(service: service, account: account) else {
            throw bad("\"service\" and \"account\" must be non-empty strings")
        }
        guard let encoded, isBase64(encoded) else {
            throw bad("\"secret\" must be a base64 string")
        }
        var attributes: [String: String] = [:]
        if let attributesValue {
            guard case .object(let pairs) = attributesValue else { throw bad("\"attributes\" must be an object of strings") }
            for (name, value) in pairs {
                guard let text = value.stringValue else { throw bad("attribute \"\(name)\" is not a string") }
                attributes[name] = text
            }
        }
        func date(_ name: String, _ raw: JSONValue?) throws -> Date? {
            guard let raw else { return nil }
            guard let text = raw.stringValue, let date = Timestamp.parse(text) else {
                throw bad("\"\(name)\" must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z")
            }
            return date
        }
        return Entry(key: key, label: label, attributes: attributes, created: try date("created", createdValue),
                     modified: try date("modified", modifiedValue), secretBase64: encoded, unknownFields: unknown)
    }

    /// Whether `text` is standard padded base64 (RFC 4648 §4), checked without decoding.
    private static func isBase64(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isBase64($0) }
    }

    /// Whether `bytes` are standard padded base64 (RFC 4648 §4), checked without decoding.
    static func isBase64(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
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

    /// The document as the bytes to write: pretty-printed, keys and items sorted (exactly
    /// what `JSONValue.serializedBytes(pretty: true)` gives for it, plus a newline), written
    /// directly rather than through a `JSONValue` tree, since every `set` rewrites the store.
    package func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128 + entries.count * 192)
        var members: [(key: String, value: JSONValue?)] = unknownFields.map { ($0.key, $0.value) }
        members.append(("items", nil))
        members.append(("version", .number(Double(Self.version))))
        members.sort { $0.key < $1.key }
        Self.writeObject(members, indent: 0, to: &output) { output in writeItems(to: &output) }
        output.append(UInt8(ascii: "\n"))
        return output
    }

    /// An object of `members` at nesting level `indent`, formatted as the generic writer
    /// formats one; a member without a value is written by `missing`.
    private static func writeObject(_ members: [(key: String, value: JSONValue?)], indent: Int, to output: inout [UInt8],
                                    missing: (inout [UInt8]) -> Void = { _ in }) {
        output.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONValue.newline(&output, indent + 1)
            JSONValue.writeString(member.key, to: &output)
            output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            if let value = member.value { value.write(to: &output, indent: indent + 1) } else { missing(&output) }
        }
        JSONValue.newline(&output, indent)
        output.append(UInt8(ascii: "}"))
    }

    /// The `items` array at nesting level 1: each item's fields in name order.
    private func writeItems(to output: inout [UInt8]) {
        guard !entries.isEmpty else { output.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "]")]); return }
        output.append(UInt8(ascii: "["))
        for (index, (key, entry)) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONValue.newline(&output, 2)
            // Known fields in name order; fields this version does not know are kept.
            var fields: [(key: String, value: JSONValue?)] = [("account", .string(key.account))]
            if !entry.attributes.isEmpty { fields.append(("attributes", .object(entry.attributes.mapValues { .string($0) }))) }
            if let created = entry.created { fields.append(("created", .string(Timestamp.format(created)))) }
            fields.append(("label", .string(entry.label ?? CredentialItem.defaultLabel(for: key))))
            if let modified = entry.modified { fields.append(("modified", .string(Timestamp.format(modified)))) }
            fields.append(("secret", .string(entry.secretBase64)))
            fields.append(("service", .string(key.service)))
            if !entry.unknownFields.isEmpty {
                fields += entry.unknownFields.map { ($0.key, $0.value) }
                fields.sort { $0.key < $1.key }
            }
            Self.writeObject(fields, indent: 2, to: &output)
        }
        JSONValue.newline(&output, 1)
        output.append(UInt8(ascii: "]"))
    }
}
