import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An encrypted backup of credentials: bundle format version 1 (docs/FORMAT.md).
///
/// key = BLAKE2b-256(message: the 80 header bytes, key: Argon2id13(passphrase, salt, ops, mem, 32));
/// file = header ‖ crypto_secretbox(payload JSON, nonce, key).
public enum CredentialBundle {
    /// Seals `items` under `passphrase`, which must pass ``PassphrasePolicy``. `salt`, `nonce` and `created` are for test vectors;
    /// leave them `nil` to use fresh random values and the current time.
    public static func seal(_ items: [CredentialItem], passphrase: SecureBuffer, opsLimit: UInt64, memLimit: UInt64,
                            salt: [UInt8]? = nil, nonce: [UInt8]? = nil, created: UInt64? = nil) throws -> [UInt8] {
        let createdAt = created ?? UInt64(Date().timeIntervalSince1970)
        return try seal(payload: BundlePayload.encode(items, created: createdAt), passphrase: passphrase, opsLimit: opsLimit,
                        memLimit: memLimit, salt: salt, nonce: nonce, created: createdAt)
    }

    /// Seals payload bytes as they are (``seal(_:passphrase:opsLimit:memLimit:salt:nonce:created:)``
    /// makes them from items); the tests use it for payloads no writer of credvault makes.
    package static func seal(payload: [UInt8], passphrase: SecureBuffer, opsLimit: UInt64, memLimit: UInt64,
                             salt: [UInt8]? = nil, nonce: [UInt8]? = nil, created: UInt64) throws -> [UInt8] {
        try PassphrasePolicy.check(passphrase)
        let header = BundleHeader(opsLimit: opsLimit, memLimit: memLimit, created: created,
                                  salt: salt ?? randomBytes(count: PasswordHash.saltBytes),
                                  nonce: nonce ?? randomBytes(count: SecretBox.nonceBytes),
                                  payloadLength: UInt64(payload.count + SecretBox.macBytes))
        let headerBytes = header.bytes
        let key = try fileKey(headerBytes: headerBytes, header: header, passphrase: passphrase)
        let ciphertext = payload.withUnsafeBytes { SecretBox.seal($0, nonce: header.nonce, key: key) }
        return headerBytes + ciphertext
    }

    /// Checks the header, derives the key, authenticates and decrypts, and parses the items.
    ///
    /// - Throws: `.dataError`: header refusals (before any key derivation), and "wrong
    ///   passphrase or the file was modified" for any authentication failure.
    public static func open(_ file: [UInt8], passphrase: SecureBuffer,
                            memLimitCap: UInt64 = BundleHeader.defaultMemLimitCap) throws -> (header: BundleHeader, items: [CredentialItem]) {
        let header = try BundleHeader(file: file, memLimitCap: memLimitCap)
        let key = try fileKey(headerBytes: Array(file[0..<BundleHeader.size]), header: header, passphrase: passphrase)
        guard let plaintext = file[BundleHeader.size...].withUnsafeBytes({ SecretBox.open($0, nonce: header.nonce, key: key) }) else {
            throw CredentialVaultError(.dataError, "wrong passphrase or the file was modified; nothing was written")
        }
        return (header, try BundlePayload.decode(plaintext))
    }

    private static func fileKey(headerBytes: [UInt8], header: BundleHeader, passphrase: SecureBuffer) throws -> SecureBuffer {
        let master = try PasswordHash.deriveKey(count: 32, passphrase: passphrase, salt: header.salt,
                                                opsLimit: header.opsLimit, memLimit: header.memLimit)
        return headerBytes.withUnsafeBytes { KeyedHash.subkey(count: SecretBox.keyBytes, message: $0, key: master) }
    }
}

/// The JSON document inside a bundle.
enum BundlePayload {
    static let format = "credvault-bundle"

    static func encode(_ items: [CredentialItem], created: UInt64) -> [UInt8] {
        let document = JSONValue.object([
            "format": .string(format), "version": .number(1),
            "created": .string(Timestamp.format(Date(timeIntervalSince1970: TimeInterval(created)))),
            "items": .array(items.sorted { $0.key < $1.key }.map { item in
                var fields: [String: JSONValue] = [
                    "service": .string(item.key.service), "account": .string(item.key.account), "label": .string(item.label),
                    "secret": .string(Base64.encode(item.secret)),
                ]
                // As in credentials.json: attributes only when there are some.
                if !item.attributes.isEmpty { fields["attributes"] = .object(item.attributes.mapValues { .string($0) }) }
                if let created = item.created { fields["created"] = .string(Timestamp.format(created)) }
                if let modified = item.modified { fields["modified"] = .string(Timestamp.format(modified)) }
                return .object(fields)
            }),
        ])
        return document.serializedBytes()
    }

    /// Reads the payload with the item rules of credentials.json (docs/FORMAT.md): a field
    /// that is present has its type (no `null`), times are real UTC times, the secret is
    /// canonical base64, no (service, account) twice; members a reader does not know are
    /// ignored.
    static func decode(_ plaintext: SecureBuffer) throws -> [CredentialItem] {
        func refuse(_ reason: String) -> CredentialVaultError {
            CredentialVaultError(.dataError, "the bundle opened but its contents are not valid: \(reason)")
        }
        let root: JSONValue
        do {
            root = try plaintext.withUnsafeBytes { try JSONParser.parse(Array($0)) }
        } catch {
            throw refuse("\(error)")
        }
        guard root["format"]?.stringValue == format, root["version"]?.numberValue == 1 else {
            throw refuse("unknown payload format or version")
        }
        guard root["created"]?.stringValue.flatMap(Timestamp.parse) != nil else { throw refuse("\"created\" is not a UTC time such as 2026-01-31T12:00:00Z") }
        guard let items = root["items"]?.arrayValue else { throw refuse("no items array") }
        var seen = Set<CredentialKey>()
        return try items.enumerated().map { index, value in
            func string(_ name: String) throws -> String? {
                guard let field = value[name] else { return nil }
                guard let text = field.stringValue else { throw refuse("item \(index): \"\(name)\" must be a string") }
                return text
            }
            func time(_ name: String) throws -> Date? {
                guard let text = try string(name) else { return nil }
                guard let date = Timestamp.parse(text) else { throw refuse("item \(index): \"\(name)\" is not a UTC time such as 2026-01-31T12:00:00Z") }
                return date
            }
            guard value.objectValue != nil else { throw refuse("item \(index) is not an object") }
            guard let service = try string("service"), let account = try string("account"),
                  let key = try? CredentialKey(service: service, account: account) else { throw refuse("item \(index) has no service or account") }
            guard seen.insert(key).inserted else { throw refuse("item \(index) repeats \(key)") }
            guard let encoded = try string("secret"), let secret = Base64.decodeSecret(encoded) else {
                throw refuse("item \(index) has no canonical base64 secret")
            }
            var attributes: [String: String] = [:]
            if let field = value["attributes"] {
                guard let object = field.objectValue else { throw refuse("item \(index): \"attributes\" must be an object of strings") }
                for (name, raw) in object {
                    guard let text = raw.stringValue else { throw refuse("item \(index) attribute \(name) is not a string") }
                    attributes[name] = text
                }
            }
            return CredentialItem(key: key, label: try string("label"), attributes: attributes, secret: secret,
                                  created: try time("created"), modified: try time("modified"))
        }
    }
}
