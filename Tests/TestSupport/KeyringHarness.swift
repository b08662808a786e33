import Foundation
import Testing

/// A real gnome-keyring-daemon on a private D-Bus session bus, started and stopped by the
/// tests: `dbus-run-session` owns the bus, and `gnome-keyring-daemon --unlock
/// --components=secrets` is unlocked with a throwaway password and a throwaway HOME.
package final class KeyringHarness: @unchecked Sendable {
    private var isShutDown = false
    package let root: TemporaryDirectory
    package let address: String
    package private(set) var daemonPID: Int32?
    private let session: ServiceProcess
    package static let password = "throwaway-test-password"

    /// HOME, XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS for a client of this bus.
    package var environment: [String: String] {
        ["HOME": root.path + "/home", "XDG_RUNTIME_DIR": root.path + "/run", "DBUS_SESSION_BUS_ADDRESS": address]
    }

    /// Starts a bus and, when `keyring` is true, an unlocked keyring daemon on it. With
    /// `activation` false the bus has no service directories, so nothing can be activated.
    /// With `display` (an X display such as `:5`), services the bus starts (the daemon, and
    /// the `gcr-prompter` it starts for its unlock dialog) see that display.
    /// With `serviceDirectory`, the bus activates services from that directory only.
    /// With `allowOtherUsers`, the bus lets processes of any user connect (`<allow user="*"/>`
    /// and an abstract socket, which has no file mode: a misconfigured bus), so that the
    /// provider's own check can be tested.
    package init(keyring: Bool = true, activation: Bool = true, display: String? = nil, serviceDirectory: String? = nil,
                 allowOtherUsers: Bool = false) throws {
        root = try TemporaryDirectory()
        for sub in ["home", "run"] {
            try FileManager.default.createDirectory(atPath: "\(root.path)/\(sub)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var arguments = ["dbus-run-session"]
        if !activation || serviceDirectory != nil || allowOtherUsers {
            let config = root.path + "/bus.conf"
            try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>\(allowOtherUsers ? "unix:abstract=/credvault-test-\(UUID().uuidString)" : "unix:tmpdir=\(root.path)/run")</listen>
              <auth>EXTERNAL</auth>
            \(serviceDirectory.map { "  <servicedir>\($0)</servicedir>" } ?? "")
              <policy context="default">\(allowOtherUsers ? "<allow user=\"*\"/>" : "")<allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
            </busconfig>
            """.write(toFile: config, atomically: true, encoding: .utf8)
            arguments += ["--config-file=\(config)"]
        }
        // The shell inside the session writes the bus address to a file (renamed into place:
        // its appearance is the readiness), then stays until this test process is gone, and
        // takes the daemon and the group with it. The bus keeps /dev/null as its output, so
        // the services it activates never write into a pipe nobody reads.
        let addressFile = root.path + "/address"
        arguments += ["--", "sh", "-c", "printf %s \"$DBUS_SESSION_BUS_ADDRESS\" > '\(addressFile).tmp' && mv '\(addressFile).tmp' '\(addressFile)' && while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; [ -f '\(root.path)/daemon.pid' ] && kill -9 $(cat '\(root.path)/daemon.pid'); kill -TERM 0"]
        session = try ServiceProcess("dbus-run-session", arguments, environment: [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": root.path + "/home", "XDG_RUNTIME_DIR": root.path + "/run",
        ], readiness: .when(poll: 0.01) { _ in FileManager.default.fileExists(atPath: addressFile) },
           log: "/dev/null", newSession: true, timeout: 5)
        address = try String(contentsOfFile: addressFile, encoding: .utf8)
        if let display { try updateActivationEnvironment(["DISPLAY": display]) }
        if keyring { try startKeyring() }
    }

    /// Adds `variables` to the environment of the services the bus starts (dbus-update-activation-environment).
    package func updateActivationEnvironment(_ variables: [String: String]) throws {
        let update = try ProcessRunner.run("/usr/bin/env", ["dbus-update-activation-environment"] + variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                                           environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                                           timeout: 10)
        guard update.status == 0 else { throw HarnessError("dbus-update-activation-environment failed: \(update.stderr)") }
    }

    private func startKeyring() throws {
        // The daemon forks and keeps its stdout/stderr: send them to a file, not to our pipes,
        // or reading the pipes to EOF would wait for the daemon to exit.
        let output = try ProcessRunner.run("/bin/sh", ["-c", "exec gnome-keyring-daemon --unlock --components=secrets >'\(root.path)/gnome-keyring.log' 2>&1"],
                                           environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                                           input: Array(Self.password.utf8), timeout: 20)
        guard output.status == 0 else { throw HarnessError("gnome-keyring-daemon failed (\(output.status)): \(output.stderr)") }
        _ = try waitUntil(seconds: 5) { try busCall("NameHasOwner", "string:org.freedesktop.secrets").contains("boolean true") }
        let reply = try busCall("GetConnectionUnixProcessID", "string:org.freedesktop.secrets")
        guard let pid = reply.split(separator: " ").last.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw HarnessError("gnome-keyring-daemon did not take org.freedesktop.secrets: \(reply)")
        }
        daemonPID = pid
        try "\(pid)".write(toFile: root.path + "/daemon.pid", atomically: true, encoding: .utf8)
    }

    /// Whether `name` has an owner on this bus (org.freedesktop.DBus.NameHasOwner).
    package func hasOwner(_ name: String) throws -> Bool {
        try busCall("NameHasOwner", "string:\(name)").contains("boolean true")
    }

    private func busCall(_ method: String, _ argument: String) throws -> String {
        try ProcessRunner.run("/usr/bin/env", ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                                               "/org/freedesktop/DBus", "org.freedesktop.DBus.\(method)", argument],
                              environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                              timeout: 10).stdoutText
    }

    /// Locks the default collection through the Secret Service API (Service.Lock).
    package func lockDefaultCollection() throws {
        let output = try ProcessRunner.run("/usr/bin/env", ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
                                                            "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
                                                            "array:objpath:/org/freedesktop/secrets/aliases/default"],
                                           environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                                           timeout: 10)
        guard output.status == 0 else { throw HarnessError("Service.Lock failed: \(output.stderr)") }
    }

    /// Freezes the daemon (SIGSTOP), as a wedged daemon would be.
    package func stopDaemon() { if let daemonPID { kill(daemonPID, SIGSTOP) } }
    /// Thaws it (SIGCONT).
    package func continueDaemon() { if let daemonPID { kill(daemonPID, SIGCONT) } }

    /// Runs `secret-tool` against this keyring.
    package func secretTool(_ arguments: [String], input: [UInt8] = []) throws -> ProcessOutput {
        // A UTF-8 locale, as a person's: secret-tool converts its arguments from the locale's charset.
        try ProcessRunner.run("/usr/bin/env", ["secret-tool"] + arguments,
                              environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                                                                "LANG": "C.UTF-8"]) { $1 },
                              input: input, timeout: 20)
    }

    /// Stops the daemon and the bus, and removes the directory.
    package func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        if let daemonPID { kill(daemonPID, SIGCONT); kill(daemonPID, SIGTERM) }
        // dbus-run-session leads its own process group: end the bus, the shell and the daemon.
        session.stop(SIGTERM, grace: 5)
        root.remove()
    }

    deinit { shutdown() }
}

package struct HarnessError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
