import ArgumentParser
import CredentialVault
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing to stdout and stderr, and reading secrets without echo.
enum Terminal {
    static func write(_ text: String) {
        writeBytes(Array(text.utf8), to: STDOUT_FILENO)
    }

    static func writeBytes(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue }; return }
            offset += written
        }
    }

    static func warn(_ message: String) { writeBytes(Array("credvault: warning: \(message)\n".utf8), to: STDERR_FILENO) }
    static func note(_ message: String) { writeBytes(Array("credvault: \(message)\n".utf8), to: STDERR_FILENO) }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Runs a verb's body and turns a `CredentialVaultError` into its message and exit status.
    static func run(_ options: GlobalOptions, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CredentialVaultError {
            writeBytes(Array("credvault: error: \(error.message)\n".utf8), to: STDERR_FILENO)
            if options.json {
                write(JSONValue.object(["error": .object([
                    "code": .string(error.code.description),
                    "exit_status": .number(Double(error.code.exitStatus)),
                    "message": .string(error.message),
                ])]).serialized() + "\n")
            }
            throw ExitCode(error.code.exitStatus)
        }
    }

    /// The largest secret `set` accepts.
    static let maximumSecretSize = 16 * 1024 * 1024

    /// The secret for `set`: all of stdin with one trailing newline removed, or, on a
    /// terminal, one line typed without echo.
    static func readSecret(prompt: String, emptyHint: String = "pipe it on standard input (printf '%s' \"$SECRET\" | credvault set SERVICE ACCOUNT) or type it at the prompt") throws -> SecretBytes {
        var bytes: [UInt8]
        if isatty(STDIN_FILENO) == 1 {
            bytes = try readWithoutEcho(prompt: prompt)
        } else {
            bytes = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count < 0 { if errno == EINTR { continue }; throw CredentialVaultError(.dataError, "cannot read the secret from standard input: \(String(cString: strerror(errno)))") }
                if count == 0 { break }
                bytes.append(contentsOf: chunk[..<count])
                guard bytes.count <= maximumSecretSize else {
                    throw CredentialVaultError(.dataError, "the secret on standard input is larger than \(maximumSecretSize / 1024 / 1024) MiB; nothing was stored")
                }
            }
            chunk.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
            if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        }
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        guard !bytes.isEmpty else {
            throw CredentialVaultError(.dataError, "the secret is empty; \(emptyHint)")
        }
        return SecretBytes(bytes)
    }

    /// Shows `prompt` on stderr and runs `body` with terminal echo off, restoring it after.
    static func withEchoDisabled<R>(prompt: String, _ body: () throws -> R) rethrows -> R {
        writeBytes(Array(prompt.utf8), to: STDERR_FILENO)
        var saved = termios()
        let hasTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerminal {
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        }
        defer {
            if hasTerminal { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            writeBytes(Array("\n".utf8), to: STDERR_FILENO)
        }
        return try body()
    }

    /// One line typed without echo (the caller wipes it).
    static func promptWithoutEcho(_ prompt: String) -> [UInt8]? {
        (try? withEchoDisabled(prompt: prompt) { try readLine() }).flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func readWithoutEcho(prompt: String) throws -> [UInt8] {
        try withEchoDisabled(prompt: prompt) { try readLine() }
    }

    private static func readLine() throws -> [UInt8] {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(STDIN_FILENO, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
            guard line.count <= maximumSecretSize else { throw CredentialVaultError(.dataError, "the secret is too long") }
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }
}
