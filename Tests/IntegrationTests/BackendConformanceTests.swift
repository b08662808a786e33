import CredentialVault
import FileBackend
import Foundation
import MemoryBackend
import SecretServiceBackend
import Testing
import CredentialVaultTestSupport

/// The conformance suite every backend must pass: Memory, File, the password-protected file
/// store and the real Secret Service (gnome-keyring-daemon on a private bus). A third-party
/// backend can copy these checks.
@Suite("Backend conformance")
struct BackendConformanceTests {
    static let backends = TestBackends.names

    /// A service name no other test uses.
    func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8))" }

    @Test("round trip keeps secret, label and attributes", arguments: backends)
    func roundTrip(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        #expect(await backend.probe(timeout: .seconds(5)) == .available)
        let key = try CredentialKey(service: unique("roundtrip"), account: "alice")
        let item = CredentialItem(key: key, label: "Alice's token", attributes: ["scope": "read write"], secret: SecretBytes(utf8: "s3cr3t"))
        try await backend.store(item)
        let read = try #require(try await backend.item(for: key))
        #expect(read.secret == SecretBytes(utf8: "s3cr3t"))
        #expect(read.label == "Alice's token")
        #expect(read.attributes == ["scope": "read write"])
        #expect(read.key == key)
    }

    @Test("a second store replaces the first", arguments: backends)
    func overwrite(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        let key = try CredentialKey(service: unique("overwrite"), account: "bob")
        try await backend.store(CredentialItem(key: key, secret: SecretBytes(utf8: "first")))
        try await backend.store(CredentialItem(key: key, label: "second label", secret: SecretBytes(utf8: "second")))
        #expect(try await backend.item(for: key)?.secret == SecretBytes(utf8: "second"))
        let listed = try await backend.summaries(service: key.service)
        #expect(listed.map(\.key) == [key])
        #expect(listed.first?.label == "second label")
    }

    @Test("delete removes the item and reports whether there was one", arguments: backends)
    func delete(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        let key = try CredentialKey(service: unique("delete"), account: "carol")
        let other = try CredentialKey(service: key.service, account: "dave")
        try await backend.store(CredentialItem(key: key, secret: SecretBytes(utf8: "x")))
        try await backend.store(CredentialItem(key: other, secret: SecretBytes(utf8: "y")))
        #expect(try await backend.removeItem(for: key))
        #expect(try await backend.item(for: key) == nil)
        #expect(try await backend.removeItem(for: key) == false)
        #expect(try await backend.item(for: other)?.secret == SecretBytes(utf8: "y"), "deleting one account must not touch another")
    }

    @Test("list filters by service, is sorted, and carries no secrets", arguments: backends)
    func list(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        let first = unique("list-a"), second = unique("list-b")
        for (service, account) in [(first, "zed"), (first, "amy"), (second, "kim")] {
            try await backend.store(CredentialItem(key: try CredentialKey(service: service, account: account), secret: SecretBytes(utf8: "p")))
        }
        let listed = try await backend.summaries(service: first)
        #expect(listed.map(\.key.account) == ["amy", "zed"])
        let all = try await backend.summaries(service: nil).map(\.key)
        #expect(all.contains(try CredentialKey(service: second, account: "kim")))
        #expect(all.filter { $0.service == first || $0.service == second }.count == 3)
        #expect(all == all.sorted())
    }

    @Test("binary secrets (NUL, non-UTF-8) and a 1 MiB secret round-trip exactly", arguments: backends)
    func binarySecrets(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        let service = unique("binary")
        let binary: [UInt8] = [0x00, 0xFF, 0x00, 0x80, 0x0A, 0x0D, 0xC3, 0x28, 0x00]
        var large = [UInt8](repeating: 0, count: 1 << 20)
        for index in large.indices { large[index] = UInt8(truncatingIfNeeded: index &* 2654435761 >> 7) }
        for (account, bytes) in [("binary", binary), ("large", large)] {
            let key = try CredentialKey(service: service, account: account)
            try await backend.store(CredentialItem(key: key, secret: SecretBytes(bytes)))
            let read = try #require(try await backend.item(for: key))
            #expect(read.secret.copyBytes() == bytes, "\(account) secret changed in \(name)")
        }
    }

    @Test("unicode service and account names", arguments: backends)
    func unicodeNames(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        let key = try CredentialKey(service: unique("dienst-ü-🔑"), account: "用户 ✓ \"quoted\" \\ slash/")
        try await backend.store(CredentialItem(key: key, secret: SecretBytes(utf8: "ключ")))
        #expect(try await backend.item(for: key)?.secret.utf8String() == "ключ")
        #expect(try await backend.summaries(service: key.service).map(\.key) == [key])
    }

    @Test("a missing item is nil, not an error", arguments: backends)
    func notFound(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (backend, cleanUp) = try TestBackends.make(name); defer { cleanUp() }
        #expect(try await backend.item(for: try CredentialKey(service: unique("absent"), account: "nobody")) == nil)
        #expect(try await backend.summaries(service: unique("absent")).isEmpty)
    }
}
