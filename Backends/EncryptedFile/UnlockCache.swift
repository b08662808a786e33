internal import CKeyutils
import CredentialVaultCore
import CredentialVaultCrypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The unlock cache: a store's data key held in the Linux kernel keyring as a `user` key in
/// the session keyring, with a kernel-enforced timeout, so the next commands of the session
/// neither prompt nor run Argon2id. The key's description names the store's header (a
/// password change gives a new one); its payload is the expiry (8 bytes, big-endian seconds
/// since 1970) and the 32-byte data key. Nothing touches the disk.
public enum UnlockCache {
    /// The description of the cache entry for a store whose header is `header`.
    static func description(for header: StoreEnvelope.Header) -> String {
        let digest = header.bytes.withUnsafeBytes { bytes in
            KeyedHash.subkey(count: 16, message: bytes, key: SecureBuffer(count: 32))
        }
        let hex = digest.withUnsafeBytes { Hex.lowercase($0) }
        return "credvault:store:\(hex)"
    }

    /// Caches `dataKey` for `duration` (add_key "user" into KEY_SPEC_SESSION_KEYRING, then
    /// keyctl_set_timeout). Returns the expiry.
    ///
    /// - Throws: `.unavailable` when the kernel keyring cannot be used (some containers block it).
    static func store(_ dataKey: SecureBuffer, header: StoreEnvelope.Header, duration: Duration) throws -> Date {
        let seconds = UInt32(clamping: max(1, duration.components.seconds))
        let expiry = UInt64(Date().timeIntervalSince1970) + UInt64(seconds)
        let payload = SecureBuffer(count: 8 + dataKey.count) { out in
            for index in 0..<8 { out[index] = UInt8(truncatingIfNeeded: expiry >> UInt64(56 - 8 * index)) }
            dataKey.withUnsafeBytes { out.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        let name = description(for: header)
        let id = payload.withUnsafeBytes { add_key("user", name, $0.baseAddress, $0.count, credvault_session_keyring) }
        guard id >= 0 else { throw unavailable("add_key", errno) }
        guard keyctl_set_timeout(id, seconds) == 0 else {
            let code = errno
            _ = keyctl_invalidate(id)
            throw unavailable("keyctl_set_timeout", code)
        }
        // Without a real session keyring (no pam_keyinit), a key can be added but not found again.
        guard keyctl_search(credvault_session_keyring, "user", name, 0) == Int(id) else {
            _ = keyctl_invalidate(id)
            throw CredentialVaultError(.unavailable,
                "the kernel keyring does not keep keys for this session (no session keyring; start one with `keyctl session` or log in through PAM), so the unlock cannot be cached")
        }
        return Date(timeIntervalSince1970: TimeInterval(expiry))
    }

    /// The cached data key and its expiry (keyctl_search, keyctl_read_alloc), if any.
    static func read(header: StoreEnvelope.Header) -> (SecureBuffer, Date)? {
        let found = keyctl_search(credvault_session_keyring, "user", description(for: header), 0)
        guard found >= 0 else { return nil }
        let id = key_serial_t(truncatingIfNeeded: found)
        var buffer: UnsafeMutableRawPointer?
        let count = keyctl_read_alloc(id, &buffer)
        guard count == 8 + SecretBox.keyBytes, let buffer else {
            if let buffer { explicit_bzero(buffer, Int(max(count, 0))); free(buffer) }
            return nil
        }
        defer { explicit_bzero(buffer, Int(count)); free(buffer) }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(count))
        let expiry = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: bytes[8...])), Date(timeIntervalSince1970: TimeInterval(expiry)))
    }

    /// Removes the cache entry at once (keyctl_invalidate). Returns whether there was one.
    @discardableResult
    static func revoke(header: StoreEnvelope.Header) -> Bool {
        let found = keyctl_search(credvault_session_keyring, "user", description(for: header), 0)
        guard found >= 0 else { return false }
        let id = key_serial_t(truncatingIfNeeded: found)
        return keyctl_invalidate(id) == 0 || keyctl_revoke(id) == 0
    }

    private static func unavailable(_ call: String, _ code: Int32) -> CredentialVaultError {
        CredentialVaultError(.unavailable, "the kernel keyring is not available here (\(call): \(String(cString: strerror(code)))), so the unlock cannot be cached")
    }
}
