import CredentialVault
import Foundation
import Testing
import CredentialVaultTestSupport

/// Issue 17 item 14: the docker credential helper end to end, with a real registry client
/// (skopeo, Debian 12) against a real registry (docker-registry, Debian 12, htpasswd auth) on
/// loopback. skopeo, podman and buildah ignore docker's `credsStore`; they honour
/// `credHelpers`, read from `~/.docker/config.json` and from containers' `auth.json` (where
/// `skopeo login` and `logout` also write through the helper).
@Suite("registry clients through the helper", .serialized,
       .enabled(if: Components.present("skopeo", "docker-registry", "python3")))
struct RegistryTests {
    struct Fixture {
        let root: TemporaryDirectory
        let registry: ServiceProcess
        let port: Int
        var host: String { "127.0.0.1:\(port)" }
        let environment: [String: String]

        func skopeo(_ arguments: [String], input: String = "") throws -> ProcessOutput {
            try ProcessRunner.run("skopeo", arguments, environment: environment, input: Array(input.utf8), timeout: 60)
        }
        func credvault(_ arguments: [String], input: String = "") throws -> ProcessOutput {
            try ProcessRunner.run(CLI.executable, arguments, environment: environment, input: Array(input.utf8), timeout: 60)
        }
        func stop() { _ = registry.stop(); root.remove() }
    }

    static let password = "registry-pass-0001"

    func fixture() throws -> Fixture {
        let root = try TemporaryDirectory()
        let base = root.path
        for directory in ["/home/.docker", "/bin", "/run/containers", "/data"] {
            try FileManager.default.createDirectory(atPath: base + directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // htpasswd with a bcrypt hash (the only kind the registry accepts), from libxcrypt.
        let hash = try ProcessRunner.run("python3", ["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", Self.password],
                                         environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        try #require(hash.status == 0 && hash.stdoutText.hasPrefix("$2"), "bcrypt from python3's crypt: \(hash.stderr)")
        try "ci:\(hash.stdoutText)".write(toFile: base + "/htpasswd", atomically: true, encoding: .utf8)
        let image = try ProcessRunner.run("python3", [Repository.support("oci_image.py"), base + "/image"],
                                          environment: ProcessInfo.processInfo.environment, input: [], timeout: 30)
        try #require(image.status == 0, "\(image.stderr)")
        try FileManager.default.createSymbolicLink(atPath: base + "/bin/docker-credential-credvault", withDestinationPath: CLI.executable)
        let (registry, port) = try ServiceProcess.withFreePort { port -> (ServiceProcess, Int) in
            let config = """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: \(base)/data
                http:
                  addr: 127.0.0.1:\(port)
                auth:
                  htpasswd:
                    realm: credvault-test
                    path: \(base)/htpasswd
                """
            try config.write(toFile: base + "/registry.yml", atomically: true, encoding: .utf8)
            let service = try ServiceProcess("docker-registry", ["docker-registry", "serve", base + "/registry.yml"],
                                             environment: ProcessInfo.processInfo.environment, port: .given(port),
                                             readiness: .when(poll: 0.1) { _ in ServiceProcess.httpStatus("http://127.0.0.1:\(port)/v2/") == "401" },
                                             timeout: 30)
            return (service, port)
        }
        let environment = ["PATH": base + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                           "HOME": base + "/home", "XDG_RUNTIME_DIR": base + "/run",
                           "CREDVAULT_HOME": base + "/vault", "CREDVAULT_BACKEND": "file"]
        return Fixture(root: root, registry: registry, port: port, environment: environment)
    }

    func accounts(_ f: Fixture) throws -> [String] {
        let list = try JSONParser.parse(try f.credvault(["list", "--json"]).stdout)
        return list["items"]?.arrayValue?.compactMap { $0["account"]?.stringValue } ?? []
    }

    @Test("skopeo login, copy, inspect and logout with credHelpers: the password lives in credvault, never in auth.json")
    func skopeoWithCredHelpers() throws {
        let f = try fixture(); defer { f.stop() }
        let helpers = #"{"credHelpers": {"\#(f.host)": "credvault"}}"#
        try helpers.write(toFile: f.root.path + "/run/containers/auth.json", atomically: true, encoding: .utf8)
        let login = try f.skopeo(["login", "--tls-verify=false", "-u", "ci", "--password-stdin", f.host], input: Self.password + "\n")
        #expect(login.status == 0, "\(login.stderr)")
        #expect(try accounts(f) == [f.host], "skopeo login stored through the helper")
        let authFile = try String(contentsOfFile: f.root.path + "/run/containers/auth.json", encoding: .utf8)
        #expect(!authFile.contains(Self.password) && !authFile.contains(Data("ci:\(Self.password)".utf8).base64EncodedString()),
                "auth.json holds no credential: \(authFile)")

        let copy = try f.skopeo(["copy", "--dest-tls-verify=false", "oci:\(f.root.path)/image:latest", "docker://\(f.host)/test/hello:1"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let inspect = try f.skopeo(["inspect", "--tls-verify=false", "docker://\(f.host)/test/hello:1"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdoutText.contains("\"Name\": \"\(f.host)/test/hello\""), "\(inspect.stdoutText)")

        let logout = try f.skopeo(["logout", f.host])
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(try accounts(f).isEmpty, "skopeo logout erased through the helper")
        let refused = try f.skopeo(["inspect", "--tls-verify=false", "docker://\(f.host)/test/hello:1"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("unauthorized") || refused.stderr.contains("authentication required"), "\(refused.stderr)")
    }

    @Test("credHelpers in ~/.docker/config.json is honoured by skopeo; credsStore is not (so README documents both)")
    func dockerConfigFile() throws {
        let f = try fixture(); defer { f.stop() }
        let store = try f.credvault(["docker-credential", "store"], input: #"{"ServerURL":"\#(f.host)","Username":"ci","Secret":"\#(Self.password)"}"#)
        #expect(store.status == 0, "\(store.stdoutText) \(store.stderr)")
        // Push with explicit credentials, then read with the helper alone.
        let copy = try f.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "ci:\(Self.password)",
                                 "oci:\(f.root.path)/image:latest", "docker://\(f.host)/test/hello:2"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let config = f.root.path + "/home/.docker/config.json"
        try #"{"credHelpers": {"\#(f.host)": "credvault"}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let helped = try f.skopeo(["inspect", "--tls-verify=false", "docker://\(f.host)/test/hello:2"])
        #expect(helped.status == 0, "credHelpers: \(helped.stderr)")
        try #"{"credsStore": "credvault"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let ignored = try f.skopeo(["inspect", "--tls-verify=false", "docker://\(f.host)/test/hello:2"])
        #expect(ignored.status != 0, "skopeo ignores credsStore: \(ignored.stdoutText)")
    }
}
