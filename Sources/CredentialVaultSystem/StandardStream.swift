#if canImport(Glibc)
import Glibc
#endif

/// Standard output and standard error, written whole with write(2) (retried on EINTR and
/// short writes; a closed pipe ends the write quietly).
public enum StandardStream: Sendable {
    case output, error

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes `bytes`.
    public func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue }; return }
            offset += written
        }
    }

    /// Writes the UTF-8 bytes of `text`.
    public func write(_ text: String) { write(Array(text.utf8)) }

    /// Whether the stream is a terminal (isatty).
    public var isTerminal: Bool { isatty(descriptor) == 1 }

    /// Whether standard input is a terminal (isatty).
    public static var inputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// Whether the process has a controlling terminal (`/dev/tty` opens), where a passphrase
    /// can be asked even when standard input carries the secret, as sudo, ssh and gpg do.
    public static var hasControllingTerminal: Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}
