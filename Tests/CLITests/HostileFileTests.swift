import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// Issue 16, items 1–3 and 7: what another local user, or a crafted file, can put where
/// credvault reads. "Another user" is uid 65534 (nobody): the test, running as root as CI
/// does, hands files and directories to that user with chown(2), which is the state a
/// hostile neighbour leaves them in. Each test names the finding it guards against.
@Suite("Hostile neighbours and crafted files", .serialized)
struct HostileFileTests {
    static let otherUser: uid_t = 65534

    struct Fixture {
        let root: TemporaryDirectory
        var vault: String { root.path + "/vault" }
        func cli(home: String? = nil, _ extra: [String: String] = [:]) -> CLI {
            CLI(home: root.path, environment: ["CREDVAULT_HOME": home ?? vault, "CREDVAULT_BACKEND": "file"].merging(extra) { $1 })
        }
        func write(_ path: String, _ text: String, mode: mode_t = 0o600) throws {
            try #require(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: Int(mode)]))
            chmod(path, mode)
        }
        func makeDirectory(_ path: String, mode: mode_t) throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try #require(chmod(path, mode) == 0)
        }
        func giveAway(_ path: String) throws {
            try #require(chown(path, HostileFileTests.otherUser, HostileFileTests.otherUser) == 0, "the tests run as root, as CI does, to hand files to another user")
        }
    }

    func fixture() throws -> Fixture {
        let root = try TemporaryDirectory()
        try #require(chmod(root.path, 0o700) == 0)
        return Fixture(root: root)
    }

    // MARK: Item 1: config and the directories above it

    @Test("a config owned by another user is refused (77) and not obeyed: its `backend = memory` would have lost the secret",
          .enabled(if: Components.rootOrRequired))
    func foreignConfig() throws {
        let f = try fixture(); defer { f.root.remove() }
        try f.makeDirectory(f.vault, mode: 0o700)
        try f.write(f.vault + "/config", "backend = memory\n", mode: 0o644)
        try f.giveAway(f.vault + "/config")
        let cli = CLI(home: f.root.path, environment: ["CREDVAULT_HOME": f.vault])
        let set = try cli.run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(set.status == 77, "\(set.stderr)")
        #expect(set.stderr.contains("owned by uid 65534"), "\(set.stderr)")
        #expect(set.stderr.contains("/vault/config"))
    }

    @Test("a config of yours that others may write (0664) is refused; at 0644 it is read")
    func writableConfig() throws {
        let f = try fixture(); defer { f.root.remove() }
        try f.makeDirectory(f.vault, mode: 0o700)
        try f.write(f.vault + "/config", "backend = no-such-backend\n", mode: 0o664)
        let cli = CLI(home: f.root.path, environment: ["CREDVAULT_HOME": f.vault])
        let refused = try cli.run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains("chmod go-w"), "the refusal gives the fix: \(refused.stderr)")
        chmod(f.vault + "/config", 0o644)
        let read = try cli.run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(read.stderr.contains("no-such-backend"), "at 0644 the file is read and obeyed: \(read.stderr)")
    }

    @Test("a FIFO named config is refused at once (77), never waited on; so is a symbolic link")
    func fifoAndLinkConfig() throws {
        let f = try fixture(); defer { f.root.remove() }
        try f.makeDirectory(f.vault, mode: 0o700)
        try #require(mkfifo(f.vault + "/config", 0o600) == 0)
        // The old reader blocked in open(2) for ever; the 20 s limit turns that into a failure.
        let fifo = try f.cli().run(["list"], timeout: 20)
        #expect(fifo.status == 77, "\(fifo.stderr)")
        #expect(fifo.stderr.contains("not a regular file"), "\(fifo.stderr)")
        unlink(f.vault + "/config")
        try f.write(f.root.path + "/elsewhere", "backend = memory\n")
        try #require(symlink(f.root.path + "/elsewhere", f.vault + "/config") == 0)
        let link = try f.cli().run(["list"], timeout: 20)
        #expect(link.status == 77, "\(link.stderr)")
        #expect(link.stderr.contains("symbolic link"), "\(link.stderr)")
    }

    @Test("an app directory under a directory others can write (0777, no sticky bit) or another user owns is refused; under /tmp's 1777 it is fine",
          .enabled(if: Components.rootOrRequired))
    func ancestors() throws {
        let f = try fixture(); defer { f.root.remove() }
        let shared = f.root.path + "/shared"
        try f.makeDirectory(shared, mode: 0o777)
        let open = try f.cli(home: shared + "/vault").run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(open.status == 77, "\(open.stderr)")
        #expect(open.stderr.contains("\(shared) has mode 777"), "\(open.stderr)")
        #expect(!FileManager.default.fileExists(atPath: shared + "/vault"), "nothing was created there")

        try #require(chmod(shared, 0o1777) == 0)
        let sticky = try f.cli(home: shared + "/vault").run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(sticky.status == 0, "a sticky directory (as /tmp) cannot have our entries replaced: \(sticky.stderr)")

        let foreign = f.root.path + "/theirs"
        try f.makeDirectory(foreign, mode: 0o755)
        try f.giveAway(foreign)
        let owned = try f.cli(home: foreign + "/vault").run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(owned.status == 77, "\(owned.stderr)")
        #expect(owned.stderr.contains("owned by uid 65534"), "\(owned.stderr)")
    }

    @Test("an app directory that is a link into a directory others can write is refused, and nothing there is chmod-ed")
    func linkedDirectory() throws {
        let f = try fixture(); defer { f.root.remove() }
        let shared = f.root.path + "/shared"
        try f.makeDirectory(shared + "/target", mode: 0o700)
        try #require(chmod(shared, 0o777) == 0)
        try #require(symlink(shared + "/target", f.vault) == 0)
        let output = try f.cli().run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(output.status == 77, "\(output.stderr)")
        #expect(output.stderr.contains("\(shared) has mode 777"), "\(output.stderr)")
    }

    // MARK: Item 2: links and the lock file

    @Test("a lock file that is a hard link to another file of yours is refused before anything is written to it")
    func hardLinkedLock() throws {
        let f = try fixture(); defer { f.root.remove() }
        try f.makeDirectory(f.vault, mode: 0o700)
        let victim = f.root.path + "/precious"
        try f.write(victim, "precious contents\n")
        try #require(link(victim, f.vault + "/credentials.json.lock") == 0)
        let output = try f.cli().run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(output.status == 77, "\(output.stderr)")
        #expect(output.stderr.contains("hard links"), "\(output.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious contents\n", "the other name's contents are untouched")
    }

    @Test("a hard-linked credentials.json is refused: a deletion would survive in the other name")
    func hardLinkedStore() throws {
        let f = try fixture(); defer { f.root.remove() }
        #expect(try f.cli().run(["set", "svc", "alice"], input: Array("s3cret".utf8)).status == 0)
        try #require(link(f.vault + "/credentials.json", f.root.path + "/copy") == 0)
        let delete = try f.cli().run("delete", "svc", "alice")
        #expect(delete.status == 77, "\(delete.stderr)")
        #expect(delete.stderr.contains("2 hard links"), "\(delete.stderr)")
        let get = try f.cli().run("get", "svc", "alice")
        #expect(get.status == 77, "reading is refused too: \(get.stderr)")
    }

    @Test("a plaintext credentials.json beside the encrypted store is kept when it holds items the store lacks")
    func plaintextLeftoverKept() throws {
        let f = try fixture(); defer { f.root.remove() }
        let passphrase = f.root.path + "/pw"
        try f.write(passphrase, "a long enough passphrase\n")
        let cli = CLI(home: f.root.path, environment: ["CREDVAULT_HOME": f.vault, "CREDVAULT_PASSPHRASE_FILE": passphrase])
        #expect(try cli.run(["set", "svc", "alice"], input: Array("in-store".utf8)).status == 0)
        #expect(try cli.run("password", "set").status == 0)
        // Something that did not know of the password wrote a plaintext store with another item.
        let other = f.root.path + "/other"
        let otherCLI = CLI(home: f.root.path, environment: ["CREDVAULT_HOME": other, "CREDVAULT_BACKEND": "file"])
        #expect(try otherCLI.run(["set", "elsewhere", "bob"], input: Array("only-in-plaintext".utf8)).status == 0)
        let leftover = try #require(FileManager.default.contents(atPath: other + "/credentials.json"))
        try f.write(f.vault + "/credentials.json", String(decoding: leftover, as: UTF8.self))
        #expect(try cli.run(["set", "svc", "carol"], input: Array("another".utf8)).status == 0)
        #expect(FileManager.default.contents(atPath: f.vault + "/credentials.json") == leftover, "kept, unread bytes intact")
        #expect(try cli.run("password", "status").stdoutText.contains("plaintext credentials.json remains"))
    }

    // MARK: Item 3: sizes checked before reading

    @Test("a 64 GiB sparse credentials.json and an 8 GiB sparse bundle are refused from their size (65), in bounded memory")
    func hugeFiles() throws {
        let f = try fixture(); defer { f.root.remove() }
        try f.makeDirectory(f.vault, mode: 0o700)
        let store = f.vault + "/credentials.json"
        try f.write(store, "")
        try #require(truncate(store, 64 << 30) == 0)
        // The old reader aborted trying to allocate 64 GiB.
        let get = try f.cli().run(["get", "svc", "alice"], timeout: 30)
        #expect(get.status == 65, "\(get.stderr)")
        #expect(get.stderr.contains("68719476736 bytes, more than"), "\(get.stderr)")
        unlink(store)

        let bundle = f.root.path + "/huge.cvbundle"
        try f.write(bundle, "CVBUNDLE")
        try #require(truncate(bundle, 8 << 30) == 0)
        // The old reader took 45–80 s and 16.8 GB before its exit 65; the 30 s limit fails it.
        let inspect = try f.cli().run(["password", "inspect", bundle], timeout: 30)
        #expect(inspect.status == 65, "\(inspect.stderr)")
        #expect(inspect.stderr.contains("8589934592 bytes, more than"), "\(inspect.stderr)")
    }

    // MARK: Item 7: one passphrase rule

    @Test("password set refuses a short passphrase from every source: file variable, descriptor variable, --passphrase-fd")
    func shortPassphraseEverywhere() throws {
        let f = try fixture(); defer { f.root.remove() }
        let short = f.root.path + "/short"
        try f.write(short, "a\n")
        let viaVariable = try f.cli(["CREDVAULT_PASSPHRASE_FILE": short]).run("password", "set")
        #expect(viaVariable.status == 64, "\(viaVariable.stderr)")
        #expect(viaVariable.stderr.contains("has 1 character; use at least 12"), "\(viaVariable.stderr)")
        let viaDescriptor = try f.cli(["CREDVAULT_PASSPHRASE_FD": "0"]).run(["password", "set"], input: Array("short\n".utf8))
        #expect(viaDescriptor.status == 64, "\(viaDescriptor.stderr)")
        let viaOption = try f.cli().run(["password", "set", "--passphrase-fd", "0"], input: Array("tiny\n".utf8))
        #expect(viaOption.status == 64, "\(viaOption.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.vault + "/credentials.cvstore"), "no store was encrypted with a short passphrase")
    }

    @Test("issue 17 item 9: HOME=/nonexistent is refused (73) naming it, and nothing is created; a missing ~/.config alone is made")
    func missingHome() throws {
        let f = try fixture(); defer { f.root.remove() }
        let home = f.root.path + "/nonexistent"
        let cli = CLI(home: home, environment: ["CREDVAULT_BACKEND": "file"])
        let output = try cli.run(["set", "svc", "alice"], input: Array("s3cret".utf8))
        #expect(output.status == 73, "\(output.stderr)")
        #expect(output.stderr.contains("\(home) does not exist"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home), "the old code made the missing home (as root, anywhere)")
        try f.makeDirectory(home, mode: 0o700)
        #expect(try cli.run(["set", "svc", "alice"], input: Array("s3cret".utf8)).status == 0, "with the home there, ~/.config/credvault is made")
        #expect(FileManager.default.fileExists(atPath: home + "/.config/credvault/credentials.json"))
    }
}
