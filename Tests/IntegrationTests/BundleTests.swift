import CredentialVault
import FileBackend
import Foundation
import MemoryBackend
import Testing
import CredentialVaultTestSupport

/// Bundle format v1: round trips through every backend, refusals, tampering, hostile
/// headers, test vectors, and an independent PyNaCl reader.
@Suite("Encrypted bundles")
struct BundleTests {
    static let passphrase = "correct horse battery staple"
    /// The cheapest parameters the format allows, so tamper loops stay fast.
    static let cheap = (ops: UInt64(1), mem: UInt64(8 * 1024))

    static func key(_ text: String = passphrase) -> SecureBuffer {
        SecureBuffer(SecretBytes(utf8: text))
    }

    static func sampleItems() throws -> [CredentialItem] {
        [
            CredentialItem(key: try CredentialKey(service: "api.example.com", account: "alice"), label: "Alice", attributes: ["scope": "read"],
                           secret: SecretBytes(utf8: "hunter2")),
            CredentialItem(key: try CredentialKey(service: "dienst-ü-🔑", account: "用户"), secret: SecretBytes(utf8: "ключ ✓")),
            CredentialItem(key: try CredentialKey(service: "binary", account: "blob"), secret: SecretBytes([0x00, 0xFF, 0x00, 0x80, 0x0A])),
        ]
    }

    @Test("export then import into a fresh store restores every item", arguments: ["memory", "file", "secret-service"])
    func roundTrip(_ name: String) async throws {
        guard TestBackends.available(name) else { return }
        let (source, cleanSource) = try TestBackends.make(name); defer { cleanSource() }
        let suffix = UUID().uuidString.prefix(6)
        let items = try Self.sampleItems().map { item -> CredentialItem in
            var copy = item
            copy.key = try CredentialKey(service: "\(item.key.service)-\(suffix)", account: item.key.account)
            return copy
        }
        for item in items { try await source.store(item) }
        var exported: [CredentialItem] = []
        for item in items { exported.append(try #require(try await source.item(for: item.key))) }
        let bundle = try CredentialBundle.seal(exported, passphrase: Self.key(), opsLimit: Self.cheap.ops, memLimit: Self.cheap.mem)
        let (_, restored) = try CredentialBundle.open(bundle, passphrase: Self.key())

        let (target, cleanTarget) = name == "secret-service" ? (MemoryBackend() as any CredentialBackend, {}) : try TestBackends.make(name)
        defer { cleanTarget() }
        if name == "secret-service" {
            // Restore into the same keyring after deleting the originals.
            for item in items { _ = try await source.removeItem(for: item.key) }
        }
        let destination = name == "secret-service" ? source : target
        for item in restored { try await destination.store(item) }
        for item in items {
            let back = try #require(try await destination.item(for: item.key))
            #expect(back.secret == item.secret, "\(item.key)")
            #expect(back.label == item.label)
            #expect(back.attributes == item.attributes)
        }
    }

    @Test("flipping any single byte of a bundle is rejected")
    func tamperEveryByte() throws {
        let bundle = try CredentialBundle.seal(try Self.sampleItems(), passphrase: Self.key(), opsLimit: Self.cheap.ops, memLimit: Self.cheap.mem)
        #expect(throws: Never.self) { try CredentialBundle.open(bundle, passphrase: Self.key()) }
        for position in bundle.indices {
            var tampered = bundle
            tampered[position] ^= 0x01
            #expect(throws: CredentialVaultError.self, "byte \(position)") { try CredentialBundle.open(tampered, passphrase: Self.key()) }
        }
    }

    @Test("truncating at every length, and trailing bytes, are rejected")
    func truncation() throws {
        let bundle = try CredentialBundle.seal(try Self.sampleItems(), passphrase: Self.key(), opsLimit: Self.cheap.ops, memLimit: Self.cheap.mem)
        for length in 0..<bundle.count {
            #expect(throws: CredentialVaultError.self, "length \(length)") { try CredentialBundle.open(Array(bundle[0..<length]), passphrase: Self.key()) }
        }
        #expect { try CredentialBundle.open(bundle + [0], passphrase: Self.key()) } throws: {
            ($0 as? CredentialVaultError)?.message.contains("trailing bytes") == true
        }
    }

    @Test("a wrong passphrase says 'wrong passphrase or the file was modified'")
    func wrongPassphrase() throws {
        let bundle = try CredentialBundle.seal(try Self.sampleItems(), passphrase: Self.key(), opsLimit: Self.cheap.ops, memLimit: Self.cheap.mem)
        #expect { try CredentialBundle.open(bundle, passphrase: Self.key("not the passphrase")) } throws: {
            let error = $0 as? CredentialVaultError
            return error?.code == .dataError && error?.message.contains("wrong passphrase or the file was modified") == true
        }
    }

    /// Rewrites header fields of a valid bundle.
    func patched(_ bundle: [UInt8], at offset: Int, _ bytes: [UInt8]) -> [UInt8] {
        var copy = bundle
        copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        return copy
    }

    @Test("hostile headers fail in milliseconds, before any key derivation",
          arguments: [
            ("opslimit at the maximum", 12, [UInt8](repeating: 0xFF, count: 4), "opslimit"),
            ("memlimit at the maximum", 16, [UInt8](repeating: 0xFF, count: 8), "memlimit"),
            ("memlimit of 2 GiB", 16, [0, 0, 0, 0, 0x80, 0, 0, 0], "memlimit"),
            ("version 2", 8, [0, 2], "format version 2"),
            ("KDF id 2", 10, [2], "unknown KDF id 2"),
            ("payload length at the maximum", 72, [UInt8](repeating: 0xFF, count: 8), "payload length"),
            ("wrong magic", 0, Array("CVBUNDLX".utf8), "wrong magic"),
          ])
    func hostileHeaders(_ label: String, _ offset: Int, _ bytes: [UInt8], _ expected: String) throws {
        let bundle = try CredentialBundle.seal(try Self.sampleItems(), passphrase: Self.key(), opsLimit: Self.cheap.ops, memLimit: Self.cheap.mem)
        let hostile = patched(bundle, at: offset, bytes)
        let clock = ContinuousClock()
        let start = clock.now
        #expect { try CredentialBundle.open(hostile, passphrase: Self.key()) } throws: {
            ($0 as? CredentialVaultError)?.message.contains(expected) == true
        }
        #expect(clock.now - start < .milliseconds(100), "\(label) took \(clock.now - start)")
    }

    static let vectorsPath = Repository.root + "/Tests/Vectors/bundle-v1.json"

    @Test("test vectors: fixed passphrase, salt, nonce and time give exactly the committed bytes")
    func vectors() throws {
        let vectors = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: Self.vectorsPath))))
        let cases = try #require(vectors["vectors"]?.arrayValue)
        #expect(cases.count >= 2)
        for vector in cases {
            let hex = { (name: String) throws -> [UInt8] in try #require(vector[name]?.stringValue.flatMap(Self.bytes(hex:))) }
            let items = try (vector["items"]?.arrayValue ?? []).map { item in
                CredentialItem(key: try CredentialKey(service: item["service"]!.stringValue!, account: item["account"]!.stringValue!),
                               label: item["label"]?.stringValue, secret: SecretBytes(try #require(item["secret_hex"]?.stringValue.flatMap(Self.bytes(hex:)))),
                               created: Timestamp.parse("2026-01-01T00:00:00Z"), modified: Timestamp.parse("2026-01-02T00:00:00Z"))
            }
            let sealed = try CredentialBundle.seal(items, passphrase: Self.key(try #require(vector["passphrase"]?.stringValue)),
                                                   opsLimit: UInt64(try #require(vector["opslimit"]?.numberValue)),
                                                   memLimit: UInt64(try #require(vector["memlimit"]?.numberValue)),
                                                   salt: try hex("salt"), nonce: try hex("nonce"),
                                                   created: UInt64(try #require(vector["created"]?.numberValue)))
            #expect(sealed == (try hex("bundle")),
                    "vector \(vector["name"]?.stringValue ?? "?") seals to \(sealed.map { String(format: "%02x", $0) }.joined())")
        }
    }

    static let itemVectorsPath = Repository.root + "/Tests/Vectors/items-v1.json"

    @Test("issue 17 item 13: one item rule for credentials.json and the bundle, from the shared vectors (no null, real dates, canonical base64); documents; unknown fields kept as their text")
    func itemRuleVectors() throws {
        let vectors = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: Self.itemVectorsPath))))
        let root = try TemporaryDirectory(); defer { root.remove() }
        var run = 0
        /// The answer of `credvault list` on a credentials.json holding `text`: 0 or 65.
        func fileAnswer(_ text: String) throws -> Int32 {
            run += 1
            let home = root.path + "/home\(run)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            FileManager.default.createFile(atPath: home + "/credentials.json", contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": home, "CREDVAULT_BACKEND": "file"])
            let output = try cli.run("list")
            #expect(try String(contentsOfFile: home + "/credentials.json", encoding: .utf8) == text, "a read never rewrites the file")
            return output.status
        }
        for vector in try #require(vectors["items"]?.arrayValue) {
            let name = vector["name"]?.stringValue ?? "?", item = try #require(vector["item"]?.stringValue)
            let accepted = vector["accepted"] == .bool(true)
            let status = try fileAnswer("{\"version\": 1, \"items\": [\(item)]}")
            #expect(status == (accepted ? 0 : 65), "credentials.json, \(name): exit \(status)")
            let payload = "{\"created\":\"2026-01-01T00:00:00Z\",\"format\":\"credvault-bundle\",\"items\":[\(item)],\"version\":1}"
            let bundle = try CredentialBundle.seal(payload: Array(payload.utf8), passphrase: Self.key(), opsLimit: Self.cheap.ops,
                                                   memLimit: Self.cheap.mem, created: 1_767_225_600)
            do {
                _ = try CredentialBundle.open(bundle, passphrase: Self.key())
                #expect(accepted, "bundle, \(name): accepted, the rule says refused")
            } catch let error as CredentialVaultError {
                #expect(!accepted && error.code == .dataError, "bundle, \(name): \(error)")
            }
        }
        for vector in try #require(vectors["documents"]?.arrayValue) {
            let status = try fileAnswer(try #require(vector["text"]?.stringValue))
            #expect(status == (vector["accepted"] == .bool(true) ? 0 : 65), "document \(vector["name"]?.stringValue ?? "?"): exit \(status)")
        }
        // Unknown fields are written back as the text they were read from.
        let preserved = try #require(vectors["preserved"])
        let home = root.path + "/preserved"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: home + "/credentials.json", contents: Data(try #require(preserved["text"]?.stringValue).utf8),
                                       attributes: [.posixPermissions: 0o600])
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": home, "CREDVAULT_BACKEND": "file"])
        #expect(try cli.run("set", "s2", "a2", input: "new").status == 0)
        let written = try String(contentsOfFile: home + "/credentials.json", encoding: .utf8)
        for kept in try #require(preserved["kept"]?.arrayValue).compactMap(\.stringValue) {
            #expect(written.contains(kept), "\(kept) was not written back as it was: \(written)")
        }
    }

    @Test("an independent PyNaCl reader written from docs/FORMAT.md opens a bundle made by credvault password export",
          .enabled(if: Components.present("python3") && BundleTests.pynaclPresent()))
    func independentReader() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"])
        #expect(try cli.run("set", "svc", "alice", input: "hunter2").status == 0)
        #expect(try cli.run(["set", "svc", "blob"], input: [0, 0xFF, 0x0A, 0x41]).status == 0)
        let passFile = root.path + "/pass"
        FileManager.default.createFile(atPath: passFile, contents: Data(Self.passphrase.utf8), attributes: [.posixPermissions: 0o600])
        let bundle = root.path + "/backup.cvb"
        let export = try cli.run("password", "export", "--out", bundle, "--passphrase-file", passFile, "--kdf", "interactive")
        #expect(export.status == 0, "\(export.stderr)")
        let reader = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("interop/read_bundle.py").path
        let output = try ProcessRunner.run("/usr/bin/env", ["python3", reader, bundle, passFile], environment: ProcessInfo.processInfo.environment)
        #expect(output.status == 0, "\(output.stderr)")
        let payload = try JSONParser.parse(output.stdout)
        let items = try #require(payload["items"]?.arrayValue)
        #expect(items.count == 2)
        #expect(items.first { $0["account"] == .string("alice") }?["secret"] == .string(Data("hunter2".utf8).base64EncodedString()))
        #expect(items.first { $0["account"] == .string("blob") }?["secret"] == .string(Data([0, 0xFF, 0x0A, 0x41]).base64EncodedString()))
        // And the committed vectors open with it too.
        let vectors = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: Self.vectorsPath))))
        for vector in vectors["vectors"]?.arrayValue ?? [] {
            let file = root.path + "/vector.cvb", pass = root.path + "/vector.pass"
            FileManager.default.createFile(atPath: file, contents: Data(Self.bytes(hex: vector["bundle"]!.stringValue!)!))
            FileManager.default.createFile(atPath: pass, contents: Data(vector["passphrase"]!.stringValue!.utf8))
            let opened = try ProcessRunner.run("/usr/bin/env", ["python3", reader, file, pass], environment: ProcessInfo.processInfo.environment)
            #expect(opened.status == 0, "vector \(vector["name"]?.stringValue ?? "?"): \(opened.stderr)")
        }
    }

    static func pynaclPresent() -> Bool {
        if Components.required { return true }
        let ok = (try? ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import nacl"], environment: ProcessInfo.processInfo.environment).status) == 0
        if !ok { print("SKIP: PyNaCl is not installed (pip install pynacl); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead") }
        return ok
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            result.append(byte)
        }
        return result
    }

    @Test("CLI: import conflicts are listed and nothing is written; skip, overwrite and dry run behave")
    func importConflicts() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"])
        let passFile = root.path + "/pass"
        FileManager.default.createFile(atPath: passFile, contents: Data(Self.passphrase.utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run("set", "s", "a", input: "old-a").status == 0)
        #expect(try cli.run("set", "s", "b", input: "old-b").status == 0)
        let bundle = root.path + "/b.cvb"
        #expect(try cli.run("password", "export", "--out", bundle, "--passphrase-file", passFile, "--kdf", "interactive").status == 0)
        let again = try cli.run("password", "export", "--out", bundle, "--passphrase-file", passFile, "--kdf", "interactive")
        #expect(again.status == 73, "an existing file is not overwritten without --force")
        #expect(try cli.run("set", "s", "a", input: "new-a").status == 0)
        #expect(try cli.run("delete", "s", "b").status == 0)
        #expect(try cli.run("set", "s", "c", input: "c").status == 0)
        let store = root.path + "/vault/credentials.json"
        let before = FileManager.default.contents(atPath: store)

        let failing = try cli.run("password", "import", bundle, "--passphrase-file", passFile)
        #expect(failing.status == 65)
        #expect(failing.stderr.contains("s/a"))
        #expect(FileManager.default.contents(atPath: store) == before, "a refused import writes nothing")

        let dry = try cli.run("--json", "password", "import", bundle, "--passphrase-file", passFile, "--dry-run", "--on-conflict", "overwrite")
        #expect(dry.status == 0)
        let plan = try JSONParser.parse(dry.stdout)
        #expect(plan["items"]?.arrayValue?.map { $0["action"]?.stringValue ?? "" } == ["overwrite", "add"])
        #expect(FileManager.default.contents(atPath: store) == before, "a dry run writes nothing")

        #expect(try cli.run("password", "import", bundle, "--passphrase-file", passFile, "--on-conflict", "skip").status == 0)
        #expect(try cli.run("get", "s", "a").stdoutText == "new-a")
        #expect(try cli.run("get", "s", "b").stdoutText == "old-b")
        #expect(try cli.run("password", "import", bundle, "--passphrase-file", passFile, "--on-conflict", "overwrite").status == 0)
        #expect(try cli.run("get", "s", "a").stdoutText == "old-a")
        #expect(try cli.run("get", "s", "c").stdoutText == "c")

        let inspect = try JSONParser.parse(try cli.run("--json", "password", "inspect", bundle).stdout)
        #expect(inspect["kdf"]?["memlimit"] == .number(Double(64 << 20)) && inspect["kdf"]?["profile"] == .string("interactive"))
        let verify = try JSONParser.parse(try cli.run("--json", "password", "verify", bundle, "--passphrase-file", passFile).stdout)
        #expect(verify["services"]?["s"] == .number(2))
        let wrongPass = root.path + "/wrong"
        FileManager.default.createFile(atPath: wrongPass, contents: Data("another long passphrase".utf8), attributes: [.posixPermissions: 0o600])
        let wrong = try cli.run("password", "verify", bundle, "--passphrase-file", wrongPass)
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("wrong passphrase or the file was modified"))
    }

    @Test("CLI: passphrases come only from a 0600 file, a descriptor or a prompt, and must have 12 characters")
    func passphraseRules() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"])
        #expect(try cli.run("set", "s", "a", input: "x").status == 0)
        let open = root.path + "/open-pass"
        FileManager.default.createFile(atPath: open, contents: Data(Self.passphrase.utf8), attributes: [.posixPermissions: 0o644])
        let loose = try cli.run("password", "export", "--out", root.path + "/x.cvb", "--passphrase-file", open)
        #expect(loose.status == 77)
        #expect(loose.stderr.contains("chmod 600"))
        let short = root.path + "/short"
        FileManager.default.createFile(atPath: short, contents: Data("short pass\n".utf8), attributes: [.posixPermissions: 0o600])
        let tooShort = try cli.run("password", "export", "--out", root.path + "/x.cvb", "--passphrase-file", short)
        #expect(tooShort.status == 64)
        #expect(tooShort.stderr.contains("at least 12"))
        let none = try cli.run("password", "export", "--out", root.path + "/x.cvb")
        #expect(none.status == 64, "no terminal and no source: refused")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/x.cvb"))
    }
}

/// A backend that fails on its third write: the interruption a real keyring cannot be made
/// to produce on cue (the real-backend import runs in `BundleTests.roundTrip`).
final class FailingBackend: CredentialBackend, @unchecked Sendable {
    static let name = "failing"
    static let priority = 0
    static let protection = StorageProtection.memory
    private let memory = MemoryBackend()
    private var writes = 0
    init(context: BackendContext) {}
    func probe(timeout: Duration) async -> BackendAvailability { .available }
    func item(for key: CredentialKey) async throws -> CredentialItem? { try await memory.item(for: key) }
    func store(_ item: CredentialItem) async throws {
        writes += 1
        if writes == 3 { throw CredentialVaultError(.cannotWrite, "simulated failure") }
        try await memory.store(item)
    }
    func removeItem(for key: CredentialKey) async throws -> Bool { try await memory.removeItem(for: key) }
    func summaries(service: String?) async throws -> [CredentialSummary] { try await memory.summaries(service: service) }
}

@Suite("Import interruption")
struct ImportInterruptionTests {
    @Test("an import interrupted in a non-atomic backend names exactly the items written")
    func interrupted() async throws {
        var registry = BackendRegistry()
        registry.register(FailingBackend.self)
        let vault = try await CredentialVault.open(app: .credvault, registry: registry,
                                                   options: VaultOptions(backend: "failing", environment: ["CREDVAULT_HOME": "/nonexistent/x"]))
        let items = try (1...4).map { CredentialItem(key: try CredentialKey(service: "s", account: "a\($0)"), secret: SecretBytes(utf8: "v\($0)")) }
        await #expect { try await vault.importItems(items, policy: .fail) } throws: { error in
            guard let error = error as? CredentialVaultError else { return false }
            return error.code == .cannotWrite && error.message.contains("after writing 2 of 4 item(s) (s/a1, s/a2)") && error.message.contains("stopped at s/a3")
        }
        #expect(try await vault.list().map(\.key.account) == ["a1", "a2"])
    }
}
