import CredentialVaultCrypto
import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The few file-system operations the file backend needs, each checking ownership and
/// modes the way ssh does, and each failing with a message that names the path and the
/// command that fixes it. All raw system calls of the backend are here.
package enum SecureFileSystem {
    /// Creates `directory` (and its parent, such as `~/.config`, when that is missing) if
    /// needed, the last component at mode 0700, then checks it and its ancestors
    /// (``checkDirectory(_:)``). Nothing further up is created: with `HOME=/nonexistent`
    /// the run is refused rather than making `/nonexistent`. The mode is set on the
    /// directory just made, through a descriptor opened without following a link: a link put
    /// in its place by whoever owns the parent is never followed.
    package static func ensureDirectory(_ directory: String) throws {
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard errno == ENOENT else { throw statError(directory, errno) }
            try checkAncestors(of: directory)
            let parent = FilePaths.directory(of: directory)
            if !parent.isEmpty, parent != directory, stat(parent, &info) != 0 {
                let grandparent = FilePaths.directory(of: parent)
                guard stat(grandparent, &info) == 0 else {
                    throw CredentialVaultError(.cannotWrite,
                        "cannot create \(directory): \(grandparent) does not exist (is HOME right?); nothing was created. Create it, or set the app's <APP>_HOME variable (such as CREDVAULT_HOME) to an existing directory")
                }
                guard mkdir(parent, 0o700) == 0 || errno == EEXIST else {
                    throw CredentialVaultError(.cannotWrite,
                        "cannot create directory \(parent): \(String(cString: strerror(errno))); check that its parent is writable")
                }
            }
            if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw CredentialVaultError(.cannotWrite,
                    "cannot create directory \(directory): \(String(cString: strerror(errno))); check that its parent is writable")
            }
            // umask may have removed bits; this never adds any, and never acts through a link.
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                _ = fchmod(fd, 0o700)
                close(fd)
            }
        }
        try checkDirectory(directory)
    }

    /// Refuses a directory that is not a directory, is owned by another user or is open to
    /// group or others, and one with an ancestor another user could change
    /// (``checkAncestors(of:)``).
    package static func checkDirectory(_ directory: String) throws {
        var info = stat()
        guard stat(directory, &info) == 0 else { throw statError(directory, errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw CredentialVaultError(.permissionDenied, "\(directory) is not a directory; move it aside so credvault can create its directory")
        }
        try checkOwnerAndMode(path: directory, info: info, allowed: 0o700, fix: "chmod 700")
        try checkAncestors(of: directory)
    }

    /// Refuses `directory` (which need not exist yet) when another user could replace it or
    /// what is in it: every directory above it must be owned by you or root and not be
    /// writable by group or others unless its sticky bit is set (as `/tmp`'s is). This is
    /// the rule ssh applies to `~/.ssh`. When `directory` is a symbolic link, the directories
    /// above its target are held to the same rule.
    ///
    /// - Throws: `.permissionDenied` (77) naming the directory and the command that fixes it.
    package static func checkAncestors(of directory: String) throws {
        try checkChain(above: directory, for: directory)
        var info = stat()
        if lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let target = resolved(directory) {
            try checkChain(above: target, for: directory)
        }
    }

    /// `path` with every link resolved (realpath(3)), or nil when it cannot be.
    private static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }

    /// Checks the directories above `path`, from the nearest that exists (links resolved) up to `/`.
    private static func checkChain(above path: String, for directory: String) throws {
        var current = FilePaths.directory(of: path)
        while resolved(current) == nil {
            let parent = FilePaths.directory(of: current)
            guard parent != current else { return }
            current = parent
        }
        guard var current = resolved(current) else { return }
        let user = geteuid()
        while true {
            var info = stat()
            guard stat(current, &info) == 0 else { throw statError(current, errno) }
            let mode = info.st_mode & 0o7777
            if info.st_uid != 0, info.st_uid != user {
                throw CredentialVaultError(.permissionDenied,
                    "\(current) is owned by uid \(info.st_uid), neither you nor root, so that user could replace \(directory) and what credvault reads there; nothing was read or written. Keep the app directory under directories only you and root own (set the app's HOME variable)")
            }
            if mode & 0o022 != 0, mode & S_ISVTX == 0 {
                throw CredentialVaultError(.permissionDenied,
                    "\(current) has mode \(String(mode, radix: 8)): other users can write to it, so they could replace \(directory) and what credvault reads there; nothing was read or written. Run: chmod go-w '\(current)', or keep the app directory elsewhere")
            }
            if current == "/" { return }
            current = FilePaths.directory(of: current)
        }
    }

    /// Refuses a file owned by another user or with group/other permission bits.
    package static func checkOwnerAndMode(path: String, info: stat, allowed: mode_t, fix: String) throws {
        let uid = geteuid()
        guard info.st_uid == uid else {
            let user = userName(uid) ?? String(uid)
            throw CredentialVaultError(.permissionDenied,
                "\(path) is owned by uid \(info.st_uid), not by you (\(user)); nothing was read or written. If it is yours, run: chown \(user) '\(path)'")
        }
        let mode = info.st_mode & 0o7777
        guard mode & ~allowed == 0 else {
            throw CredentialVaultError(.permissionDenied,
                "\(path) has mode \(String(mode, radix: 8)), which lets other users in; nothing was read or written. Run: \(fix) '\(path)'")
        }
    }

    /// What a file must be before credvault reads it.
    package enum FileRule: Sendable {
        /// Secrets and the stores: yours, mode 0600 or stricter, one link.
        case secret
        /// Settings (`config`): yours, not writable by group or others, one link.
        case settings
        /// A file whose contents prove themselves (an encrypted bundle: authenticated with
        /// the passphrase), named by the user: any owner and mode; links are followed.
        case authenticated
    }

    /// Opens an existing regular file for reading without following a symlink (and without
    /// blocking on a FIFO), and checks what `fstat` says of it against `rule`.
    /// Returns `nil` when the file does not exist.
    ///
    /// - Throws: `.permissionDenied` (77) for a link, a file that is not regular, another
    ///   user's file, modes open to others, or a file with another hard link, each naming
    ///   the fix; nothing is read.
    package static func openForReading(_ path: String, rule: FileRule = .secret) throws -> FileDescriptor? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (rule == .authenticated ? 0 : O_NOFOLLOW))
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw symlinkError(path) }
            if code == EACCES { throw CredentialVaultError(.permissionDenied, "cannot read \(path): permission denied; check its owner and mode (ls -l '\(path)')") }
            throw CredentialVaultError(.internal, "cannot open \(path): \(String(cString: strerror(code)))")
        }
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            try checkRegularFile(descriptor, path: path, rule: rule)
            return descriptor
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    /// Refuses what `fstat` says of `descriptor` unless it is a regular file that `rule` allows.
    package static func checkRegularFile(_ descriptor: FileDescriptor, path: String, rule: FileRule = .secret) throws {
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else { throw statError(path, errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CredentialVaultError(.permissionDenied, "\(path) is not a regular file; nothing was read. Move it aside and put a regular file there")
        }
        switch rule {
        case .secret: try checkOwnerAndMode(path: path, info: info, allowed: 0o600, fix: "chmod 600")
        case .settings: try checkOwnerAndMode(path: path, info: info, allowed: 0o644, fix: "chmod go-w")
        case .authenticated: return
        }
        // 0 links: a writer renamed a new file over this one after it was opened; the
        // descriptor still reads the old, whole file (the atomic-replace contract).
        guard info.st_nlink <= 1 else {
            throw CredentialVaultError(.permissionDenied,
                "\(path) has \(info.st_nlink) hard links: what credvault deletes from it would survive in the other names, and whoever controls them controls this file; nothing was read or written. Make it a file of its own: cp -p '\(path)' '\(path).new' && mv '\(path).new' '\(path)'")
        }
    }

    /// Opens `path` with ``openForReading(_:rule:)`` and reads it whole
    /// (``readAll(_:path:limit:)``); `nil` when it does not exist.
    package static func read(_ path: String, rule: FileRule = .secret, limit: Int) throws -> [UInt8]? {
        guard let descriptor = try openForReading(path, rule: rule) else { return nil }
        defer { try? descriptor.close() }
        return try readAll(descriptor, path: path, limit: limit)
    }

    /// The size `fstat` reports for an open file.
    package static func size(of descriptor: FileDescriptor, path: String) throws -> Int {
        var info = stat()
        guard fstat(descriptor.rawValue, &info) == 0 else { throw statError(path, errno) }
        return Int(info.st_size)
    }

    /// Reads the whole file. A file larger than `limit` bytes is refused from its `fstat`
    /// size before anything is read (exit 65), in bounded time and memory; one that grows
    /// past `limit` while it is read is refused too.
    package static func readAll(_ descriptor: FileDescriptor, path: String, limit: Int) throws -> [UInt8] {
        func failure(_ error: any Error) -> CredentialVaultError {
            CredentialVaultError(.internal, "cannot read \(path): \(error)", cause: error)
        }
        // Sized from fstat, one byte over so the read that sees end-of-file needs no room: the
        // bytes land once, with no reallocation leaving a copy of them in freed memory.
        var info = stat()
        let size = fstat(descriptor.rawValue, &info) == 0 && info.st_size > 0 ? Int(info.st_size) : 0
        if size > limit {
            throw CredentialVaultError(.dataError, "\(path) is \(size) bytes, more than the \(limit) bytes such a file may hold; nothing was read. Move it aside")
        }
        var result = try [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, count in
            while count < buffer.count {
                let read: Int
                do {
                    read = try descriptor.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[count...])), retryOnInterrupt: true)
                } catch {
                    throw failure(error)
                }
                if read == 0 { return }
                count += read
            }
        }
        guard result.count == size + 1 else { return result }
        if result.count > limit {
            throw CredentialVaultError(.dataError, "\(path) grew past the \(limit) bytes such a file may hold while it was read; nothing was used. Move it aside")
        }
        // The file grew while it was read: take the rest in chunks.
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0, retryOnInterrupt: true) }
            } catch {
                throw failure(error)
            }
            if count == 0 { return result }
            result.append(contentsOf: chunk[..<count])
            if result.count > limit {
                result.wipe()
                throw CredentialVaultError(.dataError, "\(path) grew past the \(limit) bytes such a file may hold while it was read; nothing was used. Move it aside")
            }
        }
    }

    /// Writes `bytes` to `path` atomically (see ``writeAtomically(_:replacing:_:)``), replacing it.
    package static func replaceAtomically(_ path: String, with bytes: [UInt8]) throws {
        try writeAtomically(path, replacing: true) { descriptor in
            _ = try bytes.withUnsafeBytes { try descriptor.writeAll($0) }
        }
    }

    /// Writes `bytes` to `path` atomically (see ``writeAtomically(_:replacing:_:)``); an existing
    /// `path` is replaced only when `replacing`.
    package static func writeAtomically(_ path: String, replacing: Bool, contents bytes: [UInt8]) throws {
        try writeAtomically(path, replacing: replacing) { descriptor in
            _ = try bytes.withUnsafeBytes { try descriptor.writeAll($0) }
        }
    }

    /// The one atomic write: `fill` writes the contents to a new temporary file beside `path`
    /// (created `O_EXCL` at 0600 under an unpredictable name), which is flushed (`fsync`) and
    /// then renamed over `path` (or, when `replacing` is false, linked to `path`, which fails if
    /// it exists) before the directory is flushed. `path` is the old file or the new one, never
    /// a mix; on failure the temporary file is removed and `path` is untouched.
    ///
    /// - Throws: `.cannotWrite` (73) naming `path`, with the advice that fits the error (and,
    ///   for an existing file when not `replacing`, "choose another name or add --force").
    package static func writeAtomically(_ path: String, replacing: Bool, _ fill: (FileDescriptor) throws -> Void) throws {
        let directory = FilePaths.directory(of: path)
        let name = FilePaths.lastComponent(of: path)
        let temporary = "\(directory)/.\(name).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw writeError(path, errno) }
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            do {
                try fill(descriptor)
            } catch let error as Errno {
                throw writeError(path, error.rawValue)
            }
            guard fchmod(fd, 0o600) == 0, fsync(fd) == 0 else { throw writeError(path, errno) }
            try descriptor.close()
        } catch {
            try? descriptor.close()
            unlink(temporary)
            throw error
        }
        // link(2) fails when `path` exists: no clobbering unless replacing.
        let result = replacing ? rename(temporary, path) : link(temporary, path)
        let code = errno
        if result != 0 || !replacing { unlink(temporary) }
        guard result == 0 else {
            if code == EEXIST {
                throw CredentialVaultError(.cannotWrite, "\(path) already exists; nothing was written. Choose another name or add --force")
            }
            throw writeError(path, code)
        }
        syncDirectory(directory)
    }

    /// Flushes a directory's entries (fsync on the directory).
    package static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Removes temporary files a killed writer left behind. Call only while holding the lock.
    package static func removeStaleTemporaries(directory: String, name: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in names where entry.hasPrefix(".\(name).") && entry.hasSuffix(".tmp") {
            unlink("\(directory)/\(entry)")
        }
    }

    package static func writeError(_ path: String, _ code: Int32) -> CredentialVaultError {
        let reason = String(cString: strerror(code))
        let advice: String
        switch code {
        case ENOSPC, EDQUOT: advice = "free some space on that file system and try again"
        case EROFS: advice = "the file system is read-only; remount it read-write or set the app's HOME variable to a writable directory"
        case EACCES, EPERM: advice = "check that you can write to its directory"
        default: advice = "check the file system"
        }
        return CredentialVaultError(.cannotWrite, "cannot write \(path): \(reason); \(advice). The previous contents are intact")
    }

    package static func symlinkError(_ path: String) -> CredentialVaultError {
        CredentialVaultError(.permissionDenied,
            "\(path) is a symbolic link, which credvault refuses to follow; nothing was read or written. Replace it with the real file: mv \"$(readlink -f '\(path)')\" '\(path)'")
    }

    package static func statError(_ path: String, _ code: Int32) -> CredentialVaultError {
        if code == EACCES {
            return CredentialVaultError(.permissionDenied, "cannot examine \(path): permission denied; check the modes of its parent directories")
        }
        return CredentialVaultError(.internal, "cannot examine \(path): \(String(cString: strerror(code)))")
    }

    /// Whether something exists at `path` (access(2) with F_OK; a dangling link counts as absent).
    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether this process may write to `path` (access(2) with W_OK).
    package static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    /// What lstat(2) says of `path`, or nil when there is nothing there.
    package static func entry(_ path: String) -> (mode: mode_t, owner: uid_t, isLink: Bool)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_mode & 0o7777, info.st_uid, info.st_mode & S_IFMT == S_IFLNK)
    }

    /// What identifies one version of the file at `path` (lstat(2): device, inode, size and
    /// modification time in nanoseconds), to tell whether it changed since it was read; nil
    /// when there is nothing there. An atomic rename gives a new inode.
    package static func stamp(_ path: String) -> [Int64]? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return [Int64(info.st_dev), Int64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
    }

    /// This process's effective user id.
    package static var currentUser: uid_t { geteuid() }

    package static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}

extension SecureFileSystem {
    /// Removes the directory entry `path` (unlink(2)); a missing entry is not an error.
    ///
    /// - Throws: `CredentialVaultError` naming the path when it exists and cannot be removed.
    package static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw writeError(path, errno) }
    }

    /// Overwrites the regular file `path` with zeros, flushes, and removes it (best effort:
    /// copy-on-write file systems and SSDs may keep the old blocks; see SECURITY.md). A link
    /// or anything but a regular file is not written to.
    package static func shred(_ path: String) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            let zeros = [UInt8](repeating: 0, count: 65536)
            var remaining = Int(info.st_size)
            while remaining > 0 {
                let written = zeros.withUnsafeBytes { write(fd, $0.baseAddress, min(remaining, $0.count)) }
                if written <= 0 { break }
                remaining -= written
            }
            fsync(fd)
        }
        close(fd)
        unlink(path)
        syncDirectory(FilePaths.directory(of: path))
    }
}

extension FileDescriptor {
    /// Writes every byte of `buffer` (locked memory) without copying it out.
    public func writeAll(_ buffer: SecureBuffer) throws {
        _ = try buffer.withUnsafeBytes { try writeAll($0) }
    }
}
