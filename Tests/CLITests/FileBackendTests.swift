import CredentialVault
import FileBackend
import Foundation
import Testing
import CredentialVaultTestSupport

/// The plaintext file fallback through the CLI: modes, refusals, corrupt files, faults.
@Suite("File backend")
struct FileBackendTests {
    /// A CLI forced to the file backend in a fresh directory.
    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        var vault: String { root.path + "/vault" }
        var store: String { vault + "/credentials.json" }
        init(vault: String? = nil) throws {
            root = try TemporaryDirectory()
            cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": vault ?? root.path + "/vault", "CREDVAULT_BACKEND": "file"])
        }
        func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }
        func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1 }
    }

    @Test("the directory is created 0700 and the file 0600, even under umask 000")
    func modesOnCreation() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        let old = umask(0)
        defer { umask(old) }
        let output = try fixture.cli.run("set", "svc", "acct", input: "pw")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(fixture.mode(fixture.vault) == 0o700)
        #expect(fixture.mode(fixture.store) == 0o600)
        #expect(fixture.mode(fixture.store + ".lock") == 0o600)
        let document = try JSONParser.parse(try #require(fixture.bytes(fixture.store)))
        #expect(document["version"] == .number(1))
        #expect(document["items"]?.arrayValue?.first?["secret"]?.stringValue == "cHc=")
    }

    @Test("issue 17 item 7: doctor is not 0 when the app cannot read its store or store at all, and its next steps fit the state")
    func doctorExitStatus() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        #expect(try fixture.cli.run("set", "svc", "acct", input: "pw").status == 0)
        let healthy = try fixture.cli.run("doctor")
        #expect(healthy.status == 0, "\(healthy.stdoutText) \(healthy.stderr)")
        #expect(!healthy.stdoutText.contains("set BAO_ADDR"), "OpenBao is opt-in: not a next step on a machine that does not use it: \(healthy.stdoutText)")
        try Data("{\"version\": 1, \"items\": [".utf8).write(to: URL(fileURLWithPath: fixture.store))
        let corrupt = try fixture.cli.run("doctor")
        #expect(corrupt.status == 65, "a corrupt credentials.json was reported as usable: \(corrupt.stdoutText)")
        #expect(corrupt.stdoutText.contains("store.readable"), "\(corrupt.stdoutText)")

        // Nothing usable: the plaintext fallback refused and no keyring.
        let nothing = CLI(home: fixture.root.path, environment: ["CREDVAULT_HOME": fixture.root.path + "/other", "CREDVAULT_NO_PLAINTEXT_FALLBACK": "1"])
        let refused = try nothing.run("doctor")
        let backends = try nothing.run("backends")
        #expect(backends.status != 0)
        #expect(refused.status == backends.status, "doctor agrees with backends: \(refused.status) vs \(backends.status)")

        // The plaintext fallback's next step names `password set` for a server.
        let fallback = CLI(home: fixture.root.path, environment: ["CREDVAULT_HOME": fixture.root.path + "/third"])
        let server = try fallback.run("doctor")
        #expect(server.stdoutText.contains("credvault password set` encrypts the file"), "\(server.stdoutText)")
    }

    @Test("unsafe modes are refused with exit 77 and the chmod to run; nothing is read or written",
          arguments: [("file", 0o644), ("file", 0o640), ("file", 0o602), ("directory", 0o755), ("directory", 0o750), ("directory", 0o707)])
    func unsafeModes(_ target: String, _ mode: Int) throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        #expect(try fixture.cli.run("set", "svc", "acct", input: "pw").status == 0)
        let path = target == "file" ? fixture.store : fixture.vault
        chmod(path, mode_t(mode))
        let before = fixture.bytes(fixture.store)
        for arguments in [["get", "svc", "acct"], ["set", "svc", "other"], ["list"]] {
            let output = try fixture.cli.run(arguments, input: Array("new".utf8))
            #expect(output.status == 77, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(path))
            #expect(output.stderr.contains(target == "file" ? "chmod 600" : "chmod 700"))
            #expect(output.stdout.isEmpty, "nothing read")
        }
        chmod(path, target == "file" ? 0o600 : 0o700)
        #expect(fixture.bytes(fixture.store) == before, "nothing written")
    }

    @Test("a file owned by another user is refused with exit 77 and the chown to run",
          .enabled(if: Components.rootOrRequired))
    func wrongOwner() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        #expect(try fixture.cli.run("set", "svc", "acct", input: "pw").status == 0)
        #expect(chown(fixture.store, 65534, 65534) == 0)
        let output = try fixture.cli.run("get", "svc", "acct")
        #expect(output.status == 77)
        #expect(output.stderr.contains("owned by uid 65534"))
        #expect(output.stderr.contains("chown"))
    }

    @Test("a symlinked credentials.json is refused with exit 77 and its target is untouched")
    func symlink() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        #expect(try fixture.cli.run("set", "svc", "acct", input: "pw").status == 0)
        let target = fixture.root.path + "/elsewhere.json"
        try FileManager.default.moveItem(atPath: fixture.store, toPath: target)
        try FileManager.default.createSymbolicLink(atPath: fixture.store, withDestinationPath: target)
        let before = fixture.bytes(target)
        for arguments in [["get", "svc", "acct"], ["set", "svc", "x"]] {
            let output = try fixture.cli.run(arguments, input: Array("new".utf8))
            #expect(output.status == 77, "\(output.stderr)")
            #expect(output.stderr.contains("symbolic link"))
        }
        #expect(fixture.bytes(target) == before)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: fixture.store)) == target, "the link is not replaced")
    }

    @Test("garbage, truncated or wrongly versioned files give exit 65 and stay byte-for-byte unchanged",
          arguments: [
            ("{\n  \"version\": 1,\n  \"items\": [\n    {\"service\": \"a\",, }\n  ]\n}\n", "line 4"),
            ("{\n  \"version\": 1,\n  \"items\": [\n    {\"service\": \"a\", \"acc", "line 4, column 26: unterminated string"),
            ("\u{0}\u{1}garbage", "line 1, column 1"),
            ("", "unexpected end of file"),
            ("{\"version\": 2, \"items\": []}", "format version 2"),
            ("{\"items\": []}", "no \"version\""),
            ("{\"version\": 1, \"items\": [{\"service\": \"a\", \"account\": \"b\", \"secret\": \"***\"}]}", "base64"),
            ("{\"version\": 1, \"items\": [],}", "line 1, column 28"),
          ])
    func corruptFile(_ content: String, _ expected: String) throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        try FileManager.default.createDirectory(atPath: fixture.vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        #expect(FileManager.default.createFile(atPath: fixture.store, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600]))
        for arguments in [["get", "a", "b"], ["set", "a", "b"], ["delete", "a", "b"], ["list"]] {
            let output = try fixture.cli.run(arguments, input: Array("new".utf8))
            #expect(output.status == 65, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(fixture.store))
            #expect(output.stderr.contains(expected), "\(output.stderr)")
            #expect(output.stderr.contains("left unchanged"))
        }
        #expect(fixture.bytes(fixture.store) == Array(content.utf8))
    }

    @Test("empty service or account is a usage error (64)")
    func emptyNames() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        #expect(try fixture.cli.run("set", "", "acct", input: "pw").status == 64)
        #expect(try fixture.cli.run("set", "svc", "", input: "pw").status == 64)
        #expect(try fixture.cli.run("get", "", "acct").status == 64)
        #expect(!FileManager.default.fileExists(atPath: fixture.store))
    }

    @Test("disk full during a write: exit 73, old file intact, no temporary left", .enabled(if: Components.rootOrRequired))
    func diskFull() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        try FileManager.default.createDirectory(atPath: fixture.vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let mount = try ProcessRunner.shell("mount -t tmpfs -o size=64k,mode=0700 tmpfs '\(fixture.vault)'")
        try #require(mount.status == 0, "mount tmpfs: \(mount.stderr)")
        defer { _ = try? ProcessRunner.shell("umount '\(fixture.vault)'") }
        #expect(try fixture.cli.run("set", "svc", "small", input: "kept").status == 0)
        let before = fixture.bytes(fixture.store)
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000)
        let output = try fixture.cli.run(["set", "svc", "big"], input: big)
        #expect(output.status == 73, "\(output.stderr)")
        #expect(output.stderr.contains("No space left"))
        #expect(output.stderr.contains("previous contents are intact"))
        #expect(fixture.bytes(fixture.store) == before)
        #expect(try fixture.cli.run("get", "svc", "small").stdoutText == "kept")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.vault).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("read-only file system during a write: exit 73, old file intact", .enabled(if: Components.rootOrRequired))
    func readOnly() throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        try FileManager.default.createDirectory(atPath: fixture.vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try #require(try ProcessRunner.shell("mount -t tmpfs -o size=1m,mode=0700 tmpfs '\(fixture.vault)'").status == 0)
        defer { _ = try? ProcessRunner.shell("umount '\(fixture.vault)'") }
        #expect(try fixture.cli.run("set", "svc", "a", input: "kept").status == 0)
        let before = fixture.bytes(fixture.store)
        try #require(try ProcessRunner.shell("mount -o remount,ro '\(fixture.vault)'").status == 0)
        let output = try fixture.cli.run("set", "svc", "b", input: "lost?")
        #expect(output.status == 73, "\(output.stderr)")
        #expect(output.stderr.contains("read-only"))
        #expect(fixture.bytes(fixture.store) == before)
        #expect(try fixture.cli.run("get", "svc", "a").stdoutText == "kept")
    }

    @Test("8 concurrent credvault set processes x 50 keys leave all 400 items")
    func concurrentWriters() async throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        try await withThrowingTaskGroup(of: [Int32].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    try (0..<50).map { key in
                        try fixture.cli.run(["set", "writer\(writer)", "key\(key)"], input: Array("secret-\(writer)-\(key)".utf8)).status
                    }
                }
            }
            for try await statuses in group { #expect(statuses.allSatisfy { $0 == 0 }) }
        }
        let document = try JSONParser.parse(try #require(fixture.bytes(fixture.store)))
        let items = try #require(document["items"]?.arrayValue)
        #expect(items.count == 400)
        let backend = FileBackend(directory: fixture.vault)
        for writer in 0..<8 {
            for key in 0..<50 {
                let item = try await backend.item(for: try CredentialKey(service: "writer\(writer)", account: "key\(key)"))
                #expect(item?.secret.utf8String() == "secret-\(writer)-\(key)")
            }
        }
    }

    @Test("a writer killed with SIGKILL at random moments (120 times) always leaves a parseable file with every acknowledged write")
    func killedWriters() async throws {
        let fixture = try Fixture(); defer { fixture.root.remove() }
        // A store big enough that writes take a while, so kills land mid-write.
        let padding = String(repeating: "p", count: 4096)
        for index in 0..<150 { #expect(try fixture.cli.run(["set", "base", "item\(index)"], input: Array(padding.utf8)).status == 0) }
        var acknowledged: [String: String] = [:]
        var killedMidway = 0
        for attempt in 0..<120 {
            let secret = "value-\(attempt)"
            let (child, input) = try ChildProcess.spawnWithInput([CLI.executable, "set", "kill", "key\(attempt % 10)"],
                                                                 environment: fixture.cli.environment)
            _ = secret.withCString { write(input, $0, strlen($0)) }
            close(input)
            usleep(UInt32.random(in: 0...40_000))
            kill(child.pid, SIGKILL)
            let status = child.wait(timeout: 10)
            if status == 0 { acknowledged["key\(attempt % 10)"] = secret } else { killedMidway += 1 }
            let bytes = try #require(fixture.bytes(fixture.store))
            let parsed = Result { try JSONParser.parse(bytes) }
            #expect((try? parsed.get()) != nil, "attempt \(attempt): the file does not parse")
        }
        #expect(killedMidway > 10, "the kills should interrupt a good share of writers (\(killedMidway))")
        let backend = FileBackend(directory: fixture.vault)
        for (account, secret) in acknowledged {
            let item = try await backend.item(for: try CredentialKey(service: "kill", account: account))
            // A later unacknowledged write may have landed before its kill, so the value is
            // the acknowledged one or a later attempt's for the same key.
            let value = try #require(item?.secret.utf8String())
            let attempt = Int(value.dropFirst("value-".count)) ?? -1
            #expect(attempt >= Int(secret.dropFirst("value-".count))!, "\(account): acknowledged \(secret), found \(value)")
        }
        #expect(try await backend.summaries(service: "base").count == 150)
    }
}

extension FileBackendTests {
    @Test("the store is written as docs/FORMAT.md says, byte for byte: unknown fields (as the text read), attributes, dates, escapes, non-ASCII, an empty store")
    func writerFormat() throws {
        let text = #"""
        {"extra_root": {"b": [1, true, null]}, "items": [
          {"service": "svc\"q", "account": "\u00e4\u0001", "secret": "AAE=", "label": "L\n", "attributes": {"z": "1", "a": "2"},
           "created": "2026-01-31T12:00:00Z", "modified": "2026-02-01T00:00:00Z", "zz_future": {"k": "v"}, "aa_future": 5},
          {"service": "a", "account": "b", "secret": ""},
          {"service": "A", "account": "\u00e9t\u00e9", "secret": "AA==", "label": "\u2028"}
        ], "version": 1}
        """#
        let expected = #"""
        {
          "extra_root": {"b": [1, true, null]},
          "items": [
            {
              "account": "\#u{e9}t\#u{e9}",
              "label": "\#u{2028}",
              "secret": "AA==",
              "service": "A"
            },
            {
              "account": "b",
              "label": "Password for 'b' on 'a'",
              "secret": "",
              "service": "a"
            },
            {
              "aa_future": 5,
              "account": "\#u{e4}\u0001",
              "attributes": {
                "a": "2",
                "z": "1"
              },
              "created": "2026-01-31T12:00:00Z",
              "label": "L\n",
              "modified": "2026-02-01T00:00:00Z",
              "secret": "AAE=",
              "service": "svc\"q",
              "zz_future": {"k": "v"}
            }
          ],
          "version": 1
        }
        """#
        let written = try FileStoreReader.document(Array(text.utf8), path: "test").serialized()
        #expect(String(decoding: written, as: UTF8.self) == expected + "\n", "\(String(decoding: written, as: UTF8.self))")
        #expect(try FileStoreReader.document(written, path: "test").serialized() == written, "reads back to the same bytes")
        #expect(FileStoreDocument().serialized() == Array("{\n  \"items\": [],\n  \"version\": 1\n}\n".utf8), "an empty store")
    }
}
extension FileBackendTests {
    @Test("every document the reader accepts is written, read back to the same items and written again to the same bytes; lookups agree: seeds, a real store, and 2,000 truncations and byte changes of it")
    func readerAndWriterRoundTrip() async throws {
        // The fuzz seeds: unknown fields, escapes, a non-string label, a repeated key, repeated items.
        let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/filestore")
        var documents: [[UInt8]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: seeds.path).sorted() {
            documents.append(Array(try Data(contentsOf: seeds.appendingPathComponent(name))))
        }
        #expect(documents.count >= 5)
        // A store written by the backend, with labels, attributes and timestamps.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = FileBackend(directory: directory.path + "/store")
        for index in 0..<40 {
            try await backend.store(CredentialItem(key: CredentialKey(service: "svc-\(index % 7)", account: "acct-\(index)"),
                                                   label: index % 3 == 0 ? "label \(index) \u{e9}" : nil,
                                                   attributes: index % 5 == 0 ? ["k": "v\(index)"] : [:],
                                                   secret: SecretBytes(Array("secret-\(index)".utf8))))
        }
        let store = Array(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/store/credentials.json")))
        documents.append(store)
        var generator = SystemRandomNumberGenerator()
        var variants = 0
        for _ in 0..<1000 {
            documents.append(Array(store.prefix(Int.random(in: 0..<store.count, using: &generator))))
            var changed = store
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                changed[Int.random(in: 0..<changed.count, using: &generator)] = [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "{"),
                    UInt8(ascii: ","), UInt8(ascii: "="), 0x01, 0xC3, 0x80, UInt8(ascii: "1")].randomElement(using: &generator)!
            }
            documents.append(changed)
        }
        for document in documents {
            if let problem = FileStoreReader.roundTripProblem(on: document) {
                Issue.record("\(problem): \(String(decoding: document.prefix(400), as: UTF8.self))")
            }
            if (try? FileStoreReader.document(document, path: "t")) != nil { variants += 1 }
        }
        #expect(variants > 10, "some variants must still be valid stores for the round trip to mean anything")
        // Through the backend: a lookup reads the wanted item whole.
        let item = try await backend.item(for: CredentialKey(service: "svc-0", account: "acct-0"))
        #expect(item?.label == "label 0 \u{e9}" && item?.attributes == ["k": "v0"] && item?.secret == SecretBytes(Array("secret-0".utf8)))
        #expect(try await backend.secret(for: CredentialKey(service: "svc-0", account: "absent")) == nil)
    }
}
