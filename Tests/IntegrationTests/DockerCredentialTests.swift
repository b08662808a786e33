import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// The docker-credential-helpers protocol, byte for byte, through the
/// `docker-credential-credvault` link the install step makes: every verb and error case.
/// Expected bytes follow that project's credentials package (Go encoding/json output with a
/// newline, errors printed to stdout, exit 1).
@Suite("docker credential helper", .serialized)
struct DockerCredentialTests {
    struct Helper {
        let link: String
        let environment: [String: String]
        func run(_ arguments: [String], _ input: String = "") throws -> ProcessOutput {
            try ProcessRunner.run(link, arguments, environment: environment, input: Array(input.utf8), timeout: 60)
        }
    }

    func withHelper(keyring: KeyringHarness? = nil, _ body: (Helper) throws -> Void) throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let link = home.path + "/docker-credential-credvault"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CLI.executable)
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
                           "CREDVAULT_HOME": home.path + "/vault"]
        if let keyring { environment.merge(keyring.environment) { $1 } } else { environment["CREDVAULT_BACKEND"] = "file" }
        try body(Helper(link: link, environment: environment))
    }

    func exchange(_ helper: Helper) throws {
        // store: nothing on stdout, exit 0.
        let store = try helper.run(["store"], #"{"ServerURL":"https://registry.example/v1/","Username":"ci-bot","Secret":"tok<&>\"en\u2028\n"}"#)
        #expect(store.status == 0 && store.stdout.isEmpty, "store: \(store.stdoutText) \(store.stderr)")
        // get: Go's encoding (HTML-safe escapes, U+2028 escaped), then a newline.
        let get = try helper.run(["get"], "https://registry.example/v1/\n")
        #expect(get.status == 0)
        #expect(get.stdoutText == #"{"ServerURL":"https://registry.example/v1/","Username":"ci-bot","Secret":"tok\u003c\u0026\u003e\"en\u2028\n"}"# + "\n")
        // list: a JSON object of URL to username.
        _ = try helper.run(["store"], #"{"serverurl":"b.example","username":"u2","secret":"s2"}"#)
        let list = try helper.run(["list"])
        #expect(list.status == 0)
        #expect(list.stdoutText == #"{"b.example":"u2","https://registry.example/v1/":"ci-bot"}"# + "\n")
        // erase, then get misses with the exact message docker matches.
        let erase = try helper.run(["erase"], "https://registry.example/v1/")
        #expect(erase.status == 0 && erase.stdout.isEmpty)
        let miss = try helper.run(["get"], "https://registry.example/v1/")
        #expect(miss.status == 1)
        #expect(miss.stdoutText == "credentials not found in native keychain\n")
        // Erasing what is not there is not an error (docker-credential-secretservice's behaviour).
        let again = try helper.run(["erase"], "https://registry.example/v1/")
        #expect(again.status == 0 && again.stdout.isEmpty)
        #expect(try helper.run(["list"]).stdoutText == #"{"b.example":"u2"}"# + "\n")
    }

    @Test("store, get, list, erase on the file backend")
    func fileBackend() throws {
        try withHelper { try exchange($0) }
    }

    @Test("store, get, list, erase on a real keyring",
          .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool")))
    func keyringBackend() throws {
        let harness = try KeyringHarness(); defer { harness.shutdown() }
        try withHelper(keyring: harness) { helper in
            try exchange(helper)
            let lookup = try harness.secretTool(["lookup", "service", "docker-credential", "username", "b.example"])
            #expect(lookup.stdoutText == "s2", "the keyring holds it: \(lookup.stderr)")
        }
    }

    @Test("every error case prints the protocol's message on stdout and exits 1")
    func errors() throws {
        try withHelper { helper in
            let cases: [([String], String, String)] = [
                ([], "", "Usage: docker-credential-credvault <store|get|erase|list|version>\n"),
                (["get", "extra"], "", "Usage: docker-credential-credvault <store|get|erase|list|version>\n"),
                (["frobnicate"], "", "Unknown credential action `frobnicate`\n"),
                (["get"], "", "no credentials server URL\n"),
                (["get"], "  \n", "no credentials server URL\n"),
                (["erase"], "", "no credentials server URL\n"),
                (["store"], #"{"ServerURL":"","Username":"u","Secret":"s"}"#, "no credentials server URL\n"),
                (["store"], #"{"ServerURL":"r.example","Secret":"s"}"#, "no credentials username\n"),
                (["store"], "", "EOF\n"),
                (["store"], #"{"ServerURL":42}"#, "json: cannot unmarshal number into Go struct field Credentials.ServerURL of type string\n"),
                (["store"], "[]", "json: cannot unmarshal array into Go value of type credentials.Credentials\n"),
                (["get"], "never.stored.example", "credentials not found in native keychain\n"),
            ]
            for (arguments, input, expected) in cases {
                let output = try helper.run(arguments, input)
                #expect(output.status == 1, "\(arguments) \(input)")
                #expect(output.stdoutText == expected, "\(arguments) \(input): \(output.stdoutText)")
            }
            #expect(try helper.run(["list"]).stdoutText == "{}\n", "nothing was stored by the failed calls")
            let version = try helper.run(["version"])
            #expect(version.status == 0)
            #expect(version.stdoutText == "docker-credential-credvault (credvault) \(CredentialVault.version)\n")
        }
    }

    @Test("credvault docker-credential ACTION behaves the same as the link")
    func subcommand() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let cli = CLI(home: home.path, environment: ["CREDVAULT_HOME": home.path + "/vault", "CREDVAULT_BACKEND": "file"])
        #expect(try cli.run(["docker-credential", "store"], input: Array(#"{"ServerURL":"r","Username":"u","Secret":"s"}"#.utf8)).status == 0)
        #expect(try cli.run(["docker-credential", "get"], input: Array("r".utf8)).stdoutText == #"{"ServerURL":"r","Username":"u","Secret":"s"}"# + "\n")
        let miss = try cli.run(["docker-credential", "get"], input: Array("q".utf8))
        #expect(miss.status == 1 && miss.stdoutText == "credentials not found in native keychain\n")
    }
}
