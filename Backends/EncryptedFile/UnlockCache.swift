import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The unlock cache: a store's data key held in the Linux kernel keyring as a `user` key in
/// the session keyring, with a kernel-enforced timeout, so the next commands of the session
/// neither prompt nor run Argon2id. The key's description names the store's header (a
/// password change gives a new one); its payload is the expiry (8 bytes, big-endian seconds
/// since 1970) and the 32-byte data key. Nothing touches the disk.
public enum UnlockCache {
    /// The description of the cache entry for a store whose header is `header`.
    static func description(for header: StoreEnvelope.Header) -> String {
        let digest = KeyedHash.subkey(count: 16, message: header.bytes, key: SecureBuffer(count: 32))
        let hex = Hex.lowercase(digest.copyBytes())
        return "credvault:store:\(hex)"
    }

    /// Caches `dataKey` for `duration` (add_key "user" into KEY_SPEC_SESSION_KEYRING, then
    /// keyctl_set_timeout). Returns the expiry.
    ///
    /// - Throws: `.unavailable` when the kernel keyring cannot be used (some containers block it).
    static func store(_ dataKey: SecureBuffer, header: StoreEnvelope.Header, duration: Duration) throws -> Date {
        let seconds = UInt32(clamping: max(1, duration.components.seconds))
        let expiry = UInt64(Date().timeIntervalSince1970) + UInt64(seconds)
        let stamp = (0..<8).map { UInt8(truncatingIfNeeded: expiry >> UInt64(56 - 8 * $0)) }
        let payload = SecureBuffer(joining: SecureBuffer(copying: stamp), dataKey)
        do {
            try KernelKeyring.add(description: description(for: header), payload: payload, seconds: seconds)
        } catch .notKept {
            throw CredentialVaultError(.unavailable,
                "this process has no session keyring of its own (the session was not started through PAM's pam_keyinit), so an unlock would end with this command and nothing was cached. Log in through PAM, or run your commands inside `keyctl session`; meanwhile each command can read the passphrase from a 0600 file named by the app's PASSPHRASE_FILE variable (CREDVAULT_PASSPHRASE_FILE)")
        } catch .call(let call, let code) {
            throw CredentialVaultError(.unavailable, "the kernel keyring is not available here (\(call): \(code)), so the unlock cannot be cached")
        }
        return Date(timeIntervalSince1970: TimeInterval(expiry))
    }

    /// The cached data key and its expiry (keyctl_search, keyctl_read_alloc), if any. An
    /// entry past the expiry stored in it is removed and not used, even when the kernel still
    /// keeps it (`keyctl timeout` lets any process that possesses the key extend it).
    static func read(header: StoreEnvelope.Header, now: Date = Date()) -> (SecureBuffer, Date)? {
        let name = description(for: header)
        guard let payload = KernelKeyring.read(description: name, count: 8 + SecretBox.keyBytes) else { return nil }
        let expiry = (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(payload[$1]) }
        guard Double(expiry) > now.timeIntervalSince1970 else {
            KernelKeyring.remove(description: name)
            return nil
        }
        return (payload.suffix(from: 8), Date(timeIntervalSince1970: TimeInterval(expiry)))
    }

    /// Removes the cache entry at once (keyctl_invalidate). Returns whether there was one.
    @discardableResult
    static func revoke(header: StoreEnvelope.Header) -> Bool {
        KernelKeyring.remove(description: description(for: header))
    }
}
