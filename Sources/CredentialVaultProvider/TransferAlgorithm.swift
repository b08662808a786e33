import CKeyringBoundary
import Crypto
import _CryptoExtras
import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How secrets cross the bus in one client's session (the Secret Service specification,
/// "Transfer of Secrets"): `plain`, or `dh-ietf1024-sha256-aes128-cbc-pkcs7`: a
/// Diffie-Hellman agreement in the 1024-bit MODP group of RFC 2409 (generator 2;
/// credvault_dh.h), HKDF-SHA256 of the shared value (left-padded to 128 bytes) with no salt
/// and no info giving a 16-byte key, then AES-128-CBC with PKCS#7 padding and a fresh 16-byte
/// IV per secret.
enum TransferAlgorithm: Sendable {
    case plain
    case aes(SymmetricKey)

    static let plainName = "plain"
    static let diffieHellmanName = "dh-ietf1024-sha256-aes128-cbc-pkcs7"

    /// Agrees on a key with a client whose public value is `clientPublic` (big-endian, as the
    /// client sends it; cvd_agree, with libgcrypt). Returns the session's algorithm and the
    /// provider's public value.
    ///
    /// - Throws: `.usage` for a public value outside 2…p−2 (which would fix the shared value);
    ///   `.unavailable` when libgcrypt cannot be loaded.
    static func agree(clientPublic: [UInt8]) throws -> (TransferAlgorithm, [UInt8]) {
        let size = Int(CVD_PRIME_BYTES)
        var ownPublic = [UInt8](repeating: 0, count: size)
        var shared = [UInt8](repeating: 0, count: size)
        defer { shared.wipe() }
        var publicLength = 0
        var problem: UnsafePointer<CChar>?
        switch cvd_agree(clientPublic, clientPublic.count, &ownPublic, &publicLength, &shared, &problem) {
        case CVD_AGREED: break
        case CVD_BAD_PEER: throw CredentialVaultError(.usage, "the client's Diffie-Hellman public value is out of range")
        default: throw CredentialVaultError(.unavailable, "libgcrypt, which the dh-ietf1024 session needs, could not be loaded: \(problem.map { String(cString: $0) } ?? "unknown")")
        }
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: shared), info: [UInt8](), outputByteCount: 16)
        return (.aes(key), Array(ownPublic.prefix(publicLength)))
    }

    /// Seals `secret` for the client: (parameters, value).
    func seal(_ secret: SecretBytes) throws -> (parameters: [UInt8], value: [UInt8]) {
        switch self {
        case .plain:
            return ([], secret.withBytes { Array($0) })
        case .aes(let key):
            let iv = try AES._CBC.IV(ivBytes: (0..<16).map { _ in UInt8.random(in: 0...255) })
            let sealed = try secret.withBytes { try AES._CBC.encrypt($0, using: key, iv: iv) }
            return (Array(iv), [UInt8](sealed))
        }
    }

    /// Opens a secret a client sent.
    ///
    /// - Throws: `.usage` when it does not decrypt (wrong session, bad padding, wrong IV size).
    func open(parameters: [UInt8], value: [UInt8]) throws -> SecretBytes {
        switch self {
        case .plain:
            return SecretBytes(adopting: value)
        case .aes(let key):
            guard parameters.count == 16, !value.isEmpty, value.count % 16 == 0 else {
                throw CredentialVaultError(.usage, "the secret's parameters are not a 16-byte IV, or its value is not whole AES blocks")
            }
            do {
                var plain = [UInt8](try AES._CBC.decrypt(value, using: key, iv: try AES._CBC.IV(ivBytes: parameters)))
                defer { plain.wipe() }
                return SecretBytes(plain)
            } catch {
                throw CredentialVaultError(.usage, "the secret does not decrypt under this session's key")
            }
        }
    }
}
