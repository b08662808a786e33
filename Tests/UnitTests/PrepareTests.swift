import CredentialVault
import CredentialVaultCore
import Foundation
import Testing
import CredentialVaultTestSupport

/// The selector lets the backend it will probe first start early (the keyring's connection
/// overlapping the CLI's start-up), and only that one: not a keyring the home or an explicit
/// choice passes over.
@Suite("backend preparation", .serialized)
struct PrepareTests {
    /// Which prepare() ran, by backend name.
    static let prepared = PreparedNames()

    final class PreparedNames: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        func add(_ name: String) { lock.withLock { names.append(name) } }
        func take() -> [String] { lock.withLock { defer { names = [] }; return names } }
    }

    protocol Recording: CredentialBackend {}

    struct Keyring: Recording {
        static let name = "keyring"
        static let priority = 100
        static let protection = StorageProtection.keyring
        init(context: BackendContext) {}
    }

    struct Plain: Recording {
        static let name = "plain"
        static let priority = 10
        static let protection = StorageProtection.plaintextFile
        init(context: BackendContext) {}
    }

    func selector(_ directory: String, _ environment: [String: String] = [:], backend: String? = nil) throws -> VaultSelector {
        var registry = BackendRegistry()
        registry.register(Keyring.self)
        registry.register(Plain.self)
        registry.homeStore = BackendRegistry.standard.homeStore
        return try VaultSelector(app: .credvault, registry: registry,
                                 options: VaultOptions(backend: backend, environment: ["CREDVAULT_HOME": directory].merging(environment) { $1 }))
    }

    @Test("prepare starts the first candidate only: the highest priority, the recorded home, or the one named")
    func firstCandidate() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let directory = root.path + "/vault"
        _ = Self.prepared.take()
        try selector(directory).prepare()
        #expect(Self.prepared.take() == ["keyring"], "no home yet: the keyring is probed first")
        try selector(directory, backend: "plain").prepare()
        #expect(Self.prepared.take() == ["plain"])
        try selector(directory, ["CREDVAULT_BACKEND": "plain"]).prepare()
        #expect(Self.prepared.take() == ["plain"])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: directory + "/home", contents: Data("file\n".utf8), attributes: [.posixPermissions: 0o600])
        try selector(directory).prepare()
        #expect(Self.prepared.take() == ["plain"], "the home is the file store: the keyring is not touched")
        try "keyring\n".write(toFile: directory + "/home", atomically: false, encoding: .utf8)
        try selector(directory).prepare()
        #expect(Self.prepared.take() == ["keyring"])
    }
}

extension PrepareTests.Recording {
    static func prepare(context: BackendContext) { PrepareTests.prepared.add(name) }
    func probe(timeout: Duration) async -> BackendAvailability { .available }
    func item(for key: CredentialKey) async throws -> CredentialItem? { nil }
    func store(_ item: CredentialItem) async throws {}
    func removeItem(for key: CredentialKey) async throws -> Bool { false }
    func summaries(service: String?) async throws -> [CredentialSummary] { [] }
}
