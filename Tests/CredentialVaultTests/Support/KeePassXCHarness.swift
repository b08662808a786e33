import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// KeePassXC 2.7 (Debian 12) as the Secret Service provider, as `../shared/notes/desktop-providers.md`
/// describes it: on its own X display (it needs one even when nobody clicks), on a private bus
/// where nothing else can be activated, with a database whose group "Secrets" is exposed
/// (made by Tests/support/keepassxc_database.py) and unlocked from the test (`--pw-stdin`), or
/// left locked.
final class KeePassXCHarness: @unchecked Sendable {
    static let password = "keepassxc-test-password"
    let display: VirtualDisplay
    let bus: KeyringHarness
    private let process: ChildProcess
    let database: String

    /// HOME, XDG_CONFIG_HOME (KeePassXC's settings), XDG_RUNTIME_DIR and the bus, without DISPLAY.
    var environment: [String: String] {
        bus.environment.merging(["XDG_CONFIG_HOME": bus.root.path + "/home/.config"]) { $1 }
    }

    /// Starts KeePassXC. With `confirmAccess`, every client's first access to an item opens
    /// KeePassXC's "Access Request" dialog (its default); with `unlocked` false the database
    /// stays locked.
    init(confirmAccess: Bool = false, unlocked: Bool = true) throws {
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
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let log = open(bus.root.path + "/keepassxc.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(log); close(fds[0]) }
        process = try ChildProcess.spawn(["keepassxc"] + (unlocked ? ["--pw-stdin"] : []) + [database],
                                         environment: environment, stdin: fds[0], stdout: log, stderr: log)
        if unlocked { _ = (Self.password + "\n").withCString { write(fds[1], $0, strlen($0)) } }
        close(fds[1])
        // Unlocking is asynchronous, and a client that calls before it is done makes KeePassXC
        // show its own unlock dialog: wait until the default collection answers, unlocked if asked.
        let deadline = Date().addingTimeInterval(30)
        while true {
            let reply = try ProcessRunner.run("/usr/bin/env", [
                "dbus-send", "--session", "--print-reply", "--reply-timeout=2000", "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/aliases/default", "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection", "string:Locked",
            ], environment: bus.environment.merging(["PATH": path]) { $1 }, timeout: 10).stdoutText
            if reply.contains(unlocked ? "boolean false" : "boolean true") { break }
            guard Date() < deadline, process.isRunning else {
                shutdown()
                throw HarnessError("KeePassXC did not serve an \(unlocked ? "unlocked" : "locked") default collection within 30 s: \(reply)")
            }
            usleep(100_000)
        }
    }

    /// Runs `secret-tool` against KeePassXC.
    func secretTool(_ arguments: [String], input: [UInt8] = []) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/env", ["secret-tool"] + arguments,
                              environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                              input: input, timeout: 20)
    }

    func shutdown() {
        if process.isRunning {
            kill(process.pid, SIGTERM)
            if process.wait(timeout: 10) == nil { kill(process.pid, SIGKILL) }
        }
        bus.shutdown()
        display.shutdown()
    }

    deinit { shutdown() }
}
