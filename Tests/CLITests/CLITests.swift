import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// Exit codes, `--json` shapes, app profiles and input rules of the `credvault` CLI.
@Suite("credvault CLI")
struct CLITests {
    func fixture(_ environment: [String: String] = [:]) throws -> (TemporaryDirectory, CLI) {
        let root = try TemporaryDirectory()
        return (root, CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault"].merging(environment) { $1 }))
    }

    @Test("stored names with terminal escapes (written by any program) are listed escaped; the secret itself comes back byte for byte")
    func listEscapesNames() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"])
        let service = "svc\u{1B}[2J", account = "acct\u{1B}]8;;https://evil.example\u{07}"
        #expect(try cli.run(["set", service, account], input: [0x1B, 0x5B, 0x41, 0x00, 0x07]).status == 0)
        let list = try cli.run("list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(!list.stdout.contains(0x1B) && !list.stdout.contains(0x07), "raw control bytes in list: \(list.stdoutText)")
        #expect(list.stdoutText.contains("svc\\u{1B}[2J") && list.stdoutText.contains("acct\\u{1B}]8;;https://evil.example\\u{7}"),
                "\(list.stdoutText)")
        #expect(try cli.run(["get", service, account]).stdout == [0x1B, 0x5B, 0x41, 0x00, 0x07], "secrets are binary-safe, never escaped")
    }

    @Test("exit codes: 0 ok, 1 not found, 64 usage")
    func exitCodes() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("set", "svc", "acct", input: "pw").status == 0)
        #expect(try cli.run("get", "svc", "acct").status == 0)
        let missing = try cli.run("get", "svc", "nobody")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no credential for service 'svc' and account 'nobody'"))
        #expect(try cli.run("delete", "svc", "nobody").status == 1)
        #expect(try cli.run("frobnicate").status == 64)
        #expect(try cli.run("get", "only-one-argument").status == 64)
        let unknown = try cli.run("--backend", "nosuch", "get", "svc", "acct")
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("known backends: secret-service, encrypted-file, file, memory"))
        #expect(try cli.run("--app", "Bad Name!", "list").status == 64)
        #expect(try cli.run("delete", "svc", "acct").status == 0)
        #expect(try cli.run("get", "svc", "acct").status == 1)
    }

    @Test("issue 17 item 11: a misspelt verb gets a suggestion (64), as a misspelt option does; a far-off word gets the usual error")
    func verbSuggestion() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        for (typo, verb) in [("lokc", "lock"), ("lsit", "list"), ("--quiet docter", "doctor"), ("pasword", "password")] {
            let output = try cli.run(typo.split(separator: " ").map(String.init))
            #expect(output.status == 64, "\(typo): \(output.stderr)")
            #expect(output.stderr.contains("unknown command '\(typo.split(separator: " ").last!)'; did you mean '\(verb)'?"), "\(output.stderr)")
        }
        let far = try cli.run("xyzzy")
        #expect(far.status == 64)
        #expect(!far.stderr.contains("did you mean"), "\(far.stderr)")
    }

    @Test("issue 17 item 11: --code is in the help of the verbs that unlock a store only; --code before the verb still reaches them; the helpers' help is wrapped whole")
    func codeOptionAndHelperHelp() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        for verb in [["lock"], ["backends"], ["doctor"], ["password", "status"], ["password", "set"], ["password", "inspect"],
                     ["password", "verify"], ["git-credential"], ["docker-credential"]] {
            let help = try cli.run(verb + ["--help"]).stdoutText
            #expect(!help.contains("--code"), "\(verb) never unlocks a store: \(help)")
        }
        for verb in [["get"], ["set"], ["unlock"], ["auth", "resolve"], ["password", "export"], ["migrate"]] {
            #expect(try cli.run(verb + ["--help"]).stdoutText.contains("--code <code>"), "\(verb)")
        }
        #expect(try cli.run("set", "svc", "acct", input: "v").status == 0)
        #expect(try cli.run("--code", "123456", "get", "svc", "acct").stdoutText == "v", "a code before the verb is accepted (unused here)")
        #expect(try cli.run("--code", "123456", "lock").status == 0)
        // A paragraph is wrapped as one: no short line in the middle of a sentence.
        for helper in ["git-credential", "docker-credential"] {
            let help = try cli.run(helper, "--help").stdoutText
            let discussion = help.split(separator: "\n", omittingEmptySubsequences: false).drop { !$0.isEmpty }.dropFirst()
                .prefix { !$0.hasPrefix("USAGE:") }
            for (line, next) in zip(discussion, discussion.dropFirst()) where !line.isEmpty && !next.isEmpty {
                #expect(line.count >= 60, "\(helper): a ragged line '\(line)' before '\(next)'")
            }
        }
    }

    @Test("the secret is never an argument: an extra argument is refused and nothing is stored")
    func secretNeverInArguments() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let output = try cli.run("set", "svc", "acct", "hunter2")
        #expect(output.status == 64)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/vault/credentials.json"))
        // After `set` has read its secret, while it is still running (held at the store's lock,
        // which this test holds), neither its command line nor its environment holds the secret.
        #expect(try cli.run("set", "svc", "other", input: "x").status == 0) // creates the store and its lock file
        let lock = open(root.path + "/vault/credentials.json.lock", O_RDWR | O_CLOEXEC)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        let (child, input) = try ChildProcess.spawnWithInput([CLI.executable, "set", "svc", "acct"],
                                                             environment: cli.environment.merging(["CREDVAULT_LOCK_TIMEOUT": "30"]) { $1 })
        _ = "typed-secret".withCString { write(input, $0, strlen($0)) }
        close(input)
        // The secret is read before the lock is taken: once the child has the lock file open, it holds the secret.
        let waiting = try waitUntil(seconds: 20) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/fd")) ?? []
            return entries.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child.pid)/fd/\($0)"))?.hasSuffix("credentials.json.lock") == true }
        }
        #expect(waiting, "the child reached the lock with its secret read")
        let commandLine = try MemoryScan.readProcFile("/proc/\(child.pid)/cmdline")
        let environment = try MemoryScan.readProcFile("/proc/\(child.pid)/environ")
        #expect(commandLine.contains("set") && environment.contains("CREDVAULT_HOME"), "read the live process's own files")
        #expect(!commandLine.contains("typed-secret") && !environment.contains("typed-secret"))
        flock(lock, LOCK_UN)
        close(lock)
        #expect(child.wait(timeout: 30) == 0)
        #expect(try cli.run("get", "svc", "acct").stdoutText == "typed-secret")
    }

    @Test("stdin: all bytes to EOF with one trailing newline removed; an empty secret is refused (65)")
    func standardInput() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("set", "svc", "a", input: "line1\nline2\n\n").status == 0)
        #expect(try cli.run("get", "svc", "a").stdoutText == "line1\nline2\n")
        let empty = try cli.run("set", "svc", "b", input: "\n")
        #expect(empty.status == 65)
        #expect(empty.stderr.contains("the secret is empty"))
        #expect(try cli.run("get", "svc", "b").status == 1)
    }

    @Test("--json: one document per verb, with the documented fields")
    func jsonShapes() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let set = try JSONParser.parse(try cli.run("--json", "set", "svc", "acct", "--label", "My label", input: "pw").stdout)
        #expect(set == .object(["stored": .bool(true), "service": .string("svc"), "account": .string("acct"), "backend": .string("file")]))
        let get = try JSONParser.parse(try cli.run("get", "--json", "svc", "acct").stdout)
        #expect(get["secret"] == .string("pw"))
        #expect(get["label"] == .string("My label"))
        #expect(try cli.run("set", "svc", "bin", input: "\u{0}\u{1}").status == 0)
        let binary = try JSONParser.parse(try cli.run("get", "--json", "svc", "bin").stdout)
        #expect(binary["secret_base64"] == .string("AAE="))
        #expect(binary["secret"] == nil)
        let list = try JSONParser.parse(try cli.run("list", "--json").stdout)
        let items = try #require(list["items"]?.arrayValue)
        #expect(items.count == 2)
        #expect(items.allSatisfy { $0["secret"] == nil && $0["secret_base64"] == nil }, "list never shows secrets")
        #expect(Set(items[0].objectValue!.keys).isSuperset(of: ["service", "account", "label", "backend"]))
        let backends = try JSONParser.parse(try cli.run("backends", "--json").stdout)
        #expect(backends["backends"]?.arrayValue?.count == 5)
        #expect(backends["selection"]?["backend"] != nil)
        let doctor = try JSONParser.parse(try cli.run("doctor", "--json").stdout)
        #expect(doctor["checks"]?.arrayValue?.contains { $0["name"] == .string("file.mode") } == true)
        let error = try cli.run("get", "--json", "svc", "nobody")
        #expect(error.status == 1)
        let document = try JSONParser.parse(error.stdout)
        #expect(document["error"]?["exit_status"] == .number(1))
        #expect(document["error"]?["code"] == .string("not found"))
        let deleted = try JSONParser.parse(try cli.run("delete", "--json", "svc", "acct").stdout)
        #expect(deleted["deleted"] == .bool(true))
    }

    @Test("--app NAME reads <NAME>_HOME and <NAME>_BACKEND and keeps apps apart")
    func appProfiles() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["SKILLMEAT_HOME": root.path + "/skillmeat", "SKILLMEAT_BACKEND": "file",
                                                     "CREDVAULT_HOME": root.path + "/credvault"])
        #expect(try cli.run("--app", "skillmeat", "set", "api", "me", input: "sk").status == 0)
        #expect(FileManager.default.fileExists(atPath: root.path + "/skillmeat/credentials.json"))
        #expect(!FileManager.default.fileExists(atPath: root.path + "/credvault/credentials.json"))
        #expect(try cli.run("--app", "skillmeat", "get", "api", "me").stdoutText == "sk")
        #expect(try cli.run("get", "api", "me").status == 1, "the default app does not see skillmeat's items")
        let backends = try JSONParser.parse(try cli.run("--app", "skillmeat", "backends", "--json").stdout)
        #expect(backends["selection"]?["source"] == .string("environment variable SKILLMEAT_BACKEND"))
        let refused = try cli.run(["--app", "skillmeat", "--backend", "nosuch", "list"])
        #expect(refused.status == 64)
        // Without <APP>_HOME the directory is $XDG_CONFIG_HOME/<app>.
        let xdg = CLI(home: root.path, environment: ["XDG_CONFIG_HOME": root.path + "/xdg"])
        #expect(try xdg.run("--app", "cmdop", "--backend", "file", "set", "s", "a", input: "x").status == 0)
        #expect(FileManager.default.fileExists(atPath: root.path + "/xdg/cmdop/credentials.json"))
    }

    @Test("config file: backend and fallback lines are honoured; a bad line is exit 78 with its line number")
    func configFile() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let vault = root.path + "/vault"
        try FileManager.default.createDirectory(atPath: vault, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "# comment\nbackend = memory\n".write(toFile: vault + "/config", atomically: true, encoding: .utf8)
        let backends = try JSONParser.parse(try cli.run("backends", "--json").stdout)
        #expect(backends["selection"]?["backend"] == .string("memory"))
        #expect(backends["selection"]?["source"] == .string("config file \(vault)/config"))
        #expect(try cli.run("--backend", "file", "set", "s", "a", input: "x").status == 0, "--backend beats the config file")

        try "fallback = refuse\n".write(toFile: vault + "/config", atomically: true, encoding: .utf8)
        let refused = try cli.run("get", "s", "a")
        #expect(refused.status == 69, "no bus here, so the only candidate is the plaintext file: \(refused.stderr)")

        try "backend = file\nbakcend = file\n".write(toFile: vault + "/config", atomically: true, encoding: .utf8)
        let bad = try cli.run("get", "s", "a")
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("config:2: unknown key 'bakcend'"))
    }

    @Test("an environment variable with a bad value is a configuration error (78)")
    func badEnvironment() throws {
        let (root, cli) = try fixture(["CREDVAULT_PROBE_TIMEOUT": "soon"]); defer { root.remove() }
        let output = try cli.run("list")
        #expect(output.status == 78)
        #expect(output.stderr.contains("CREDVAULT_PROBE_TIMEOUT=soon"))
    }

    @Test("a lock held by a stuck process: the writer gives up after the lock timeout (75), naming the holder")
    func stuckLock() throws {
        let (root, cli) = try fixture(["CREDVAULT_BACKEND": "file", "CREDVAULT_LOCK_TIMEOUT": "0.5"]); defer { root.remove() }
        #expect(try cli.run("set", "s", "a", input: "x").status == 0)
        let lockPath = root.path + "/vault/credentials.json.lock"
        let fd = open(lockPath, O_RDWR)
        #expect(flock(fd, LOCK_EX) == 0)
        _ = ftruncate(fd, 0)
        _ = "4242\n".withCString { pwrite(fd, $0, 5, 0) }
        defer { close(fd) }
        let output = try cli.run("set", "s", "b", input: "y")
        #expect(output.status == 75)
        #expect(output.stderr.contains("held by process 4242"))
        #expect(try cli.run("get", "s", "a").stdoutText == "x", "reads do not need the lock")
    }
}

/// main.swift parses `get S A`, `set S A` and `auth resolve` by hand for speed; every answer
/// must be the one the full ArgumentParser tree gives (CREDVAULT_NO_FAST_PATH=1 forces it).
@Suite("fast path")
struct FastPathTests {
    @Test("get, set and auth resolve answer byte for byte as through the full parser: output, errors, exit codes, files")
    func sameAnswers() throws {
        let cases: [(arguments: [String], input: String)] = [
            (["set", "svc", "acct"], "first secret"),
            (["get", "svc", "acct"], ""),
            (["-q", "get", "svc", "acct"], ""),
            (["--backend", "file", "get", "svc", "acct"], ""),
            (["--backend=file", "-v", "get", "svc", "acct"], ""),
            (["get", "svc", "missing"], ""),
            (["set", "", "acct"], "x"),
            (["get", "svc", ""], ""),
            (["--backend", "nonesuch", "get", "svc", "acct"], ""),
            (["--app", "Bad!", "get", "svc", "acct"], ""),
            (["--app", "other", "set", "svc", "acct"], "other app's secret"),
            (["--app", "other", "get", "svc", "acct"], ""),
            (["set", "svc", "empty"], ""),
            (["auth", "resolve"], ""),
            (["auth", "resolve", "--raw"], ""),
        ]
        var answers: [[String]] = []
        for fast in [true, false] {
            let root = try TemporaryDirectory(); defer { root.remove() }
            let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "OTHER_HOME": root.path + "/other",
                                                         "CREDVAULT_BACKEND": "file"]
                .merging(fast ? [:] : ["CREDVAULT_NO_FAST_PATH": "1"]) { $1 })
            var answer: [String] = []
            for (arguments, input) in cases {
                let result = try cli.run(arguments, input: Array(input.utf8))
                answer.append("\(arguments): \(result.status) [\(result.stdoutText)] [\(result.stderr.replacingOccurrences(of: root.path, with: "ROOT"))]")
            }
            answer.append("files: " + ((try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? []).sorted().joined(separator: " "))
            answers.append(answer)
        }
        for (fast, full) in zip(answers[0], answers[1]) {
            #expect(fast == full)
        }
        #expect(answers[0].contains { $0.hasPrefix("[\"get\", \"svc\", \"acct\"]: 0 [first secret]") }, "\(answers[0])")
    }
}
