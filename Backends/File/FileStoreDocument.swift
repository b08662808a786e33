import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `credentials.json` (format version 1, specified in docs/FORMAT.md) in memory, as
/// ``FileStoreReader`` reads it, and its one writer (``serialized()``).
///
/// Fields this version does not know are kept and written back unchanged, so a newer
/// writer's additions are not lost by an older one.
package struct FileStoreDocument {
    static let version = 1
    /// The largest store file read (`credentials.json`, or the JSON inside the encrypted
    /// store): 256 MiB. A larger file is refused from its size, unread.
    package static let maximumSize = 256 << 20

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
        var unknownFields: [String: RawJSON]

        init(item: CredentialItem, unknownFields: [String: RawJSON]) {
            key = item.key
            label = item.label
            attributes = item.attributes
            created = item.created
            modified = item.modified
            secretBase64 = Base64.encode(item.secret)
            self.unknownFields = unknownFields
        }

        init(key: CredentialKey, label: String?, attributes: [String: String], created: Date?, modified: Date?,
             secretBase64: String, unknownFields: [String: RawJSON]) {
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
        var secret: SecretBytes { Base64.decodeSecret(secretBase64) ?? SecretBytes([]) }
        var item: CredentialItem {
            CredentialItem(key: key, label: label ?? CredentialItem.defaultLabel(for: key), attributes: attributes, secret: secret,
                           created: created, modified: modified)
        }
    }

    var entries: [CredentialKey: Entry] = [:]

    /// Whether every item of `other` has an item under the same key here (values may differ).
    package func holdsEveryKey(of other: FileStoreDocument) -> Bool {
        other.entries.keys.allSatisfy { entries[$0] != nil }
    }
    var unknownFields: [String: RawJSON] = [:]

    package init() {}

    /// The document as the bytes to write: pretty-printed (two spaces), object keys and items
    /// sorted, a final newline (docs/FORMAT.md). Written directly rather than through a
    /// `JSONValue` tree, since every `set` rewrites the store; values use the JSON writer's
    /// string and number forms.
    package func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128 + entries.count * 192)
        var members: [(key: String, value: Member)] = unknownFields.map { ($0.key, .raw($0.value)) }
        members.append(("items", .items))
        members.append(("version", .value(.number(Double(Self.version)))))
        members.sort { $0.key < $1.key }
        Self.writeObject(members, indent: 0, to: &output) { output in writeItems(to: &output) }
        output.append(UInt8(ascii: "\n"))
        return output
    }

    /// A member's value: one this version writes, one kept as it was read, or the items array.
    private enum Member {
        case value(JSONValue)
        case raw(RawJSON)
        case items
    }

    /// An object of `members` at nesting level `indent`, formatted as the generic writer
    /// formats one; the items array is written by `items`, a kept value as its text.
    private static func writeObject(_ members: [(key: String, value: Member)], indent: Int, to output: inout [UInt8],
                                    items: (inout [UInt8]) -> Void = { _ in }) {
        output.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONValue.newline(&output, indent + 1)
            JSONValue.writeString(member.key, to: &output)
            output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            switch member.value {
            case .value(let value): value.write(to: &output, indent: indent + 1)
            case .raw(let raw): output.append(contentsOf: raw.bytes)
            case .items: items(&output)
            }
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
            var fields: [(key: String, value: Member)] = [("account", .value(.string(key.account)))]
            if !entry.attributes.isEmpty { fields.append(("attributes", .value(.object(entry.attributes.mapValues { .string($0) })))) }
            if let created = entry.created { fields.append(("created", .value(.string(Timestamp.format(created))))) }
            fields.append(("label", .value(.string(entry.label ?? CredentialItem.defaultLabel(for: key)))))
            if let modified = entry.modified { fields.append(("modified", .value(.string(Timestamp.format(modified))))) }
            fields.append(("secret", .value(.string(entry.secretBase64))))
            fields.append(("service", .value(.string(key.service))))
            if !entry.unknownFields.isEmpty {
                fields += entry.unknownFields.map { ($0.key, .raw($0.value)) }
                fields.sort { $0.key < $1.key }
            }
            Self.writeObject(fields, indent: 2, to: &output)
        }
        JSONValue.newline(&output, 1)
        output.append(UInt8(ascii: "]"))
    }
}
