import CredentialVaultCore
import CredentialVaultCrypto
internal import CSystemBoundary
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The one way credvault reads a secret or a passphrase: from a descriptor, a file or the
/// terminal, into locked memory (``SecureBuffer``), with a size limit, and with one rule for
/// line endings per ``Form``. Every passphrase source (`--passphrase-file`, `--passphrase-fd`,
/// `<APP>_PASSPHRASE_FILE`, `<APP>_PASSPHRASE_FD`, systemd credentials, the prompt) and every
/// secret on standard input goes through here.
public enum SecretInput {
    /// Where the bytes come from.
    public enum Source: Sendable {
        /// An open descriptor, read to its end (not closed).
        case descriptor(Int32)
        /// A file, opened with the same checks as the store: yours, mode 0600 or stricter, a
        /// regular file, not a symbolic link; its size is checked before it is read.
        case file(String)
        /// The controlling terminal (`/dev/tty`), one line typed with echo off after `prompt`.
        /// Echo comes back even when the read is interrupted by a signal.
        case terminal(prompt: String)
    }

    /// How the bytes read become the value.
    public enum Form: Sendable {
        /// A passphrase or a key: one line. One trailing `\n` or `\r\n` is dropped; a line
        /// break anywhere else is refused (a second line is a mistake, not part of the value).
        case line
        /// A secret's bytes, binary-safe: one trailing `\n` is dropped, nothing else.
        case bytes
        /// Every byte, unchanged (a credential helper's request).
        case raw
    }

    /// Reads `source` as `form`.
    ///
    /// - Parameters:
    ///   - limit: the most bytes the value may have; more is refused (exit 65) without reading
    ///     further than `limit` + 2 bytes.
    ///   - what: the value's name in messages ("the passphrase", "the secret").
    /// - Returns: the value, possibly empty (the caller says what an empty value means).
    /// - Throws: `CredentialVaultError` naming `what` and the source: `.usage` (64) when there
    ///   is no terminal to ask on, `.dataError` (65) for a value over the limit or with a line
    ///   break inside, `.permissionDenied` (77) for a file that is not yours, is open to others,
    ///   is a symbolic link or not a regular file, `.configuration` (78) for a missing file or a
    ///   descriptor that cannot be read.
    public static func read(_ source: Source, as form: Form, limit: Int, what: String) throws -> SecureBuffer {
        let (buffer, length, origin) = try readRaw(source, limit: limit, what: what)
        var end = length
        buffer.withUnsafeBytes { bytes in
            switch form {
            case .raw: break
            case .bytes:
                if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            case .line:
                if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
                if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            }
        }
        if form == .line, buffer.withUnsafeBytes({ $0[0..<end].contains(UInt8(ascii: "\n")) }) {
            throw CredentialVaultError(.dataError, "\(what) from \(origin) has more than one line; put only the value in it (one trailing newline is allowed)")
        }
        guard end <= limit else {
            throw CredentialVaultError(.dataError, "\(what) from \(origin) is longer than \(limit) bytes; nothing was used")
        }
        return end == buffer.count ? buffer : buffer.withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
    }

    /// The bytes of `source` (at most `limit` + 2 of them, so that a value at the limit with a
    /// `\r\n` still fits), their count, and the source's name for messages.
    private static func readRaw(_ source: Source, limit: Int, what: String) throws -> (SecureBuffer, Int, String) {
        let capacity = limit + 2
        switch source {
        case .descriptor(let fd):
            let origin = fd == STDIN_FILENO ? "standard input" : "file descriptor \(fd)"
            return try readDescriptor(FileDescriptor(rawValue: fd), capacity: capacity, origin: origin, what: what)
        case .file(let path):
            let origin = path
            guard let descriptor = try SecureFileSystem.openForReading(path) else {
                throw CredentialVaultError(.configuration, "\(what) file \(path) does not exist; create it (mode 0600) or give another path")
            }
            defer { try? descriptor.close() }
            let size = try SecureFileSystem.size(of: descriptor, path: path)
            guard size <= capacity else {
                throw CredentialVaultError(.dataError, "\(what) file \(path) is \(size) bytes, more than \(what) may be (\(limit) bytes); nothing was read")
            }
            return try readDescriptor(descriptor, capacity: capacity, origin: origin, what: what)
        case .terminal(let prompt):
            // A typed line is short (the terminal's line discipline holds 4,095 bytes): locked
            // memory for 64 KiB at most, not for the whole limit (16 MiB for `set`).
            let typedLimit = min(limit, terminalLineLimit)
            var length = 0
            var status = CVS_TTY_OK
            let buffer = SecureBuffer(count: typedLimit + 2) { bytes in
                status = cvs_read_terminal_line(prompt, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count, &length)
            }
            switch status {
            case CVS_TTY_OK, CVS_TTY_END_OF_INPUT: return (buffer, length, "the terminal")
            case CVS_TTY_NO_TERMINAL:
                throw CredentialVaultError(.usage, "cannot ask for \(what): there is no terminal (\(Errno(rawValue: errno))); give it on a descriptor or in a 0600 file instead")
            case CVS_TTY_TOO_LONG:
                throw CredentialVaultError(.dataError, "\(what) typed is longer than \(typedLimit) bytes; nothing was used\(typedLimit < limit ? " (give a longer value on standard input or in a file)" : "")")
            default:
                throw CredentialVaultError(.internal, "cannot read \(what) from the terminal: \(Errno(rawValue: errno))")
            }
        }
    }

    /// Reads to end of input into locked memory that grows by doubling (each old buffer is
    /// wiped as it is released), refusing input past `capacity` bytes.
    private static func readDescriptor(_ descriptor: FileDescriptor, capacity: Int, origin: String, what: String) throws -> (SecureBuffer, Int, String) {
        var buffer = SecureBuffer(count: min(capacity, 4096))
        var length = 0
        while true {
            if length == buffer.count {
                guard buffer.count < capacity else {
                    throw CredentialVaultError(.dataError, "\(what) from \(origin) is longer than \(capacity - 2) bytes; nothing was used")
                }
                let larger = SecureBuffer(count: min(capacity, buffer.count * 2)) { target in
                    buffer.withUnsafeBytes { target.copyMemory(from: $0) }
                }
                buffer = larger
            }
            let count: Int
            do {
                count = try buffer.withMutableBytes { bytes in
                    try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[length...]), retryOnInterrupt: true)
                }
            } catch {
                throw CredentialVaultError(.configuration, "cannot read \(what) from \(origin): \(error)", cause: error)
            }
            if count == 0 { return (buffer, length, origin) }
            length += count
        }
    }
}

extension SecretInput {
    /// The longest line read from the terminal, in bytes.
    public static let terminalLineLimit = 65_536

    /// The longest passphrase any source may give, in bytes.
    public static let passphraseLimit = 4096

    /// A passphrase from `source`: one line of at most ``passphraseLimit`` bytes, not empty.
    public static func passphrase(from source: Source) throws -> SecureBuffer {
        let passphrase = try read(source, as: .line, limit: passphraseLimit, what: "the passphrase")
        guard passphrase.count > 0 else {
            throw CredentialVaultError(.usage, "the passphrase is empty; nothing was used")
        }
        return passphrase
    }
}
