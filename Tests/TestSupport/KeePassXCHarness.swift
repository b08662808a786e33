import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// KeePassXC 2.7 (Debian 12) as the Secret Service provider, as `../shared/notes/desktop-providers.md`
/// describes it: on its own X display (it needs one even when nobody clicks), on a private bus
/// where nothing else can be activated, with a database whose group "Secrets" is exposed
/// (made by Tests/support/keepassxc_database.py) and unlocked from the test (`--pw-stdin`), or
/// left locked.
package final class KeePassXCHarness: @unchecked Sendable {
    package static let password = "keepassxc-test-password"
    package let display: VirtualDisplay
    package let bus: KeyringHarness
    private let process: ServiceProcess
    package let database: String

    /// HOME, XDG_CONFIG_HOME (KeePassXC's settings), XDG_RUNTIME_DIR and the bus, without DISPLAY.
    package var environment: [String: String] {
        bus.environment.merging(["XDG_CONFIG_HOME": bus.root.path + "/home/.config"]) { $1 }
    }

    /// Starts KeePassXC. With `confirmAccess`, every client's first access to an item opens
    /// KeePassXC's "Access Request" dialog (its default); with `unlocked` false the database
    /// stays locked.
    package init(confirmAccess: Bool = false, unlocked: Bool = true) throws {
        display = try VirtualDisplay()
        bus = try KeyringHarness(keyring: false, activation: false, display: display.name)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let configDirectory = bus.root.path + "/home/.config/keepassxc"
        try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        try """
        [General]
        SingleInstance=false
        RememberLastDatabases=false
        RememberLastKeyFiles=false
        [GUI]
        CheckForUpdates=false
        ShowTrayIcon=false
        [FdoSecrets]
        Enabled=true
        ShowNotification=false
        ConfirmAccessItem=\(confirmAccess)
        ConfirmDeleteItem=false
        """.write(toFile: configDirectory + "/keepassxc.ini", atomically: true, encoding: .utf8)
        database = bus.root.path + "/secrets.kdbx"
        let script = Repository.support("keepassxc_database.py")
        let made = try ProcessRunner.run("/usr/bin/env", ["python3", script, database],
                                         environment: ["PATH": path, "HOME": bus.root.path + "/home"],
                                         input: Array((Self.password + "\n").utf8), timeout: 120)
        guard made.status == 0 else { throw HarnessError("making the KeePassXC database failed: \(made.stderr)") }
        let environment = bus.environment.merging(["PATH": path, "DISPLAY": display.name, "XDG_CONFIG_HOME": bus.root.path + "/home/.config",
                                                    "QT_QPA_PLATFORM": "xcb"]) { $1 }
        // The password on a pipe (--pw-stdin), written before the start so that readiness is
        // the unlocked collection answering.
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        if unlocked { _ = (Self.password + "\n").withCString { write(fds[1], $0, strlen($0)) } }
        close(fds[1])
        defer { close(fds[0]) }
        // Unlocking is asynchronous, and a client that calls before it is done makes KeePassXC
        // show its own unlock dialog: ready when the default collection answers, unlocked if asked.
        let busEnvironment = bus.environment.merging(["PATH": path]) { $1 }
        let wanted = unlocked ? "boolean false" : "boolean true"
        process = try ServiceProcess("keepassxc", ["keepassxc"] + (unlocked ? ["--pw-stdin"] : []) + [database],
                                     environment: environment, readiness: .when(poll: 0.1) { _ in
                                         try ProcessRunner.run("/usr/bin/env", [
                                             "dbus-send", "--session", "--print-reply", "--reply-timeout=2000", "--dest=org.freedesktop.secrets",
                                             "/org/freedesktop/secrets/aliases/default", "org.freedesktop.DBus.Properties.Get",
                                             "string:org.freedesktop.Secret.Collection", "string:Locked",
                                         ], environment: busEnvironment, timeout: 10).stdoutText.contains(wanted)
                                     },
                                     log: bus.root.path + "/keepassxc.log", stdin: fds[0], timeout: 30)
    }

    /// Runs `secret-tool` against KeePassXC.
    package func secretTool(_ arguments: [String], input: [UInt8] = []) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/env", ["secret-tool"] + arguments,
                              environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                              input: input, timeout: 20)
    }

    package func shutdown() {
        if process.isRunning { process.stop(SIGTERM, grace: 10) }
        bus.shutdown()
        display.shutdown()
    }

    deinit { shutdown() }
}
