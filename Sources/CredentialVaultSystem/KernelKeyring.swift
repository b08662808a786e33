internal import CKeyutils
import CredentialVaultCrypto
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// `user` keys in the Linux kernel's session keyring (libkeyutils), with a kernel-enforced
/// timeout. Payloads go in and come out in locked memory; the kernel's copy handed back by
/// keyctl_read_alloc is wiped before it is freed.
public enum KernelKeyring {
    /// Why a key could not be kept.
    public enum Failure: Error, Sendable {
        /// A keyctl call failed (blocked by a container's seccomp profile, quota).
        case call(String, Errno)
        /// This process has no session keyring of its own (no pam_keyinit, no `keyctl
        /// session`): a key added now would go to a keyring that ends with the process, so
        /// none was added.
        case notKept
    }

    /// Adds (or replaces) the key `description` with `payload`, expiring after `seconds`
    /// (add_key into KEY_SPEC_SESSION_KEYRING, keyctl_set_timeout, then keyctl_search to check
    /// that the session keeps it). First, keyctl_get_keyring_ID tells whether the process has
    /// a session keyring of its own: without one the kernel would make a new one for this
    /// process alone, and the next command would not see the key.
    public static func add(description: String, payload: SecureBuffer, seconds: UInt32) throws(Failure) {
        // Without a session keyring of its own, a lookup without "create" stands in the
        // per-user fallback keyring (keyrings(7)): the two ids are then the same.
        let session = keyctl_get_keyring_ID(credvault_session_keyring, 0)
        let fallback = keyctl_get_keyring_ID(credvault_user_session_keyring, 0)
        guard session >= 0 else { throw .call("keyctl_get_keyring_ID", Errno(rawValue: errno)) }
        if session == fallback { throw .notKept }
        let id = payload.withUnsafeBytes { add_key("user", description, $0.baseAddress, $0.count, credvault_session_keyring) }
        guard id >= 0 else { throw .call("add_key", Errno(rawValue: errno)) }
        guard keyctl_set_timeout(id, seconds) == 0 else {
            let code = errno
            _ = keyctl_invalidate(id)
            throw .call("keyctl_set_timeout", Errno(rawValue: code))
        }
        guard keyctl_search(credvault_session_keyring, "user", description, 0) == Int(id) else {
            _ = keyctl_invalidate(id)
            throw .notKept
        }
    }

    /// The payload of the key `description` when it exists and is exactly `count` bytes
    /// (keyctl_search, keyctl_read_alloc).
    public static func read(description: String, count: Int) -> SecureBuffer? {
        let found = keyctl_search(credvault_session_keyring, "user", description, 0)
        guard found >= 0 else { return nil }
        var buffer: UnsafeMutableRawPointer?
        let length = keyctl_read_alloc(key_serial_t(truncatingIfNeeded: found), &buffer)
        guard let buffer else { return nil }
        defer { explicit_bzero(buffer, Int(max(length, 0))); free(buffer) }
        guard length == count else { return nil }
        return SecureBuffer(copying: UnsafeRawBufferPointer(start: buffer, count: Int(length)))
    }

    /// Removes the key `description` at once (keyctl_invalidate, else keyctl_revoke). Returns
    /// whether there was one.
    @discardableResult
    public static func remove(description: String) -> Bool {
        let found = keyctl_search(credvault_session_keyring, "user", description, 0)
        guard found >= 0 else { return false }
        let id = key_serial_t(truncatingIfNeeded: found)
        return keyctl_invalidate(id) == 0 || keyctl_revoke(id) == 0
    }
}
