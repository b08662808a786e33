internal import CSodium
import CredentialVaultCore

/// XSalsa20-Poly1305 authenticated encryption (crypto_secretbox).
public enum SecretBox {
    public static let keyBytes = 32
    public static let nonceBytes = 24
    public static let macBytes = 16

    /// Encrypts and authenticates `plaintext` (crypto_secretbox_easy). The result is
    /// `plaintext.count + macBytes` long.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], key: SecureBuffer) -> [UInt8] {
        precondition(nonce.count == nonceBytes && key.count == keyBytes)
        var output = [UInt8](repeating: 0, count: plaintext.count + macBytes)
        output.withUnsafeMutableBytes { out in
            key.withUnsafeBytes { keyBytes in
                _ = crypto_secretbox_easy(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                          plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(out.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                                          UInt64(plaintext.count), nonce, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return output
    }

    /// Verifies and decrypts (crypto_secretbox_open_easy) into a wiped buffer; `nil` when
    /// the ciphertext or key is wrong.
    public static func open(_ ciphertext: UnsafeRawBufferPointer, nonce: [UInt8], key: SecureBuffer) -> SecureBuffer? {
        precondition(nonce.count == nonceBytes && key.count == keyBytes)
        guard ciphertext.count >= macBytes else { return nil }
        var ok = false
        let plaintext = SecureBuffer(count: ciphertext.count - macBytes) { out in
            key.withUnsafeBytes { keyBytes in
                ok = crypto_secretbox_open_easy(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                                                nonce, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            }
        }
        return ok ? plaintext : nil
    }
}

/// Argon2id key derivation, the algorithm pinned to crypto_pwhash_ALG_ARGON2ID13.
public enum PasswordHash {
    public static let saltBytes = 16
    /// The smallest operations limit libsodium accepts for Argon2id (crypto_pwhash_argon2id_opslimit_min).
    public static var opsLimitMinimum: UInt64 { UInt64(crypto_pwhash_argon2id_opslimit_min()) }
    /// The smallest memory limit in bytes (crypto_pwhash_argon2id_memlimit_min).
    public static var memLimitMinimum: UInt64 { UInt64(crypto_pwhash_argon2id_memlimit_min()) }

    /// Derives `count` bytes from `passphrase` and `salt` (crypto_pwhash with
    /// crypto_pwhash_ALG_ARGON2ID13).
    ///
    /// - Throws: `CredentialVaultError` (`.internal`) when libsodium refuses, typically for
    ///   lack of memory.
    public static func deriveKey(count: Int, passphrase: SecureBuffer, salt: [UInt8], opsLimit: UInt64, memLimit: UInt64) throws -> SecureBuffer {
        precondition(salt.count == saltBytes)
        var status: Int32 = -1
        let key = SecureBuffer(count: count) { out in
            passphrase.withUnsafeBytes { pass in
                status = crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(count),
                                       pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(pass.count),
                                       salt, opsLimit, Int(memLimit), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else {
            throw CredentialVaultError(.internal, "Argon2id key derivation failed (out of memory for \(memLimit / 1_048_576) MiB?)")
        }
        return key
    }
}

/// Keyed BLAKE2b (crypto_generichash).
public enum KeyedHash {
    /// The `count`-byte BLAKE2b hash of `message` keyed with `key` (crypto_generichash), in
    /// a wiped buffer: used to derive subkeys.
    public static func subkey(count: Int, message: UnsafeRawBufferPointer, key: SecureBuffer) -> SecureBuffer {
        SecureBuffer(count: count) { out in
            key.withUnsafeBytes { keyBytes in
                _ = crypto_generichash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), count,
                                       message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                                       keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), keyBytes.count)
            }
        }
    }
}
