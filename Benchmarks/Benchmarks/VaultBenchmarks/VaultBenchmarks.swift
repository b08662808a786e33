// Library-level benchmarks: get, set and list at 10, 1,000 and 10,000 items per backend
// (memory, file, encrypted-file; the Secret Service up to 1,000 items when a session bus
// is present), sealing and opening, bundle export and import. Run with bench/library.
import Benchmark
import CredentialVault
import Foundation

/// Vaults filled once per backend and size, reused across benchmarks.
actor Fixtures {
    static let shared = Fixtures()
    private var vaults: [String: CredentialVault] = [:]
    private let root = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-bench-\(getpid())").path

    static func items(_ count: Int) -> [CredentialItem] {
        (0..<count).map { index in
            CredentialItem(key: try! CredentialKey(service: "service-\(index % 50)", account: "account-\(index)"),
                           secret: SecretBytes(utf8: "secret-\(index)-0123456789abcdef"))
        }
    }

    func vault(_ backend: String, items count: Int) async throws -> CredentialVault {
        let name = "\(backend)-\(count)"
        if let vault = vaults[name] { return vault }
        let directory = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var environment = ProcessInfo.processInfo.environment
        environment["BENCH_HOME"] = directory
        let passphraseFile = "\(root)/passphrase"
        if !FileManager.default.fileExists(atPath: passphraseFile) {
            FileManager.default.createFile(atPath: passphraseFile, contents: Data("benchmark passphrase\n".utf8), attributes: [.posixPermissions: 0o600])
        }
        environment["BENCH_PASSPHRASE_FILE"] = passphraseFile
        var options = VaultOptions(backend: backend == "encrypted-file" ? "file" : backend, environment: environment)
        options.plaintextFallbackNotice = { _ in }
        options.probeTimeout = .seconds(10)
        var vault = try await CredentialVault.open(app: "bench", options: options)
        if backend == "secret-service" {
            // Only the benchmark's own items: remove leftovers of an earlier run.
            for summary in try await vault.list() { _ = try await vault.backend.removeItem(for: summary.key) }
        }
        try await vault.importItems(Self.items(count), policy: .overwrite)
        if backend == "encrypted-file" {
            try PasswordProtection.enable(directory: directory, passphrase: SecureBuffer(SecretBytes(utf8: "benchmark passphrase")),
                                          kdf: .interactive, lockTimeout: .seconds(10))
            options.backend = "encrypted-file"
            vault = try await CredentialVault.open(app: "bench", options: options)
            _ = try await vault.secret(service: "service-7", account: "account-7") // unlock once (Argon2id), as a warm process would
        }
        vaults[name] = vault
        return vault
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
                                           maxDuration: .seconds(2), maxIterations: 500)
    var backends = ["memory", "file", "encrypted-file"]
    if ProcessInfo.processInfo.environment["DBUS_SESSION_BUS_ADDRESS"] != nil { backends.append("secret-service") }
    for backend in backends {
        for count in [10, 1000, 10000] where !(backend == "secret-service" && count > 1000) {
            Benchmark("get \(backend) @\(count)") { benchmark in
                let vault = try await Fixtures.shared.vault(backend, items: count)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try await vault.secret(service: "service-7", account: "account-7"))
                }
            }
            Benchmark("set \(backend) @\(count)") { benchmark in
                let vault = try await Fixtures.shared.vault(backend, items: count)
                let secret = SecretBytes(utf8: "new-value-0123456789")
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    try await vault.store(secret, service: "service-7", account: "account-7")
                }
            }
            Benchmark("list \(backend) @\(count)") { benchmark in
                let vault = try await Fixtures.shared.vault(backend, items: count)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try await vault.list())
                }
            }
        }
    }
    Benchmark("seal+open 32 bytes (file vault)") { benchmark in
        let vault = try await Fixtures.shared.vault("file", items: 10)
        let key = try CredentialKey(service: "sealed", account: "a")
        let value = SecretBytes([UInt8](repeating: 7, count: 32))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await vault.openSealed(try await vault.seal(value, for: key), for: key))
        }
    }
    let bundleItems = Fixtures.items(1000)
    let passphrase = SecureBuffer(SecretBytes(utf8: "benchmark bundle passphrase"))
    Benchmark("export bundle, 1,000 items (Argon2id interactive)", configuration: .init(maxDuration: .seconds(5), maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CredentialBundle.seal(bundleItems, passphrase: passphrase,
                                                opsLimit: KDFProfile.interactive.opsLimit, memLimit: KDFProfile.interactive.memLimit))
        }
    }
    Benchmark("import bundle, 1,000 items (Argon2id interactive)", configuration: .init(maxDuration: .seconds(5), maxIterations: 20)) { benchmark in
        let bundle = try CredentialBundle.seal(bundleItems, passphrase: passphrase,
                                               opsLimit: KDFProfile.interactive.opsLimit, memLimit: KDFProfile.interactive.memLimit)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try CredentialBundle.open(bundle, passphrase: passphrase).items.count)
        }
    }
}
