import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The 80-byte header of a bundle, format version 1 (docs/FORMAT.md). All integers are
/// big-endian. The whole header is bound into the encryption key, so changing any byte of
/// it makes the bundle fail to open.
public struct BundleHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("CVBUNDLE".utf8)
    public static let size = 80
    public static let version: UInt16 = 1
    /// KDF id 1: Argon2id v1.3 (crypto_pwhash_ALG_ARGON2ID13).
    public static let kdfArgon2id13: UInt8 = 1

    /// Bounds a reader enforces before any key derivation.
    public static let opsLimitRange: ClosedRange<UInt64> = 1...16
    public static let memLimitFloor: UInt64 = 8 * 1024
    /// The default memory cap: 1 GiB.
    public static let defaultMemLimitCap: UInt64 = 1 << 30
    /// The largest payload accepted: 256 MiB.
    public static let payloadCap: UInt64 = 256 << 20
    /// The largest bundle file: the header and the largest payload.
    public static let maximumFileSize = size + Int(payloadCap)

    public var opsLimit: UInt64
    public var memLimit: UInt64
    /// Seconds since 1970 (UTC) when the bundle was written.
    public var created: UInt64
    public var salt: [UInt8]
    public var nonce: [UInt8]
    /// Bytes of ciphertext after the header (payload plus the 16-byte MAC).
    public var payloadLength: UInt64

    public init(opsLimit: UInt64, memLimit: UInt64, created: UInt64, salt: [UInt8], nonce: [UInt8], payloadLength: UInt64) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
        self.created = created
        self.salt = salt
        self.nonce = nonce
        self.payloadLength = payloadLength
    }

    /// The 80 header bytes.
    public var bytes: [UInt8] {
        var out = Self.magic
        out += [UInt8(Self.version >> 8), UInt8(Self.version & 0xff), Self.kdfArgon2id13, 0]
        func append(_ value: UInt64, width: Int) {
            for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        append(opsLimit, width: 4)
        append(memLimit, width: 8)
        append(created, width: 8)
        out += salt
        out += nonce
        append(payloadLength, width: 8)
        return out
    }

    /// Parses and checks the header of a whole file, doing no expensive work.
    ///
    /// - Parameters:
    ///   - file: the whole bundle file.
    ///   - memLimitCap: the largest memlimit accepted (default 1 GiB).
    /// - Throws: `CredentialVaultError` (`.dataError`) naming what is wrong.
    public init(file: [UInt8], memLimitCap: UInt64 = BundleHeader.defaultMemLimitCap) throws {
        func refuse(_ reason: String) -> CredentialVaultError {
            CredentialVaultError(.dataError, "not a readable credvault bundle: \(reason)")
        }
        guard file.count >= Self.magic.count, Array(file[0..<8]) == Self.magic else { throw refuse("wrong magic bytes (expected \"CVBUNDLE\")") }
        guard file.count >= Self.size else { throw refuse("truncated header (\(file.count) of \(Self.size) bytes)") }
        (opsLimit, memLimit) = try Self.kdfPrelude(file, memLimitCap: memLimitCap, refuse: refuse)
        created = Self.integer(file, 24, 8)
        salt = Array(file[32..<48])
        nonce = Array(file[48..<72])
        payloadLength = Self.integer(file, 72, 8)
        guard payloadLength >= UInt64(SecretBox.macBytes), payloadLength <= Self.payloadCap else {
            throw refuse("payload length \(payloadLength) is outside \(SecretBox.macBytes)...\(Self.payloadCap)")
        }
        let actual = UInt64(file.count - Self.size)
        guard actual == payloadLength else {
            throw refuse(actual < payloadLength ? "truncated: the header announces \(payloadLength) payload bytes, the file has \(actual)"
                                                : "\(actual - payloadLength) trailing bytes after the payload")
        }
    }
}

extension BundleHeader {
    /// A big-endian integer of `width` bytes at `offset`.
    static func integer(_ file: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        file[offset..<(offset + width)].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Bytes 8–23, shared by bundles and the password-protected store: version 1, KDF id 1
    /// (Argon2id v1.3), byte 11 (reserved in a bundle: 0; the store's flags, of which only
    /// the bits of `allowedFlags` may be set), then opslimit and memlimit, bounded before any
    /// key derivation. The caller has checked the magic and that 24 bytes are there.
    static func kdfPrelude(_ file: [UInt8], memLimitCap: UInt64, allowedFlags: UInt8 = 0,
                           refuse: (String) -> CredentialVaultError) throws -> (UInt64, UInt64) {
        let version = UInt16(integer(file, 8, 2))
        guard version == Self.version else { throw refuse("format version \(version); this credvault reads version 1 only") }
        guard file[10] == Self.kdfArgon2id13 else { throw refuse("unknown KDF id \(file[10]); only 1 (Argon2id v1.3) is defined") }
        guard file[11] & ~allowedFlags == 0 else {
            throw refuse(allowedFlags == 0 ? "reserved byte is \(file[11]), not 0" : "flags byte is \(file[11]); only bit 0 is defined")
        }
        let opsLimit = integer(file, 12, 4), memLimit = integer(file, 16, 8)
        guard Self.opsLimitRange.contains(opsLimit) else {
            throw refuse("KDF opslimit \(opsLimit) is outside \(Self.opsLimitRange.lowerBound)...\(Self.opsLimitRange.upperBound)")
        }
        guard memLimit >= Self.memLimitFloor, memLimit <= memLimitCap else {
            throw refuse("KDF memlimit \(memLimit) bytes is outside \(Self.memLimitFloor)...\(memLimitCap)")
        }
        return (opsLimit, memLimit)
    }
}

/// Argon2id cost presets for `password export --kdf`.
public enum KDFProfile: String, Sendable, CaseIterable {
    /// 2 passes, 64 MiB (libsodium's INTERACTIVE).
    case interactive
    /// 3 passes, 256 MiB (libsodium's MODERATE), the default.
    case moderate
    /// 4 passes, 1 GiB (libsodium's SENSITIVE).
    case sensitive

    public var opsLimit: UInt64 { switch self { case .interactive: 2; case .moderate: 3; case .sensitive: 4 } }
    public var memLimit: UInt64 { switch self { case .interactive: 64 << 20; case .moderate: 256 << 20; case .sensitive: 1 << 30 } }
}
