/// The bytes of one secret: binary-safe, never printed.
///
/// `description`, `debugDescription` and reflection show only the length, so a secret
/// that ends up in a log line, an error message or `print` stays out of it. The storage
/// is wiped when the last copy is released. (Keys and passphrases, which must not be
/// swapped out, use the libsodium-backed buffer of the crypto layer instead.)
public struct SecretBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let storage: Storage

    /// Wraps a copy of `bytes`.
    public init<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        storage = Storage(Array(bytes))
    }

    /// Takes `bytes` as the secret's storage (no copy); the caller keeps no other reference.
    public init(adopting bytes: [UInt8]) {
        storage = Storage(bytes)
    }

    /// The UTF-8 bytes of `text`.
    public init(utf8 text: String) {
        storage = Storage(Array(text.utf8))
    }

    /// The number of bytes.
    public var count: Int { storage.bytes.count }
    /// Whether the secret has no bytes.
    public var isEmpty: Bool { storage.bytes.isEmpty }

    /// Calls `body` with the bytes as an array (the secret's own storage, not a copy); do not
    /// keep it.
    public func withBytes<R>(_ body: ([UInt8]) throws -> R) rethrows -> R {
        try body(storage.bytes)
    }

    /// A copy of the bytes as an array. The copy is not wiped automatically: prefer ``withBytes(_:)``.
    public func copyBytes() -> [UInt8] { storage.bytes }

    /// The bytes as a string when they are valid UTF-8, else `nil`.
    public func utf8String() -> String? {
        String(validating: storage.bytes, as: UTF8.self)
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count], displayStyle: .struct) }

    /// Compares in time that depends only on the lengths.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        let a = lhs.storage.bytes, b = rhs.storage.bytes
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private final class Storage: @unchecked Sendable {
        // Written once in init, wiped once in deinit; never mutated in between.
        var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        deinit { bytes.wipe() }
    }
}

extension Array<UInt8> {
    /// Overwrites every byte with zero, in place, for arrays that held a secret on their way
    /// somewhere else (when uniquely referenced, no copy is made first). The stores are not
    /// dropped as dead: the release that follows is an opaque runtime call that may read the
    /// buffer. MemoryHygieneTests checks that no copy of a test secret survives in the heap.
    public mutating func wipe() {
        for index in indices { self[index] = 0 }
    }
}
