import CredentialVaultCore
import SystemPackage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a lock file beside the store. The lock file is created once,
/// at 0600, and never unlinked (unlinking a lock file lets two processes hold "the" lock on
/// different inodes). While held it contains the holder's pid, to name it when another
/// process gives up waiting. The lock is released when the object is released.
public final class FileLock {
    private let fd: Int32

    /// Waits up to `timeout` for the lock.
    ///
    /// - Throws: `.timedOut` naming the lock file and the holder's pid; `.permissionDenied`
    ///   for a symlink, anything but a regular file, a file with another hard link, or
    ///   unsafe modes.
    public init(path: String, timeout: Duration) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0o600)
        guard fd >= 0 else {
            if errno == ELOOP { throw SecureFileSystem.symlinkError(path) }
            throw SecureFileSystem.writeError(path, errno)
        }
        do {
            // Before anything is written to it: a FIFO, a device, or a hard link to another of
            // the user's files (which the pid written below would overwrite) is refused.
            try SecureFileSystem.checkRegularFile(FileDescriptor(rawValue: fd), path: path)
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var pause = Duration.milliseconds(1)
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR else { throw SecureFileSystem.writeError(path, errno) }
                guard clock.now < deadline else {
                    let holder = FileLock.holder(fd).map { "process \($0)" } ?? "another process"
                    throw CredentialVaultError(.timedOut,
                        "gave up after \(timeout.formattedSeconds) waiting for the lock on \(path), held by \(holder); if that process is stuck, stop it and try again")
                }
                _ = usleep(useconds_t(pause.seconds * 1_000_000))
                pause = min(pause * 2, .milliseconds(20))
            }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingWhitespaceAndNewlines())
    }

    deinit {
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
