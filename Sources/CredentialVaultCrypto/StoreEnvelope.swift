import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The password-protected store, `credentials.cvstore`, format version 1 (docs/FORMAT.md).
///
/// ```
/// header (112 bytes, big-endian integers):
///   0  "CVSTORE1"        8   version = 1 (2)     10 KDF id = 1, Argon2id v1.3     11 reserved = 0
///   12 opslimit (4)      16  memlimit (8)        24 salt (16)                    40 wrap nonce (24)
///   64 wrapped data key: crypto_secretbox(data key (32), wrap nonce, KEK) (48)
/// body:
///   112 body nonce (24)  136 crypto_secretbox(credentials.json document, body nonce, data key)
///
/// KEK = BLAKE2b-256(key: Argon2id13(passphrase, salt, opslimit, memlimit, 32), message: header[0..<64])
/// ```
///
/// The data key encrypts the body; the passphrase only wraps the data key, so changing the
/// passphrase rewrites the 112-byte header and leaves the body as it is.
public enum StoreEnvelope {
    public static let magic: [UInt8] = Array("CVSTORE1".utf8)
    public static let headerSize = 112
    static let boundSize = 64
    public static let version: UInt16 = 1
    /// The largest store file read: the header, then at most 256 MiB of JSON and its
    /// 16-byte tag. A larger file is refused from its size, unread.
    public static let maximumFileSize = headerSize + (256 << 20) + 16

    /// The header fields, read without any expensive work.
    public struct Header: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: UInt64
        public var salt: [UInt8]
        public var wrapNonce: [UInt8]
        public var wrappedKey: [UInt8]
        /// Byte 11, bit 0: a second step (TOTP) must follow the password. The byte is bound
        /// into the key-encryption key, so it cannot be cleared without the password.
        public var requiresSecondStep: Bool

        /// Parses and bounds-checks the header of a whole store file (the same bounds as a
        /// bundle: a hostile header fails in microseconds, before Argon2id).
        ///
        /// - Throws: `.dataError` naming what is wrong.
        public init(file: [UInt8], path: String) throws {
            func refuse(_ reason: String) -> CredentialVaultError {
                CredentialVaultError(.dataError, "\(path) is not a readable password-protected store: \(reason); it was left unchanged")
            }
            guard file.count >= 8, Array(file[0..<8]) == StoreEnvelope.magic else { throw refuse("wrong magic bytes (expected \"CVSTORE1\")") }
            guard file.count >= StoreEnvelope.headerSize + SecretBox.nonceBytes + SecretBox.macBytes else {
                throw refuse("truncated (\(file.count) bytes)")
            }
            (opsLimit, memLimit) = try BundleHeader.kdfPrelude(file, memLimitCap: BundleHeader.defaultMemLimitCap,
                                                               allowedFlags: StoreEnvelope.secondStepFlag, refuse: refuse)
            requiresSecondStep = file[11] & StoreEnvelope.secondStepFlag != 0
            guard UInt64(file.count) <= BundleHeader.payloadCap else { throw refuse("larger than 256 MiB") }
            salt = Array(file[24..<40])
            wrapNonce = Array(file[40..<64])
            wrappedKey = Array(file[64..<112])
        }

        init(opsLimit: UInt64, memLimit: UInt64, salt: [UInt8], wrapNonce: [UInt8], wrappedKey: [UInt8], requiresSecondStep: Bool) {
            self.requiresSecondStep = requiresSecondStep
            self.opsLimit = opsLimit
            self.memLimit = memLimit
            self.salt = salt
            self.wrapNonce = wrapNonce
            self.wrappedKey = wrappedKey
        }

        /// The first 64 bytes, which the KEK is bound to.
        var boundBytes: [UInt8] {
            var out = StoreEnvelope.magic
            out += [UInt8(StoreEnvelope.version >> 8), UInt8(StoreEnvelope.version & 0xff), BundleHeader.kdfArgon2id13,
                    requiresSecondStep ? StoreEnvelope.secondStepFlag : 0]
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: opsLimit >> UInt64(shift))) }
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: memLimit >> UInt64(shift))) }
            return out + salt + wrapNonce
        }

        public var bytes: [UInt8] { boundBytes + wrappedKey }
    }

    /// Byte 11's bit for ``Header/requiresSecondStep``.
    static let secondStepFlag: UInt8 = 0x01

    /// A new header wrapping `dataKey` under `passphrase` (fresh salt and nonce), with the
    /// second step required or not.
    public static func wrap(_ dataKey: SecureBuffer, passphrase: SecureBuffer, opsLimit: UInt64, memLimit: UInt64,
                            requiresSecondStep: Bool = false) throws -> Header {
        var header = Header(opsLimit: opsLimit, memLimit: memLimit, salt: randomBytes(count: PasswordHash.saltBytes),
                            wrapNonce: randomBytes(count: SecretBox.nonceBytes), wrappedKey: [], requiresSecondStep: requiresSecondStep)
        let kek = try keyEncryptionKey(header, passphrase: passphrase)
        header.wrappedKey = dataKey.withUnsafeBytes { SecretBox.seal($0, nonce: header.wrapNonce, key: kek) }
        return header
    }

    /// The data key, or nil when the passphrase is wrong (or the header was changed: the two
    /// cannot be told apart).
    public static func unwrap(_ header: Header, passphrase: SecureBuffer) throws -> SecureBuffer? {
        let kek = try keyEncryptionKey(header, passphrase: passphrase)
        return header.wrappedKey.withUnsafeBytes { SecretBox.open($0, nonce: header.wrapNonce, key: kek) }
    }

    package static func keyEncryptionKey(_ header: Header, passphrase: SecureBuffer) throws -> SecureBuffer {
        let master = try PasswordHash.deriveKey(count: 32, passphrase: passphrase, salt: header.salt,
                                                opsLimit: header.opsLimit, memLimit: header.memLimit)
        return header.boundBytes.withUnsafeBytes { KeyedHash.subkey(count: SecretBox.keyBytes, message: $0, key: master) }
    }

    /// A whole file: `header` and the document sealed under `dataKey` with a fresh nonce.
    public static func seal(document: UnsafeRawBufferPointer, header: Header, dataKey: SecureBuffer) -> [UInt8] {
        let nonce = randomBytes(count: SecretBox.nonceBytes)
        return header.bytes + nonce + SecretBox.seal(document, nonce: nonce, key: dataKey)
    }

    /// The document of a whole file, or nil when the body does not authenticate.
    public static func open(file: [UInt8], dataKey: SecureBuffer) -> SecureBuffer? {
        let nonce = Array(file[headerSize..<(headerSize + SecretBox.nonceBytes)])
        return file[(headerSize + SecretBox.nonceBytes)...].withUnsafeBytes { SecretBox.open($0, nonce: nonce, key: dataKey) }
    }
}
