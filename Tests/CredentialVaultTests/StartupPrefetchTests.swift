import CCredvaultStartup
import Foundation
import Testing

/// The credvault executable's constructor starts connecting to the Secret Service before
/// main() only when the run will certainly probe it first; any doubt leaves it to the real
/// selector. (That the prefetched connection is then used, and gives way at the deadline,
/// is proved by the Secret Service CLI tests, which run `get` against real daemons.)
@Suite("startup prefetch decision")
struct StartupPrefetchTests {
    /// `cvs_startup_will_probe_keyring` on this argv and environment.
    func decide(_ arguments: [String], _ environment: [String: String]) -> Bool {
        var argv = arguments.map { strdup($0) }
        var envp = environment.map { strdup("\($0.key)=\($0.value)") }
        argv.append(nil); envp.append(nil)
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        return cvs_startup_will_probe_keyring(Int32(arguments.count), argv, envp) == 1
    }

    @Test("a plain `get` or `auth resolve` with a session bus and no backend named in its config prefetches; every other shape does not")
    func decisions() throws {
        let home = try TemporaryDirectory(); defer { home.remove() }
        let bus = ["DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus", "HOME": home.path]
        #expect(decide(["/usr/bin/credvault", "get", "svc", "acct"], bus))
        #expect(decide(["credvault", "-q", "--app", "skillmeat", "get", "svc", "acct"], bus))
        #expect(decide(["credvault", "get", "svc", "acct"], bus.merging(["CREDVAULT_BACKEND": ""]) { $1 }), "an empty variable selects nothing")

        #expect(!decide(["credvault", "--backend", "file", "get", "svc", "acct"], bus), "an explicit backend")
        #expect(!decide(["credvault", "--backend=secret-service", "get", "svc", "acct"], bus), "any option the constructor does not know")
        #expect(!decide(["credvault", "get", "svc", "acct"], bus.merging(["CREDVAULT_BACKEND": "file"]) { $1 }))
        #expect(!decide(["credvault", "--app", "skillmeat", "get", "s", "a"], bus.merging(["SKILLMEAT_BACKEND": "file"]) { $1 }))
        #expect(!decide(["credvault", "get", "svc", "acct"], ["HOME": home.path]), "no session bus")
        #expect(decide(["credvault", "--app", "bench", "auth", "resolve", "--raw"], bus), "auth resolve opens the vault first")
        #expect(decide(["credvault", "auth", "resolve", "--workspace", "team"], bus))
        #expect(!decide(["credvault", "get", "s", "a", "--raw"], bus), "not an option of get")
        #expect(!decide(["credvault", "auth", "resolve", "--token-file", "/x"], bus))
        for verb in [["set", "s", "a"], ["list"], ["auth", "status"], ["get", "s"], ["get", "s", "a", "extra"]] {
            #expect(!decide(["credvault"] + verb, bus), "\(verb)")
        }
        #expect(!decide(["/usr/bin/docker-credential-credvault", "get"], bus))
        #expect(!decide(["credvault", "--app", "Bad!", "get", "s", "a"], bus))

        // A config file that names a backend, or that might: then only the real selector decides.
        let directory = home.path + "/.config/credvault"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (text, prefetches) in [("issuer = https://id.example\n# backend = file\n\n", true),
                                   ("  backend\t=  file\n", false), ("issuer = x\nbackend=secret-service\n", false),
                                   ("not a key value line\n", false), ("backends = x\n", true)] {
            FileManager.default.createFile(atPath: directory + "/config", contents: Data(text.utf8))
            #expect(decide(["credvault", "get", "svc", "acct"], bus) == prefetches, "\(text)")
        }
        FileManager.default.createFile(atPath: directory + "/config", contents: Data("backend = file\n".utf8))
        #expect(!decide(["credvault", "get", "svc", "acct"], bus))
        #expect(decide(["credvault", "get", "svc", "acct"], bus.merging(["CREDVAULT_HOME": home.path + "/elsewhere"]) { $1 }),
                "<APP>_HOME moves the directory, and with it the config file")
        #expect(!decide(["credvault", "get", "svc", "acct"], bus.merging(["XDG_CONFIG_HOME": home.path + "/.config"]) { $1 }))

        // A bus found through XDG_RUNTIME_DIR.
        let runtime = home.path + "/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        #expect(!decide(["credvault", "get", "s", "a"], ["XDG_RUNTIME_DIR": runtime, "HOME": home.path + "/elsewhere"]))
        FileManager.default.createFile(atPath: runtime + "/bus", contents: nil)
        #expect(decide(["credvault", "get", "s", "a"], ["XDG_RUNTIME_DIR": runtime, "HOME": home.path + "/elsewhere"]))
    }
}
