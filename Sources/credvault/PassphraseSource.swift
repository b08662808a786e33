import ArgumentParser
internal import CProcessControl
import CredentialVault
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a passphrase comes from: `--passphrase-file` (must be 0600), `--passphrase-fd`, or
/// a no-echo prompt on the terminal. Never an argument or an environment variable.
struct PassphraseOptions: ParsableArguments {
    @Option(help: "Read the passphrase from this file (mode 0600, owned by you; one trailing newline is ignored).")
    var passphraseFile: String?

    @Option(help: "Read the passphrase from this open file descriptor (to EOF; one trailing newline is ignored).")
    var passphraseFd: Int32?

    /// Whether a file or descriptor was given.
    var isGiven: Bool { passphraseFile != nil || passphraseFd != nil }

    /// Reads the passphrase; `confirm` asks twice at a prompt (for new bundles).
    func read(confirm: Bool) throws -> SecureBuffer {
        let passphrase: SecureBuffer
        if let path = passphraseFile {
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                throw CredentialVaultError(errno == ELOOP ? .permissionDenied : .usage,
                    "cannot open passphrase file \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw CredentialVaultError(.internal, "cannot examine \(path)") }
            guard info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
                throw CredentialVaultError(.permissionDenied,
                    "passphrase file \(path) must be owned by you and mode 0600 (it is \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 '\(path)'")
            }
            passphrase = try Self.readAll(fd)
        } else if let fd = passphraseFd {
            passphrase = try Self.readAll(fd)
        } else if isatty(STDIN_FILENO) == 1 {
            let first = try Self.prompt("Passphrase: ")
            if confirm {
                let second = try Self.prompt("Passphrase again: ")
                guard first.constantTimeEquals(second) else {
                    throw CredentialVaultError(.usage, "the two passphrases differ; nothing was written")
                }
            }
            passphrase = first
        } else {
            throw CredentialVaultError(.usage,
                "no passphrase: give --passphrase-file PATH (mode 0600) or --passphrase-fd N, or run on a terminal to be asked")
        }
        guard passphrase.count > 0 else { throw CredentialVaultError(.usage, "the passphrase is empty") }
        if confirm {
            // Counts code points without copying the passphrase into a String.
            let characters = passphrase.withUnsafeBytes { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
            guard characters >= CredentialBundle.minimumPassphraseLength else {
                throw CredentialVaultError(.usage,
                    "the passphrase has \(characters) characters; use at least \(CredentialBundle.minimumPassphraseLength)")
            }
        }
        return passphrase
    }

    /// Reads `fd` to EOF into locked memory, dropping one trailing newline.
    private static func readAll(_ fd: Int32) throws -> SecureBuffer {
        let capacity = 64 * 1024
        var length = 0
        var failure: Int32 = 0
        let buffer = SecureBuffer(count: capacity) { bytes in
            while length < capacity {
                let count = Glibc.read(fd, bytes.baseAddress! + length, capacity - length)
                if count < 0 { if errno == EINTR { continue }; failure = errno; return }
                if count == 0 { return }
                length += count
            }
        }
        guard failure == 0 else { throw CredentialVaultError(.usage, "cannot read the passphrase: \(String(cString: strerror(failure)))") }
        guard length < capacity else { throw CredentialVaultError(.usage, "the passphrase is longer than 64 KiB") }
        let trimmed = buffer.withUnsafeBytes { bytes -> Int in
            var end = length
            if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            return end
        }
        return buffer.withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<trimmed])) }
    }

    private static func prompt(_ text: String) throws -> SecureBuffer {
        Terminal.withEchoDisabled(prompt: text) { readLineSecurely() }
    }

    /// One line of stdin into locked memory.
    private static func readLineSecurely() -> SecureBuffer {
        let capacity = 4096
        var length = 0
        let line = SecureBuffer(count: capacity) { bytes in
            var byte: UInt8 = 0
            while length < capacity, Glibc.read(STDIN_FILENO, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
                bytes[length] = byte
                length += 1
            }
            byte = 0
        }
        return line.withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}

/// Stops this process from writing core dumps or being attached to (setrlimit RLIMIT_CORE 0,
/// prctl PR_SET_DUMPABLE 0), for commands that hold passphrases and keys.
func disableCoreDumps() {
    _ = credvault_disable_core_dumps()
}
