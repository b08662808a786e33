import CredentialVault
import CredentialVaultHelpers
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// Stores and reads a random marker through each backend and flow in this (long-lived) test
/// process, releases everything, then counts the marker's copies left in the process's
/// writable memory (/proc/self/mem). Secrets may linger in freed buffers of libraries we do not
/// control (GLib's D-Bus messages, Foundation's file reads); the counts are printed and reported
/// in SECURITY.md. Passphrases, derived keys and the data key must leave **zero** copies.
@Suite("memory hygiene", .serialized)
struct MemoryHygieneTests {
    /// A random printable marker, returned masked: its plain bytes exist only inside `plain`.
    static func marker(count: Int = 40) -> [UInt8] {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789".utf8)
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in alphabet.randomElement(using: &generator)! ^ MemoryScan.mask }
    }

    /// Runs `body` with the marker in plain, in one uniquely owned array that is wiped after.
    static func plain<R>(_ masked: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        // Raw memory, not an array: copy-on-write could leave an unwiped copy behind.
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: masked.count, alignment: 8)
        defer { explicit_bzero(bytes.baseAddress!, bytes.count); bytes.deallocate() }
        for (index, byte) in masked.enumerated() { bytes[index] = byte ^ MemoryScan.mask }
        return try body(UnsafeRawBufferPointer(bytes))
    }

    static func secret(_ masked: [UInt8]) -> SecretBytes { plain(masked) { SecretBytes($0) } }
    static func secure(_ masked: [UInt8]) -> SecureBuffer { plain(masked) { SecureBuffer(copying: $0) } }

    /// Writes the marker to a 0600 file without leaving a heap copy.
    static func writeFile(_ masked: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw HarnessError("cannot create \(path)") }
        defer { close(fd) }
        plain(masked) { _ = write(fd, $0.baseAddress, $0.count) }
    }

    func options(_ backend: String, _ environment: [String: String]) -> VaultOptions {
        var options = VaultOptions(backend: backend, environment: environment)
        options.plaintextFallbackNotice = { _ in }
        options.probeTimeout = .seconds(10)
        return options
    }

    /// Stores, reads back and deletes a marker secret through `backend`; returns the copies left.
    func secretRoundTrip(_ backend: String, environment: [String: String]) async throws -> Int {
        let masked = Self.marker()
        let scan = try MemoryScan(masked: masked)
        do {
            let vault = try await CredentialVault.open(app: "memscan", options: options(backend, environment))
            let service = "memscan-\(UUID().uuidString.prefix(8))"
            try await vault.store(Self.secret(masked), service: service, account: "a")
            let back = try await vault.secret(service: service, account: "a")
            #expect(back == Self.secret(masked))
            try await vault.delete(service: service, account: "a")
        }
        return scan.count()
    }

    func report(_ path: String, _ copies: Int) {
        print("memory scan: \(path): \(copies) cop\(copies == 1 ? "y" : "ies") of the marker left in writable memory")
    }

    @Test("secret round trips through every backend (counts reported)")
    func backends() async throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        var paths: [(String, [String: String])] = [
            ("memory", ["CREDVAULT_HOME": home.path + "/m"]),
            ("file", ["MEMSCAN_HOME": home.path + "/f"]),
        ]
        if Components.present("dbus-run-session", "gnome-keyring-daemon") {
            let harness = try SharedKeyring.harness.get()
            paths.append(("secret-service", ProcessInfo.processInfo.environment.merging(harness.environment) { $1 }))
        }
        if OpenBaoServer.present() {
            paths.append(("openbao", try OpenBaoServer.get().environment))
        }
        for (backend, environment) in paths {
            let copies = try await secretRoundTrip(backend, environment: environment)
            report("secret via \(backend)", copies)
            // Our own code paths must leave none; the keyring (GLib's D-Bus buffers) and OpenBao
            // (AsyncHTTPClient's buffers) are reported, not asserted.
            if backend == "memory" || backend == "file" { #expect(copies == 0, "\(backend): the secret lives only in SecretBytes, wiped on release") }
        }
    }

    @Test("passphrases, the derived key and the data key leave zero copies (password store, bundles, sealed values)")
    func keys() async throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let directory = home.path + "/store"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let passphrase = Self.marker(), bundlePassphrase = Self.marker()
        let passphraseFile = home.path + "/passphrase"
        try Self.writeFile(passphrase, to: passphraseFile)
        var dataKeyScan: MemoryScan?, kekScan: MemoryScan?
        let secretMarker = Self.marker()
        let secretScan = try MemoryScan(masked: secretMarker), passphraseScan = try MemoryScan(masked: passphrase)
        let bundlePassphraseScan = try MemoryScan(masked: bundlePassphrase)
        do {
            // A store with one item, then password protection (Argon2id, interactive cost).
            let environment = ["MEMSCAN_HOME": directory, "MEMSCAN_PASSPHRASE_FILE": passphraseFile]
            let plainVault = try await CredentialVault.open(app: "memscan", options: options("file", environment))
            try await plainVault.store(SecretBytes(utf8: "not the marker"), service: "s", account: "a")
            try PasswordProtection.enable(directory: directory, passphrase: Self.secure(passphrase), kdf: .interactive, lockTimeout: .seconds(10))
            // The encrypted-file backend, unlocked from the 0600 passphrase file.
            let vault = try await CredentialVault.open(app: "memscan", options: options("encrypted-file", environment))
            try await vault.store(Self.secret(secretMarker), service: "s", account: "marker")
            #expect(try await vault.secret(service: "s", account: "marker") == Self.secret(secretMarker))
            // Sealed values and an encrypted bundle with another passphrase.
            try await vault.storeSealed(SecretBytes(utf8: "sealed"), service: "s", account: "sealed")
            _ = try await vault.openSealed(service: "s", account: "sealed")
            let items = try await vault.exportItems()
            let bundle = try CredentialBundle.seal(items, passphrase: Self.secure(bundlePassphrase), opsLimit: 1, memLimit: 8 * 1024 * 1024)
            #expect(try CredentialBundle.open(bundle, passphrase: Self.secure(bundlePassphrase)).items.count == items.count)
            // The keys themselves, held only masked by the test.
            let dataKey = try PasswordProtection.dataKey(directory: directory, passphrase: Self.secure(passphrase))
            dataKeyScan = try MemoryScan(masked: dataKey.withUnsafeBytes { MemoryScan.mask($0) })
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/credentials.cvstore")))
            let kek = try StoreEnvelope.keyEncryptionKey(StoreEnvelope.Header(file: file, path: "store"), passphrase: Self.secure(passphrase))
            kekScan = try MemoryScan(masked: kek.withUnsafeBytes { MemoryScan.mask($0) })
            try await vault.delete(service: "s", account: "marker")
        }
        let secretCopies = secretScan.count()
        let counts = [("store passphrase", passphraseScan.count()),
                      ("bundle passphrase", bundlePassphraseScan.count()),
                      ("data key", try #require(dataKeyScan).count()),
                      ("derived key (Argon2id KEK)", try #require(kekScan).count())]
        for (name, copies) in counts {
            report(name, copies)
            #expect(copies == 0, "\(name): \(copies) copies left in memory")
        }
        report("secret via encrypted-file", secretCopies)
        #expect(secretCopies == 0, "encrypted-file: \(secretCopies) copies of the secret left")
    }

    @Test("git helper: the password from stdin and the sealed refresh token")
    func gitHelper() async throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let password = Self.marker(), refresh = Self.marker()
        let passwordScan = try MemoryScan(masked: password), refreshScan = try MemoryScan(masked: refresh)
        do {
            let vault = try await CredentialVault.open(app: "memscan", options: options("file", ["MEMSCAN_HOME": home.path]))
            let helper = GitCredentialHelper(vault: vault)
            // Room for everything up front: a growing array would leave freed copies of its own.
            var input: [UInt8] = []
            input.reserveCapacity(512)
            input += Array("protocol=https\nhost=mem.example\nusername=u\npassword=".utf8)
            Self.plain(password) { input += $0 }
            input += Array("\noauth_refresh_token=".utf8)
            Self.plain(refresh) { input += $0 }
            input += [0x0A]
            let request = try GitCredential.parse(input)
            input.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
            try await helper.store(request)
            let reply = try await helper.get(GitCredential(protocol: "https", host: "mem.example"))
            var out = try reply.serialized().copyBytes()
            #expect(out.count > 40)
            out.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
        }
        let passwordCopies = passwordScan.count(), refreshCopies = refreshScan.count()
        report("git password via file", passwordCopies)
        report("git refresh token (sealed) via file", refreshCopies)
        #expect(passwordCopies == 0 && refreshCopies == 0)
    }

    @Test("the scanner finds a live copy and stops counting it once it is wiped")
    func scannerWorks() throws {
        let masked = Self.marker()
        let scan = try MemoryScan(masked: masked)
        let live = Self.secure(masked)
        let first = scan.count()
        #expect(first == 1, "the SecureBuffer holds the one copy")
        _ = live.count
        var heap = Self.plain(masked) { Array($0) }
        #expect(scan.count() == 2, "a plain array is a second copy")
        heap.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
        #expect(scan.count() == 1)
        // A copy whose first 16 bytes are gone, as glibc's free() leaves a small buffer (its
        // free-list links overwrite them): still a copy, and counted as one.
        var freed = Self.plain(masked) { Array($0) }
        freed.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, MemoryScan.window) }
        #expect(scan.count() == 2, "a copy missing its first 16 bytes is found")
        freed.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
        #expect(scan.count() == 1)
        // A buffer that held a copy, freed without wiping: glibc's free() overwrites its first
        // 16 bytes (its free-list links), and the rest is still a copy.
        do {
            let freed = malloc(masked.count)!
            Self.plain(masked) { freed.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            free(freed)
        }
        #expect(scan.count() == 2, "a freed, unwiped buffer is found (allocating nothing, the scan does not reuse it)")
        withExtendedLifetime(live) {}
    }
}

/// Core dumps are off in every credvault process (RLIMIT_CORE 0, not dumpable), checked on a
/// live process that waits for its secret on stdin, and on one waiting for a passphrase.
@Suite("core dumps disabled")
struct CoreDumpTests {
    func limits(whileRunning arguments: [String], environment: [String: String]) throws -> String {
        let (child, writer) = try ChildProcess.spawnWithInput([CLI.executable] + arguments, environment: environment)
        defer { close(writer); _ = child.wait(timeout: 30) }
        var text = ""
        for _ in 0..<200 {
            text = (try? MemoryScan.readProcFile("/proc/\(child.pid)/limits")) ?? ""
            // Wait until the binary has run its start-up (the hard limit drops from the inherited one).
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") }),
               line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first == "0" { break }
            usleep(20_000)
        }
        kill(child.pid, SIGTERM)
        return text
    }

    @Test("set (holding a secret) and password export (holding a passphrase) run with no core file allowed")
    func noCoreDumps() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": home.path, "CREDVAULT_HOME": home.path + "/v", "CREDVAULT_BACKEND": "file"]
        for arguments in [["set", "svc", "acct"], ["password", "export", "--passphrase-fd", "0", "--out", home.path + "/b.cvb"]] {
            let text = try limits(whileRunning: arguments, environment: environment)
            let line = text.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? "(no line)"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.count >= 6 && fields[4] == "0" && fields[5] == "0", "\(arguments[0]): \(line)")
        }
    }
}
