import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultOTP
import FileBackend
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The store's TOTP second step. Once enrolled, unlocking with the password also needs a
/// current code (±1 time step, never the same step twice) or one of 10 single-use backup
/// codes. The state lives in `credentials.mfa`, sealed under the store's data key, so it is
/// readable only after the password was right. Whether the step is required is a flag in the
/// store's header, bound into the key the password unwraps: deleting `credentials.mfa` does
/// not turn the step off, it locks the store until the file is restored. A policy gate for
/// people using the tool, not extra cryptography: whoever holds the file and the password
/// can read the secret too.
public enum SecondFactor {
    static let magic = Array("CVMFA001".utf8)
    /// The largest second-step file read: 64 KiB (one holds well under 2 KiB).
    static let maximumSize = 65_536
    public static let backupCodeCount = 10

    struct State {
        var totp: TOTP
        var lastStep: UInt64
        var backupCodes: [(salt: [UInt8], hash: [UInt8])]
    }

    static func path(_ directory: String) -> String { directory + "/credentials.mfa" }

    /// Whether a second step is enrolled for the store in `directory`.

    static func key(_ dataKey: SecureBuffer) -> SecureBuffer {
        KeyedHash.subkey(count: SecretBox.keyBytes, message: Array("credvault mfa v1".utf8), key: dataKey)
    }

    static func hash(_ code: String, salt: [UInt8]) -> [UInt8] {
        let saltKey = SecureBuffer(copying: salt)
        let digits = Array(code.filter(\.isNumber).utf8)
        return KeyedHash.subkey(count: 32, message: digits, key: saltKey).copyBytes()
    }

    static func load(directory: String, dataKey: SecureBuffer) throws -> State? {
        let file = path(directory)
        guard let bytes = try SecureFileSystem.read(file, limit: maximumSize) else { return nil }
        func corrupt() -> CredentialVaultError {
            CredentialVaultError(.dataError, "\(file) is not a second-step file of this store (modified, or from another store); it was left unchanged")
        }
        guard bytes.count > 8 + SecretBox.nonceBytes + SecretBox.macBytes, Array(bytes[0..<8]) == magic else { throw corrupt() }
        let nonce = Array(bytes[8..<32])
        guard let plain = SecretBox.open(bytes[32...], nonce: nonce, key: key(dataKey)),
              let json = try? JSONParser.parse(plain.copyBytes()),
              json["version"]?.numberValue == 1, let secret = json["secret"]?.stringValue.flatMap(Base32.decode),
              let algorithm = json["algorithm"]?.stringValue.flatMap(TOTP.Algorithm.init(rawValue:)),
              let digits = json["digits"]?.numberValue, (6...10).contains(digits), digits.rounded() == digits,
              let period = json["period"]?.numberValue, (1...3600).contains(period), period.rounded() == period,
              let lastStep = json["last_step"]?.numberValue, lastStep >= 0, lastStep < 9e15, lastStep.rounded() == lastStep
        else { throw corrupt() }
        let codes = (json["backup_codes"]?.arrayValue ?? []).compactMap { entry -> (salt: [UInt8], hash: [UInt8])? in
            guard let salt = entry["salt"]?.stringValue.flatMap(Base64.decode),
                  let hash = entry["hash"]?.stringValue.flatMap(Base64.decode) else { return nil }
            return (salt, hash)
        }
        return State(totp: TOTP(secret: secret, algorithm: algorithm, digits: Int(digits), period: Int(period)),
                     lastStep: UInt64(lastStep), backupCodes: codes)
    }

    static func save(_ state: State, directory: String, dataKey: SecureBuffer) throws {
        let json = JSONValue.object([
            "version": .number(1), "secret": .string(Base32.encode(state.totp.secret)),
            "algorithm": .string(state.totp.algorithm.rawValue), "digits": .number(Double(state.totp.digits)),
            "period": .number(Double(state.totp.period)), "last_step": .number(Double(state.lastStep)),
            "backup_codes": .array(state.backupCodes.map {
                .object(["salt": .string(Base64.encode($0.salt)), "hash": .string(Base64.encode($0.hash))])
            }),
        ]).serializedBytes()
        let nonce = randomBytes(count: SecretBox.nonceBytes)
        let sealed = SecretBox.seal(json, nonce: nonce, key: key(dataKey))
        try SecureFileSystem.replaceAtomically(path(directory), with: magic + nonce + sealed)
    }

    /// The code to check: `<APP>_MFA_CODE` (what `--code` sets), else a no-echo prompt.
    static func code(context: BackendContext?, store: String) throws -> String {
        if let context, let code = context.environment[context.app.variable("MFA_CODE")], !code.isEmpty { return code }
        if let prompt = context?.passphrasePrompt, let bytes = try prompt("Authentication code for \(store) (or a backup code): ") {
            return String(decoding: bytes, as: UTF8.self).trimmingBlanks()
        }
        throw CredentialVaultError(.permissionDenied,
            "\(store) also needs an authentication code (TOTP, or a backup code): give --code CODE, or run on a terminal to be asked")
    }

    /// Checks a current code or a backup code and records its use (the step, or the spent
    /// backup code), under `credentials.mfa.lock`. Does nothing when `header` does not
    /// require a second step.
    ///
    /// - Throws: `.permissionDenied` (77) for a wrong, stale or replayed code, and when the
    ///   header requires the step but `credentials.mfa` is missing.
    public static func verify(directory: String, header: StoreEnvelope.Header, dataKey: SecureBuffer, context: BackendContext?,
                              now: Date = Date()) throws {
        guard header.requiresSecondStep else { return }
        let store = directory + "/" + FileBackend.encryptedFileName
        guard SecureFileSystem.entry(path(directory)) != nil else {
            throw CredentialVaultError(.permissionDenied,
                "\(store) requires a second step (its header says so, under the password), but \(path(directory)) is missing; nothing was read or written. Restore that file from the backup you keep with the store: the password alone does not open it")
        }
        let given = try code(context: context, store: store)
        let lock = try FileLock(path: path(directory) + ".lock", timeout: .seconds(10))
        defer { withExtendedLifetime(lock) {} }
        guard var state = try load(directory: directory, dataKey: dataKey) else {
            throw CredentialVaultError(.permissionDenied, "\(path(directory)) disappeared while the code was checked; restore it and try again")
        }
        let compact = given.replacing("-", with: "").replacing(" ", with: "")
        if compact.count == state.totp.digits {
            guard let step = state.totp.match(compact, at: now) else {
                throw CredentialVaultError(.permissionDenied, "wrong or expired authentication code for \(store); nothing was written")
            }
            guard step > state.lastStep else {
                throw CredentialVaultError(.permissionDenied,
                    "that authentication code was already used; wait for the next one, or run `\((context?.app ?? .credvault).commandName) unlock --code CODE` once so the next commands need no code for a while")
            }
            state.lastStep = step
        } else if let index = state.backupCodes.firstIndex(where: { hash(compact, salt: $0.salt) == $0.hash }) {
            state.backupCodes.remove(at: index)
        } else {
            throw CredentialVaultError(.permissionDenied, "wrong authentication code or backup code for \(store); nothing was written")
        }
        try save(state, directory: directory, dataKey: dataKey)
    }

    /// Enrolment: a new 160-bit secret to show (URI, QR). Nothing is stored yet.
    public static func begin() -> TOTP { TOTP(secret: TOTP.generateSecret(count: 20)) }

    /// Completes enrolment when `code` is valid for `totp` now: writes `credentials.mfa`,
    /// then sets the store header's flag (rewrapping the data key under `passphrase`), so
    /// the step is required from then on. Returns the 10 backup codes, to show once (only
    /// salted hashes are stored).
    ///
    /// - Throws: `.permissionDenied` (77) for a code that does not match or a wrong password;
    ///   then nothing is required.
    public static func enrol(_ totp: TOTP, code: String, directory: String, passphrase: SecureBuffer, lockTimeout: Duration,
                             now: Date = Date()) throws -> [String] {
        var codes: [String] = []
        try PasswordProtection.rewrap(directory: directory, passphrase: passphrase, requiringSecondStep: true, lockTimeout: lockTimeout) { dataKey in
            codes = try complete(totp, code: code, directory: directory, dataKey: dataKey, now: now)
        }
        return codes
    }

    /// Removes the second step after a valid code: clears the header's flag (rewrapping the
    /// data key under `passphrase`), then removes `credentials.mfa`.
    ///
    /// - Throws: `.permissionDenied` (77) for a wrong password or code; nothing changes.
    public static func remove(directory: String, passphrase: SecureBuffer, lockTimeout: Duration, context: BackendContext?) throws {
        try PasswordProtection.rewrap(directory: directory, passphrase: passphrase, requiringSecondStep: false, lockTimeout: lockTimeout,
                                      context: context) { _ in }
        try removeFile(directory: directory)
    }

    static func complete(_ totp: TOTP, code: String, directory: String, dataKey: SecureBuffer, now: Date) throws -> [String] {
        guard let step = totp.match(code.trimmingBlanks(), at: now) else {
            throw CredentialVaultError(.permissionDenied, "that code does not match the new secret; check the device's clock and enrol again")
        }
        var generator = SystemRandomNumberGenerator()
        let codes = (0..<backupCodeCount).map { _ in
            let digits = (0..<10).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            return String(digits.prefix(5)) + "-" + String(digits.suffix(5))
        }
        let hashed = codes.map { code -> (salt: [UInt8], hash: [UInt8]) in
            let salt = randomBytes(count: 16)
            return (salt, hash(code, salt: salt))
        }
        try save(State(totp: totp, lastStep: step, backupCodes: hashed), directory: directory, dataKey: dataKey)
        return codes
    }

    /// Removes the second step after a valid code.
    static func removeFile(directory: String) throws {
        try SecureFileSystem.remove(path(directory))
        SecureFileSystem.syncDirectory(directory)
    }
}
