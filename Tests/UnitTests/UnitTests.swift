import CredentialVault
import Foundation
import MemoryBackend
import Testing
import CredentialVaultTestSupport

@Suite("Units")
struct UnitTests {
    @Test("SecretBytes never prints its contents")
    func redaction() {
        let secret = SecretBytes(utf8: "hunter2")
        #expect(!"\(secret)".contains("hunter2"))
        #expect(!String(reflecting: secret).contains("hunter2"))
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect("\(secret)" == "SecretBytes(7 bytes, redacted)")
        let item = CredentialItem(key: try! CredentialKey(service: "s", account: "a"), secret: secret)
        #expect(!"\(item)".contains("hunter2"))
        #expect(SecretBytes(utf8: "a") != SecretBytes(utf8: "b"))
        #expect(SecretBytes([0xFF]).utf8String() == nil)
    }

    @Test("JSONParser is strict and reports line and column",
          arguments: [
            ("{\"a\": 1,}", 1, 9), ("[1, 2,]", 1, 7), ("{\"a\": 1, \"a\": 2}", 1, 10), ("\n\n  tru", 3, 3),
            ("{\"a\": 01}", 1, 7), ("\"\\x\"", 1, 3), ("[1] 2", 1, 5), ("{\"a\": \"\u{1}\"}", 1, 8),
          ])
    func strictJSON(_ text: String, _ line: Int, _ column: Int) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
        do {
            _ = try JSONParser.parse(Array(text.utf8))
        } catch {
            #expect(error.line == line, "\(text): \(error)")
            #expect(error.column == column, "\(text): \(error)")
        }
    }

    @Test("JSON round-trips strings with escapes, unicode and control characters")
    func jsonRoundTrip() throws {
        let value = JSONValue.object(["k\"ey": .array([.string("a\\b\n\u{1}\u{7f}é🔑"), .number(-12.5), .number(3), .bool(true), .null])])
        #expect(try JSONParser.parse(Array(value.serialized().utf8)) == value)
        #expect(try JSONParser.parse(Array(value.serialized(pretty: true).utf8)) == value)
        #expect(try JSONParser.parse(Array("\"\\ud83d\\udd11\"".utf8)) == .string("🔑"))
    }

    @Test("app names are validated and set the variable prefix")
    func appProfile() throws {
        #expect(try AppProfile("skill-meat").variable("HOME") == "SKILL_MEAT_HOME")
        #expect(throws: CredentialVaultError.self) { try AppProfile("Upper") }
        #expect(throws: CredentialVaultError.self) { try AppProfile("../etc") }
        #expect(throws: CredentialVaultError.self) { try AppProfile("") }
    }

    @Test("config parsing refuses unknown keys and bad values with the line")
    func configuration() throws {
        let parsed = try VaultConfiguration.parse("backend = \"file\"\nfallback = refuse\nprobe_timeout = 0.5\n", path: "c")
        #expect(parsed.backend == "file")
        #expect(parsed.plaintextFallback == .refuse)
        #expect(parsed.probeTimeout == .milliseconds(500))
        for (text, fragment) in [("fallback = maybe", "c:1"), ("\nprobe_timeout = -1", "c:2"), ("what", "expected 'key = value'")] {
            #expect { try VaultConfiguration.parse(text, path: "c") } throws: { error in
                guard let error = error as? CredentialVaultError else { return false }
                return error.code == .configuration && error.message.contains(fragment)
            }
        }
    }

    /// A backend whose probe never answers (a wedged daemon or server); the one type is all a
    /// third-party backend needs, registered with one call.
    protocol NeverAnswering: CredentialBackend {}

    /// A third-party remote store that hangs.
    struct HangingBackend: NeverAnswering {
        static let name = "hanging"
        static let priority = 500
        static let protection = StorageProtection.remote
        init(context: BackendContext) {}
    }

    /// A keyring whose daemon never answers (SIGSTOPped).
    struct HangingKeyring: NeverAnswering {
        static let name = "hanging-keyring"
        static let priority = 400
        static let protection = StorageProtection.keyring
        init(context: BackendContext) {}
    }

    struct PlaintextBackend: CredentialBackend {
        static let name = "plain"
        static let priority = 1
        static let protection = StorageProtection.plaintextFile
        let memory = MemoryBackend()
        init(context: BackendContext) {}
        func probe(timeout: Duration) async -> BackendAvailability { .available }
        func item(for key: CredentialKey) async throws -> CredentialItem? { try await memory.item(for: key) }
        func store(_ item: CredentialItem) async throws { try await memory.store(item) }
        func removeItem(for key: CredentialKey) async throws -> Bool { try await memory.removeItem(for: key) }
        func summaries(service: String?) async throws -> [CredentialSummary] { try await memory.summaries(service: service) }
    }

    func options(_ environment: [String: String] = [:]) -> VaultOptions {
        var options = VaultOptions(environment: ["CREDVAULT_HOME": "/nonexistent/credvault-unit"].merging(environment) { $1 })
        // Long enough for an instant probe to be scheduled while other suites keep the
        // cooperative threads busy; the hanging probe is still cut off at this deadline.
        options.probeTimeout = .seconds(3)
        return options
    }

    @Test("selection records every candidate, gives up on a hung probe at the deadline, and announces the plaintext fallback once")
    func selection() async throws {
        var registry = BackendRegistry()
        registry.register(HangingBackend.self)
        registry.register(PlaintextBackend.self)
        let notices = Counter()
        var options = options()
        options.plaintextFallbackNotice = { _ in notices.increment() }
        // Returns although the hanging probe never does (the deadline, not the probe, ends the wait).
        let vault = try await CredentialVault.open(app: .credvault, registry: registry, options: options)
        #expect(vault.selection.backend == "plain")
        #expect(vault.selection.isPlaintextFallback)
        #expect(vault.selection.candidates.map(\.name) == ["hanging", "plain"])
        #expect(vault.selection.candidates[0].verdict?.reason?.contains("did not answer within") == true)
        #expect(vault.selection.explanation.contains("hanging: did not answer"))
        try await vault.store(SecretBytes(utf8: "x"), service: "s", account: "a")
        try await vault.store(SecretBytes(utf8: "y"), service: "s", account: "b")
        #expect(notices.value == 1)
        #expect(try await vault.secret(service: "s", account: "b") == SecretBytes(utf8: "y"))
        await #expect(throws: CredentialVaultError.self) { try await vault.store(SecretBytes(utf8: "z"), service: "s", account: "c", attributes: ["service": "x"]) }
    }

    @Test("a keyring that does not answer is never passed over for the plaintext file: timed out at the deadline")
    func hungKeyringIsNotReplaced() async throws {
        var registry = BackendRegistry()
        registry.register(HangingKeyring.self)
        registry.register(PlaintextBackend.self)
        let start = ContinuousClock.now
        await #expect { try await CredentialVault.open(app: .credvault, registry: registry, options: options()) } throws: { error in
            guard let error = error as? CredentialVaultError else { return false }
            return error.code == .timedOut && error.message.contains("Nothing was read from or written to another backend")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("refuse policy and unknown names fail with the documented codes")
    func selectionFailures() async throws {
        var registry = BackendRegistry()
        registry.register(PlaintextBackend.self)
        await #expect { try await CredentialVault.open(app: .credvault, registry: registry, options: options(["CREDVAULT_NO_PLAINTEXT_FALLBACK": "1"])) } throws: {
            ($0 as? CredentialVaultError)?.code == .unavailable
        }
        await #expect { try await CredentialVault.open(app: .credvault, registry: registry, options: options(["CREDVAULT_BACKEND": "nope"])) } throws: {
            ($0 as? CredentialVaultError)?.code == .usage && ($0 as? CredentialVaultError)?.message.contains("known backends: plain") == true
        }
        registry.register(HangingBackend.self)
        await #expect { try await CredentialVault.open(app: .credvault, registry: registry, options: options(["CREDVAULT_BACKEND": "hanging"])) } throws: {
            ($0 as? CredentialVaultError)?.code == .timedOut
        }
    }

    @Test("the standard registry has the shipped backends in priority order")
    func standardRegistry() {
        #expect(BackendRegistry.standard.names == ["secret-service", "encrypted-file", "file", "memory", "openbao"])
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

extension UnitTests.NeverAnswering {
    func probe(timeout: Duration) async -> BackendAvailability {
        try? await Task.sleep(for: .seconds(3600))   // ignores the deadline
        return .available
    }
    func item(for key: CredentialKey) async throws -> CredentialItem? { nil }
    func store(_ item: CredentialItem) async throws {}
    func removeItem(for key: CredentialKey) async throws -> Bool { false }
    func summaries(service: String?) async throws -> [CredentialSummary] { [] }
}
