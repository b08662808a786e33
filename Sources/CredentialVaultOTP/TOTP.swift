import Crypto
import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), for the store's second
/// step and for apps that enrol people themselves. HMAC comes from swift-crypto.
public struct TOTP: Sendable, Equatable {
    public enum Algorithm: String, Sendable, CaseIterable { case sha1 = "SHA1", sha256 = "SHA256", sha512 = "SHA512" }

    public var secret: [UInt8]
    public var algorithm: Algorithm
    public var digits: Int
    public var period: Int

    /// RFC 4226 asks for at least 128 bits and recommends 160: the default is 20 random bytes.
    public static func generateSecret(count: Int = 20) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    public init(secret: [UInt8], algorithm: Algorithm = .sha1, digits: Int = 6, period: Int = 30) {
        self.secret = secret
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    /// The time step of `date` (T = ⌊unix time / period⌋, T0 = 0).
    public func step(at date: Date) -> UInt64 { UInt64(max(0, date.timeIntervalSince1970)) / UInt64(period) }

    /// The code for step `step` (RFC 4226 §5.3 dynamic truncation), zero-padded.
    public func code(step: UInt64) -> String {
        let counter = Data((0..<8).map { UInt8(truncatingIfNeeded: step >> (56 - 8 * $0)) })
        let key = SymmetricKey(data: secret)
        let mac: [UInt8]
        switch algorithm {
        case .sha1: mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: counter, using: key))
        case .sha256: mac = Array(HMAC<SHA256>.authenticationCode(for: counter, using: key))
        case .sha512: mac = Array(HMAC<SHA512>.authenticationCode(for: counter, using: key))
        }
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public func code(at date: Date) -> String { code(step: step(at: date)) }

    /// The step a code matches within ±`window` steps of `date`, or nil. Comparison is
    /// constant-time per candidate.
    public func match(_ code: String, at date: Date, window: Int = 1) -> UInt64? {
        let now = Int64(step(at: date))
        for delta in -window...window {
            let candidate = now + Int64(delta)
            guard candidate >= 0 else { continue }
            let expected = Array(self.code(step: UInt64(candidate)).utf8)
            let given = Array(code.utf8)
            if expected.count == given.count, zip(expected, given).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 { return UInt64(candidate) }
        }
        return nil
    }

    /// The Key URI (`otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`).
    public func uri(issuer: String, account: String) -> String {
        func escape(_ text: String) -> String {
            Hex.percentEncoded(text, keeping: Hex.unreserved)
        }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))&issuer=\(escape(issuer))"
            + "&algorithm=\(algorithm.rawValue)&digits=\(digits)&period=\(period)"
    }
}

/// RFC 4648 base32 without padding (the otpauth `secret` parameter).
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: output, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = 0, bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: "=") && character != UInt8(ascii: " ") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output
    }
}
