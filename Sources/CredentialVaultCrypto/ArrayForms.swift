import CredentialVaultCore

// The crypto API in array form, so that modules built with strict memory safety call
// libsodium without a pointer of their own. Each forwards to the pointer form beside the C call.

extension SecretBox {
    /// ``seal(_:nonce:key:)-(UnsafeRawBufferPointer,_,_)`` of an array or a slice of one.
    public static func seal(_ plaintext: some RandomAccessCollection<UInt8>, nonce: [UInt8], key: SecureBuffer) -> [UInt8] {
        withContiguousBytes(plaintext) { seal($0, nonce: nonce, key: key) }
    }

    /// ``seal(_:nonce:key:)-(UnsafeRawBufferPointer,_,_)`` of a secret, without a copy.
    public static func seal(_ plaintext: SecretBytes, nonce: [UInt8], key: SecureBuffer) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, nonce: nonce, key: key) }
    }

    /// ``seal(_:nonce:key:)-(UnsafeRawBufferPointer,_,_)`` of locked memory, without a copy.
    public static func seal(_ plaintext: SecureBuffer, nonce: [UInt8], key: SecureBuffer) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, nonce: nonce, key: key) }
    }

    /// ``open(_:nonce:key:)-(UnsafeRawBufferPointer,_,_)`` of an array or a slice of one
    /// (ciphertext is not secret).
    public static func open(_ ciphertext: some RandomAccessCollection<UInt8>, nonce: [UInt8], key: SecureBuffer) -> SecureBuffer? {
        withContiguousBytes(ciphertext) { open($0, nonce: nonce, key: key) }
    }
}

extension StoreEnvelope {
    /// ``seal(document:header:dataKey:)-(UnsafeRawBufferPointer,_,_)`` of a document in an array.
    public static func seal(document: [UInt8], header: Header, dataKey: SecureBuffer) -> [UInt8] {
        document.withUnsafeBytes { seal(document: $0, header: header, dataKey: dataKey) }
    }
}

extension KeyedHash {
    /// ``subkey(count:message:key:)-(_,UnsafeRawBufferPointer,_)`` of a message that is not secret.
    public static func subkey(count: Int, message: [UInt8], key: SecureBuffer) -> SecureBuffer {
        message.withUnsafeBytes { subkey(count: count, message: $0, key: key) }
    }
}

extension SecureBuffer {
    /// A copy of `bytes` in locked memory (the caller wipes the source when it was secret).
    public convenience init(copying bytes: some RandomAccessCollection<UInt8>) {
        let count = bytes.count
        self.init(count: count) { target in
            for (offset, byte) in bytes.enumerated() where offset < count { target[offset] = byte }
        }
    }

    /// The first `count` bytes, copied into a new buffer.
    public func prefix(_ count: Int) -> SecureBuffer {
        precondition(count >= 0 && count <= self.count)
        return withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// The bytes from `start` to the end, copied into a new buffer.
    public func suffix(from start: Int) -> SecureBuffer {
        precondition(start >= 0 && start <= count)
        return withUnsafeBytes { SecureBuffer(copying: UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    /// The bytes of `first` followed by those of `second`, in a new buffer.
    public convenience init(joining first: SecureBuffer, _ second: SecureBuffer) {
        self.init(count: first.count + second.count) { out in
            first.withUnsafeBytes { out.copyMemory(from: $0) }
            second.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[first.count...]).copyMemory(from: $0) }
        }
    }

    /// The byte at `index`.
    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count)
        return withUnsafeBytes { $0[index] }
    }

    /// The lowercase hexadecimal digits of the bytes followed by a newline, in locked memory
    /// (how a data key is written to its file).
    public func hexLine() -> SecureBuffer {
        let digits = Array("0123456789abcdef".utf8)
        return SecureBuffer(count: count * 2 + 1) { out in
            withUnsafeBytes { bytes in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            out[count * 2] = UInt8(ascii: "\n")
        }
    }

    /// A `count`-byte key from `text`: `count` raw bytes, or `2 × count` hexadecimal digits
    /// (either case) followed by any number of `\n` and `\r`; nil for anything else.
    public static func key(fromText text: SecureBuffer, count: Int) -> SecureBuffer? {
        text.withUnsafeBytes { bytes -> SecureBuffer? in
            if bytes.count == count { return SecureBuffer(copying: bytes) }
            var end = bytes.count
            while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            guard end == 2 * count else { return nil }
            func nibble(_ c: UInt8) -> UInt8? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
                default: return nil
                }
            }
            var valid = true
            let key = SecureBuffer(count: count) { out in
                for index in 0..<count {
                    guard let high = nibble(bytes[2 * index]), let low = nibble(bytes[2 * index + 1]) else { valid = false; return }
                    out[index] = high << 4 | low
                }
            }
            return valid ? key : nil
        }
    }
}

/// Calls `body` with the collection's own storage (arrays and slices have one); any other
/// collection is copied, and the copy wiped.
func withContiguousBytes<R>(_ bytes: some RandomAccessCollection<UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
    var copy = Array(bytes)
    defer { copy.wipe() }
    return copy.withUnsafeBytes(body)
}
