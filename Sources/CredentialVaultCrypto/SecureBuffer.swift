internal import CSodium
import CredentialVaultCore

/// Bytes that must not leak: keys, passphrases, derived keys. The memory comes from
/// `sodium_malloc` (guard pages, locked against swapping where the system allows) and is
/// wiped and released by `sodium_free` when the buffer is released. It never prints its
/// contents.
public final class SecureBuffer: @unchecked Sendable, CustomStringConvertible {
    // Written only during initialisation; read-only afterwards.
    private let base: UnsafeMutableRawPointer
    /// The number of bytes.
    public let count: Int

    /// A zero-filled buffer of `count` bytes (sodium_malloc, then sodium_memzero).
    public init(count: Int) {
        Sodium.ensureInitialized()
        guard let pointer = sodium_malloc(max(count, 1)) else {
            fatalError("sodium_malloc(\(count)) failed: out of memory")
        }
        sodium_memzero(pointer, max(count, 1))
        base = pointer
        self.count = count
    }

    /// A buffer filled by `body`, which gets the writable bytes.
    public convenience init(count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.init(count: count)
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { target in
            if let source = bytes.baseAddress, bytes.count > 0 { target.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
        }
    }

    /// A copy of the bytes of `secret`.
    public convenience init(_ secret: SecretBytes) {
        let count = secret.count
        self.init(count: count)
        secret.withUnsafeBytes { source in
            if count > 0 { base.copyMemory(from: source.baseAddress!, byteCount: count) }
        }
    }

    /// `count` random bytes (randombytes_buf).
    public static func random(count: Int) -> SecureBuffer {
        SecureBuffer(count: count) { randombytes_buf($0.baseAddress!, count) }
    }

    /// Calls `body` with the bytes; do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the writable bytes, for readers that fill the buffer in steps; do not
    /// let the pointer escape.
    public func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A copy of the bytes in an ordinary array, for an API that takes one; the caller wipes it
    /// (`Array.wipe()`) when done.
    public func copyBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The number of Unicode code points, when the bytes are UTF-8 (continuation bytes are not
    /// counted), without copying them into a string.
    public var codePointCount: Int {
        withUnsafeBytes { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
    }

    /// The bytes as a string when they are valid UTF-8, else nil (for a token or key that is
    /// text; the string is an ordinary one).
    public func utf8String() -> String? {
        withUnsafeBytes { String(validating: $0, as: UTF8.self) }
    }

    /// Compares in constant time (sodium_memcmp).
    public func constantTimeEquals(_ other: SecureBuffer) -> Bool {
        count == other.count && sodium_memcmp(base, other.base, count) == 0
    }

    public var description: String { "SecureBuffer(\(count) bytes, redacted)" }

    deinit { sodium_free(base) }
}

/// Compares two byte buffers in time that depends only on their length (sodium_memcmp).
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

/// `count` random bytes that are not secret, such as salts and nonces (randombytes_buf).
public func randomBytes(count: Int) -> [UInt8] {
    Sodium.ensureInitialized()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
    return bytes
}

enum Sodium {
    /// sodium_init, once per process.
    private static let initialized: Bool = sodium_init() >= 0
    static func ensureInitialized() {
        guard initialized else { fatalError("sodium_init failed: libsodium cannot be used") }
    }
}

extension SecretBytes {
    /// A copy of the bytes of `buffer` (the copy is wiped when released, as every `SecretBytes`).
    public init(_ buffer: SecureBuffer) {
        self = buffer.withUnsafeBytes { SecretBytes($0) }
    }
}

extension SecretBytes {
    /// Calls `body` with a pointer to the bytes, for C APIs; do not let the buffer escape.
    /// (The pointer form lives here, in one of the modules allowed unsafe code; the core
    /// offers `withBytes(_:)`.)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withBytes { try $0.withUnsafeBytes(body) }
    }
}
