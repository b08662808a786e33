import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// gnome-keyring as a desktop user has it: locked, with its real unlock dialog
/// (`gcr-prompter`) on an X display, and a person (xdotool) who types the password, cancels,
/// presses Ctrl-C or walks away. In none of these may anything reach `credentials.json`.
@Suite("gnome-keyring's unlock dialog on a desktop", .serialized,
       .enabled(if: Components.present("dbus-run-session", "gnome-keyring-daemon", "secret-tool", "Xvfb", "xdotool", "xwininfo")))
struct DesktopKeyringTests {
    /// The window title of gnome-keyring's unlock dialog for the login collection.
    static let dialog = "Unlock"

    struct Desktop {
        let display: VirtualDisplay
        let keyring: KeyringHarness
        /// credvault with the display (a desktop session).
        let cli: CLI
        /// credvault on the same bus without a display (an SSH session into the desktop).
        let headless: CLI
        var plaintextFile: String { keyring.root.path + "/vault/credentials.json" }
        var homeRecord: String { keyring.root.path + "/vault/home" }
    }

    func withDesktop(_ body: (Desktop) throws -> Void) throws {
        let display = try VirtualDisplay()
        defer { display.shutdown() }
        let keyring = try KeyringHarness(display: display.name)
        defer { keyring.shutdown() }
        let base = keyring.environment.merging(["CREDVAULT_HOME": keyring.root.path + "/vault"]) { $1 }
        let desktop = Desktop(display: display, keyring: keyring,
                              cli: CLI(home: keyring.root.path + "/home", environment: base.merging(["DISPLAY": display.name]) { $1 }),
                              headless: CLI(home: keyring.root.path + "/home", environment: base))
        try body(desktop)
        #expect(!FileManager.default.fileExists(atPath: desktop.plaintextFile), "nothing may reach the plaintext file")
    }

    /// Stores an item while the keyring is unlocked (which records it as the app's home), then locks it.
    func storeThenLock(_ desktop: Desktop, _ service: String, _ value: String) throws {
        let set = try desktop.cli.run("set", service, "alice", input: value)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try String(contentsOfFile: desktop.homeRecord, encoding: .utf8) == "secret-service\n")
        try desktop.keyring.lockDefaultCollection()
    }

    @Test("locked: a person types the password into the dialog 4 s later, and get and set succeed on the keyring")
    func personUnlocks() throws {
        try withDesktop { desktop in
            try storeThenLock(desktop, "desk.example", "first")
            let get = try BackgroundRun(desktop.cli, ["get", "desk.example", "alice"])
            _ = try desktop.display.waitForWindow(Self.dialog)
            // The person reads the dialog before typing: the 4 s are the scenario, not a wait for readiness.
            fixedPause(4, because: "a person reads the unlock dialog before typing")
            #expect(get.child.isRunning, "get must still be waiting for the person after 4 s")
            try desktop.display.type(KeyringHarness.password)
            let got = get.finish()
            #expect(got.status == 0, "\(got.stderr)")
            #expect(got.stdoutText == "first")

            // The first dialog is gone before the second is asked for, so the person answers the new one.
            try desktop.display.waitUntilGone(Self.dialog)
            try desktop.keyring.lockDefaultCollection()
            let set = try BackgroundRun(desktop.cli, ["set", "desk.example", "alice"], input: Array("second".utf8))
            _ = try desktop.display.waitForWindow(Self.dialog)
            try desktop.display.type(KeyringHarness.password)
            let stored = set.finish()
            #expect(stored.status == 0, "\(stored.stderr)")
            #expect(try desktop.keyring.secretTool(["lookup", "service", "desk.example", "username", "alice"]).stdoutText == "second")
        }
    }

    @Test("the person cancels the dialog: exit 79, reported as cancelled, no dialog left open")
    func personCancels() throws {
        try withDesktop { desktop in
            try storeThenLock(desktop, "cancel.example", "kept")
            let get = try BackgroundRun(desktop.cli, ["get", "cancel.example", "alice"])
            _ = try desktop.display.waitForWindow(Self.dialog)
            try desktop.display.press("Escape")
            let output = get.finish()
            #expect(output.status == 79, "\(output.stderr)")
            #expect(output.stderr.contains("unlock dialog was cancelled"), "\(output.stderr)")
            #expect(output.stdout.isEmpty)
            #expect(try desktop.display.viewableWindows(Self.dialog).isEmpty, "the dialog must be gone")
        }
    }

    @Test("Ctrl-C while waiting for the person closes the dialog (exit 130)")
    func interruptDismisses() throws {
        try withDesktop { desktop in
            try storeThenLock(desktop, "interrupt.example", "kept")
            let set = try BackgroundRun(desktop.cli, ["set", "interrupt.example", "alice"], input: Array("never".utf8))
            _ = try desktop.display.waitForWindow(Self.dialog)
            kill(set.child.pid, SIGINT)
            let interrupted = Date()
            let output = set.finish()
            #expect(Date().timeIntervalSince(interrupted) < 3, "Ctrl-C ends the wait at once")
            #expect(output.status == 130, "\(output.stderr)")
            #expect(output.stderr.contains("unlock dialog; it was closed"), "\(output.stderr)")
            #expect(try desktop.display.viewableWindows(Self.dialog).isEmpty, "Ctrl-C must dismiss the dialog (Prompt.Dismiss), not leave it on screen")
        }
    }

    @Test("nobody answers: the prompt timeout closes the dialog and refuses (exit 75)")
    func nobodyAnswers() throws {
        try withDesktop { desktop in
            try storeThenLock(desktop, "away.example", "kept")
            let start = Date()
            let get = try BackgroundRun(desktop.cli, ["get", "away.example", "alice"], extra: ["CREDVAULT_PROMPT_TIMEOUT": "3"])
            _ = try desktop.display.waitForWindow(Self.dialog)
            let output = get.finish()
            let elapsed = Date().timeIntervalSince(start)
            #expect(output.status == 75, "\(output.stderr)")
            #expect(output.stderr.contains("nobody answered the keyring's unlock dialog within 3 s"), "\(output.stderr)")
            #expect(elapsed >= 3, "the person gets the whole prompt timeout, not the 2 s call deadline (\(elapsed) s)")
            #expect(try desktop.display.viewableWindows(Self.dialog).isEmpty, "the dialog must be closed at the timeout")
        }
    }

    @Test("locked with no display (SSH into the desktop): exit 69 in under 3 s with how to unlock, for every verb")
    func noDisplay() throws {
        try withDesktop { desktop in
            try storeThenLock(desktop, "ssh.example", "kept")
            for arguments in [["get", "ssh.example", "alice"], ["set", "ssh.example", "alice"], ["list"], ["delete", "ssh.example", "alice"]] {
                let start = Date()
                let output = try desktop.headless.run(arguments, input: Array("new".utf8))
                #expect(Date().timeIntervalSince(start) < 3, "\(arguments)")
                #expect(output.status == 69, "\(arguments): \(output.stderr)")
                #expect(output.stderr.contains("no unlock dialog can be shown here"), "\(output.stderr)")
                #expect(output.stderr.contains("gnome-keyring-daemon --unlock"), "\(output.stderr)")
                #expect(output.stderr.contains("KeePassXC"), "\(output.stderr)")
            }
            // Without a recorded home (a first run), a locked keyring is still never passed over.
            try FileManager.default.removeItem(atPath: desktop.homeRecord)
            let first = try desktop.headless.run("set", "ssh.example", "bob", input: "new")
            #expect(first.status == 69, "\(first.stderr)")
            #expect(first.stderr.contains("Nothing was read from or written to another backend"), "\(first.stderr)")
        }
    }

    @Test("a stopped (SIGSTOP) daemon: exit 75 naming the keyring, with or without a recorded home, nothing written elsewhere")
    func stoppedDaemon() throws {
        try withDesktop { desktop in
            let set = try desktop.cli.run("set", "stopped.example", "alice", input: "kept")
            #expect(set.status == 0, "\(set.stderr)")
            desktop.keyring.stopDaemon()
            defer { desktop.keyring.continueDaemon() }
            for _ in 0..<2 {
                let start = Date()
                let output = try desktop.cli.run(["set", "stopped.example", "alice"], input: Array("lost?".utf8), extra: ["CREDVAULT_PROBE_TIMEOUT": "1"])
                #expect(Date().timeIntervalSince(start) < 5)
                #expect(output.status == 75, "\(output.stderr)")
                #expect(output.stderr.contains("did not answer within 1 s"), "\(output.stderr)")
                try? FileManager.default.removeItem(atPath: desktop.homeRecord) // the second round: no recorded home
            }
        }
    }
}
