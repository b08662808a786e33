import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// Secrets and passphrases typed at a real terminal (a pseudo-terminal that is the command's
/// controlling terminal, driven by Tests/support/terminal_session.py), and the one rule every
/// passphrase source follows.
@Suite("Terminal and passphrase input", .serialized)
struct TerminalInputTests {
    struct Session: Decodable {
        var status: Int32?
        var signal: Int32?
        var output: String
        var echo_at_prompt: [Bool]
        var echo_after: Bool
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("support/terminal_session.py").path

    /// Runs `arguments` of credvault on a new terminal with `cli`'s environment.
    func session(_ cli: CLI, _ mode: [String], _ arguments: [String]) throws -> Session {
        let command = ["/usr/bin/python3", Self.script] + mode + ["--", CLI.executable] + arguments
        let output = try ProcessRunner.run(command[0], Array(command.dropFirst()), environment: cli.environment, input: [], timeout: 60)
        #expect(output.status == 0, "terminal_session.py: \(output.stderr)")
        return try JSONDecoder().decode(Session.self, from: Data(output.stdout))
    }

    func fixture() throws -> (TemporaryDirectory, CLI) {
        let root = try TemporaryDirectory()
        return (root, CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file"]))
    }

    @Test("a secret typed at the terminal: echo off while asked, on afterwards, stored byte for byte, never shown")
    func typedSecret() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let typed = try session(cli, ["type", "Secret for", "typed secret ü 42"], ["set", "svc", "acct"])
        #expect(typed.status == 0, "\(typed.output)")
        #expect(typed.echo_at_prompt == [false], "echo is off while the secret is typed")
        #expect(typed.echo_after, "echo is back on when the command has ended")
        #expect(!typed.output.contains("typed secret"), "the terminal never showed the secret: \(typed.output)")
        #expect(try cli.run("get", "svc", "acct").stdoutText == "typed secret ü 42")
    }

    @Test("Ctrl-C and SIGTERM at a no-echo prompt end the command and leave echo on; nothing is stored", arguments: ["INT", "TERM", "HUP"])
    func interruptedPrompt(signal name: String) throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let interrupted = try session(cli, ["interrupt", name, "Secret for"], ["set", "svc", "acct"])
        let number: Int32 = name == "INT" ? SIGINT : name == "TERM" ? SIGTERM : SIGHUP
        #expect(interrupted.signal == number, "ended by the signal: \(interrupted)")
        #expect(interrupted.echo_at_prompt == [false])
        #expect(interrupted.echo_after, "echo restored after SIG\(name) at the prompt")
        #expect(try cli.run("get", "svc", "acct").status == 1)
    }

    @Test("issue 17 item 6: with the secret on stdin (a pipe) and a locked store, the passphrase is asked on the terminal (/dev/tty), as sudo and gpg do")
    func passphraseOnTerminalWhileStdinIsTheSecret() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let path = root.path + "/passphrase"
        FileManager.default.createFile(atPath: path, contents: Data("terminal passphrase 01\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run(["password", "set", "--passphrase-file", path], extra: ["CREDVAULT_BACKEND": ""]).status == 0)
        var environment = cli.environment
        environment["CREDVAULT_BACKEND"] = ""
        let shell = "printf piped-secret | '\(CLI.executable)' set svc acct"
        let command = ["/usr/bin/python3", Self.script, "type", "Passphrase for", "terminal passphrase 01", "--", "/bin/sh", "-c", shell]
        let output = try ProcessRunner.run(command[0], Array(command.dropFirst()), environment: environment, input: [], timeout: 60)
        #expect(output.status == 0, "the old code exited 69 ('locked … a terminal (you will be asked)') without asking: \(output.stdoutText) \(output.stderr)")
        let session = try JSONDecoder().decode(Session.self, from: Data(output.stdout))
        #expect(session.status == 0, "\(session.output)")
        #expect(session.echo_at_prompt == [false], "echo off while the passphrase is typed")
        let get = try cli.run(["get", "svc", "acct"], extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FILE": path])
        #expect(get.stdoutText == "piped-secret", "\(get.stderr)")
    }

    @Test("issue 17 item 6: export from a locked store asks for the store's passphrase with the spinner erased, not drawn over the prompt")
    func noSpinnerOverPrompt() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let path = root.path + "/passphrase"
        FileManager.default.createFile(atPath: path, contents: Data("terminal passphrase 02\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run(["set", "svc", "acct"], input: Array("value".utf8), extra: ["CREDVAULT_BACKEND": ""]).status == 0)
        #expect(try cli.run(["password", "set", "--passphrase-file", path], extra: ["CREDVAULT_BACKEND": ""]).status == 0)
        var environment = cli.environment
        environment["CREDVAULT_BACKEND"] = ""
        let unlock = "Passphrase for ", backup = "Passphrase for the new backup", again = "The same passphrase again: "
        let command = ["/usr/bin/python3", Self.script, "read-then-type", backup, "backup passphrase 0001", again, "backup passphrase 0001",
                       unlock, "terminal passphrase 02", "--", CLI.executable, "password", "export", "--kdf", "interactive", "--out", root.path + "/b.cvb"]
        let output = try ProcessRunner.run(command[0], Array(command.dropFirst()), environment: environment, input: [], timeout: 60)
        #expect(output.status == 0, "terminal_session.py: \(output.stderr)")
        let session = try JSONDecoder().decode(Session.self, from: Data(output.stdout))
        #expect(session.status == 0, "\(session.output)")
        // The store's prompt is the third one; what the terminal showed from it to the end of
        // its line (the person's Enter) must be the prompt alone.
        let prompts = session.output.ranges(of: unlock)
        try #require(prompts.count == 2, "\(session.output)")
        let shownWhileAsked = session.output[prompts[1].upperBound...].prefix { $0 != "\n" && $0 != "\r\n" }
        #expect(!shownWhileAsked.contains("\u{1b}[K") && !shownWhileAsked.contains("Reading items"),
                "the spinner was drawn over the prompt: \(shownWhileAsked.debugDescription)")
        #expect(session.output.contains("Reading items"), "the spinner does run (the test sees it when it is there): \(session.output.debugDescription)")
        #expect(FileManager.default.fileExists(atPath: root.path + "/b.cvb"))
    }

    @Test("issue 17 item 6: password set at a terminal names what it asks for, refuses a short passphrase before asking twice, and a typo gets another try")
    func newPassphraseRetries() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        #expect(try cli.run("set", "svc", "acct", input: "value").status == 0)
        let prompt = "Passphrase for the new store password: ", again = "The same passphrase again: "
        let session = try session(cli, ["type", prompt, "short", prompt, "long enough passphrase 1", again, "long enough passphrase X",
                                        prompt, "long enough passphrase 1", again, "long enough passphrase 1"], ["password", "set"])
        #expect(session.status == 0, "\(session.output)")
        #expect(session.output.contains("use at least 12"), "the floor is checked after the first entry: \(session.output)")
        #expect(session.output.contains("the two passphrases differ; try again."), "\(session.output)")
        #expect(session.echo_at_prompt == [false, false, false, false, false])
        let path = root.path + "/passphrase"
        FileManager.default.createFile(atPath: path, contents: Data("long enough passphrase 1\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run(["get", "svc", "acct"], extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FILE": path]).stdoutText == "value")
    }

    @Test("issue 17 item 8: the plaintext-fallback notice is short, names the app's own commands, and comes before the secret is typed")
    func fallbackNoticeBeforeTheSecret() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        // No CREDVAULT_BACKEND: automatic selection, no keyring here, so the plaintext fallback.
        let cli = CLI(home: root.path, environment: ["SKILLMEAT_HOME": root.path + "/vault"])
        let typed = try session(cli, ["type", "Secret for", "typed secret 43"], ["--app", "skillmeat", "set", "svc", "acct"])
        #expect(typed.status == 0, "\(typed.output)")
        let notice = try #require(typed.output.range(of: "no keyring is usable"), "\(typed.output)")
        let prompt = try #require(typed.output.range(of: "Secret for"))
        #expect(notice.lowerBound < prompt.lowerBound, "the old notice came after the secret was typed: \(typed.output)")
        let line = typed.output[notice.lowerBound...].prefix { $0 != "\r" && $0 != "\n" }
        #expect(line.count < 250, "at most about half the old 430 characters, with the app's long command twice: \(line.count)")
        #expect(line.contains("`credvault --app skillmeat doctor`") && line.contains("SKILLMEAT_NO_PLAINTEXT_FALLBACK=1"), "\(line)")
    }

    @Test("issue 17 item 8: during auth login at a terminal, the plaintext notice gets a line of its own, not the countdown's")
    func noticeNotOnTheCountdownLine() throws {
        let pending: JSONValue = .object(["status": .number(400), "json": .object(["error": .string("authorization_pending")])])
        let tokens: JSONValue = .object(["status": .number(200), "json": .object([
            "access_token": .string("terminal-access-token"), "token_type": .string("Bearer"), "expires_in": .number(3600)])])
        let device: JSONValue = .object(["status": .number(200), "json": .object([
            "device_code": .string("dc-1"), "user_code": .string("WXYZ-2345"), "expires_in": .number(60), "interval": .number(1),
            "verification_uri": .string("$BASE/activate")])])
        let peer = try OAuthPeer("fault", [], script: .object(["device": device, "token": .array([pending, tokens])]))
        defer { peer.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        // No CREDVAULT_BACKEND: automatic selection, no keyring here, so the plaintext fallback,
        // whose notice comes with the first write: the tokens, while the countdown is shown.
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_AUTH_ISSUER_URL": peer.base,
                                                     "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        let login = try session(cli, ["type"], ["auth", "login", "--no-browser"])
        #expect(login.status == 0, "\(login.output)")
        try #require(login.output.contains("Waiting for approval"), "the countdown was shown: \(login.output.debugDescription)")
        let notice = try #require(login.output.range(of: "credvault: warning: no keyring is usable"), "\(login.output.debugDescription)")
        let before = login.output[..<notice.lowerBound]
        #expect(before.hasSuffix("\n") || before.hasSuffix("\r\u{1b}[K"),
                "the notice starts a line of its own: \(String(before.suffix(60)).debugDescription)")
        let after = login.output[notice.upperBound...]
        #expect(!after.contains("Waiting for approval") || after.contains("\r\u{1b}[K"), "the countdown is erased at the end")
    }

    @Test("a passphrase file that sets the password also unlocks it: one line, a trailing \\n or \\r\\n ignored, every source alike")
    func onePassphraseRule() throws {
        let (root, cli) = try fixture(); defer { root.remove() }
        let path = root.path + "/passphrase"
        FileManager.default.createFile(atPath: path, contents: Data("windows passphrase 01\r\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try cli.run("set", "svc", "acct", input: "value").status == 0)
        let set = try cli.run(["password", "set", "--passphrase-file", path], extra: ["CREDVAULT_BACKEND": ""])
        #expect(set.status == 0, "\(set.stderr)")
        let env = ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FILE": path]
        let viaFile = try cli.run(["get", "svc", "acct"], extra: env)
        #expect(viaFile.stdoutText == "value", "the same file unlocks through <APP>_PASSPHRASE_FILE: \(viaFile.stderr)")
        // The same passphrase on a descriptor, without the \r: the same key.
        let viaFD = try cli.run(["get", "svc", "acct"], input: Array("windows passphrase 01\n".utf8),
                                extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FD": "0"])
        #expect(viaFD.stdoutText == "value", "\(viaFD.stderr)")

        // A second line is refused by every source, with the reason (65), never cut off silently.
        let twoLines = root.path + "/two-lines"
        FileManager.default.createFile(atPath: twoLines, contents: Data("windows passphrase 01\nsecond line\n".utf8), attributes: [.posixPermissions: 0o600])
        for extra in [["CREDVAULT_PASSPHRASE_FILE": twoLines], ["CREDVAULT_PASSPHRASE_FD": "0"]] {
            let refused = try cli.run(["get", "svc", "acct"], input: Array("windows passphrase 01\nsecond line\n".utf8),
                                      extra: extra.merging(["CREDVAULT_BACKEND": ""]) { $1 })
            #expect(refused.status == 65, "\(extra): \(refused.stderr)")
            #expect(refused.stderr.contains("more than one line"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("second line"), "the passphrase never appears in a message")
        }
        // A symbolic link is refused by --passphrase-file and <APP>_PASSPHRASE_FILE alike (77).
        let link = root.path + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(try cli.run(["get", "svc", "acct"], extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FILE": link]).status == 77)
        #expect(try cli.run(["password", "export", "--out", root.path + "/b.cvb", "--passphrase-file", link],
                            extra: ["CREDVAULT_BACKEND": "", "CREDVAULT_PASSPHRASE_FILE": path]).status == 77)
    }
}
