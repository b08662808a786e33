import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An X display (Xvfb) for the real dialogs of desktop keyrings, and a person at it
/// (xdotool): `../shared/notes/desktop-providers.md` has the facts this follows.
package final class VirtualDisplay: @unchecked Sendable {
    /// `:N`, as Xvfb chose it.
    package let name: String
    private let server: ServiceProcess

    /// Starts Xvfb on a display number it picks itself (`-displayfd`): the number it writes
    /// is the signal that it is ready for clients.
    package init() throws {
        server = try ServiceProcess("Xvfb", ["Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
                                    environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
                                    port: .announced(descriptor: 3, prefix: ""))
        guard let number = server.announcement.flatMap({ Int($0) }) else {
            server.stop(SIGKILL)
            throw HarnessError("Xvfb did not report a display number")
        }
        name = ":\(number)"
    }

    /// Runs xdotool (or xwininfo) against this display.
    @discardableResult
    package func x(_ tool: String, _ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/env", [tool] + arguments,
                              environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "DISPLAY": name], timeout: 10)
    }

    /// The windows whose title contains `title` and that are on screen (mapped and viewable).
    package func viewableWindows(_ title: String) throws -> [String] {
        let ids = try x("xdotool", ["search", "--name", title]).stdoutText.split(separator: "\n").map(String.init)
        return try ids.filter { try x("xwininfo", ["-id", $0]).stdoutText.contains("Map State: IsViewable") }
    }

    /// Waits until a window titled `title` is on screen; returns its id.
    package func waitForWindow(_ title: String, timeout: TimeInterval = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let window = try viewableWindows(title).first { return window }
            usleep(50_000)
        }
        throw HarnessError("no window titled '\(title)' appeared on \(name) within \(Int(timeout)) s")
    }

    /// Waits until no window titled `title` is on screen (a dialog closed after its answer).
    package func waitUntilGone(_ title: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try viewableWindows(title).isEmpty { return }
            usleep(50_000)
        }
        throw HarnessError("the window titled '\(title)' was still on \(name) after \(Int(timeout)) s")
    }

    /// A person typing `text` and pressing Return (keyboard focus is already on the dialog:
    /// there is no window manager).
    package func type(_ text: String) throws {
        try x("xdotool", ["type", "--delay", "40", text])
        try x("xdotool", ["key", "Return"])
    }

    /// A person pressing a key (Escape cancels a dialog).
    package func press(_ key: String) throws { try x("xdotool", ["key", key]) }

    package func shutdown() { server.stop(SIGTERM, grace: 5) }

    deinit { shutdown() }
}

/// A `credvault` run in the background, for tests that act while it waits.
package struct BackgroundRun {
    package let child: ChildProcess
    private let collector: OutputCollector

    package init(_ cli: CLI, _ arguments: [String], input: [UInt8] = [], extra: [String: String] = [:]) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw HarnessError("pipe failed") }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        child = try ChildProcess.spawn([CLI.executable] + cli.appArguments + arguments, environment: cli.environment.merging(extra) { $1 },
                                       stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1])
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        collector = OutputCollector(stdout: outPipe[0], stderr: errPipe[0])
        input.withUnsafeBytes { _ = write(inPipe[1], $0.baseAddress, $0.count) }
        close(inPipe[1])
    }

    /// Waits for the exit (killing it after `timeout`, status -1) and returns its output.
    package func finish(timeout: TimeInterval = 90) -> ProcessOutput {
        let status = child.wait(timeout: timeout)
        let (out, err) = collector.finish()
        return ProcessOutput(status: status ?? -1, stdout: out, stderr: err)
    }
}

/// `dbus-monitor` on a test bus, watching for one kind of message: what a client said to the
/// service, when what the service does with it cannot be seen (KeePassXC 2.7.4 leaves its
/// window open after Prompt.Dismiss).
package final class BusMonitor: @unchecked Sendable {
    private let child: ChildProcess
    private let output: Int32
    private var seen: [UInt8] = []

    /// Starts monitoring `rule`; returns once the bus has made it a monitor (it then reports its
    /// own NameLost), so no matching message can slip by before.
    package init(environment: [String: String], rule: String) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        child = try ChildProcess.spawn(["dbus-monitor", "--session", rule],
                                       environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 },
                                       stdin: null, stdout: fds[1], stderr: null)
        close(fds[1])
        output = fds[0]
        let deadline = Date().addingTimeInterval(10)
        while !String(decoding: seen, as: UTF8.self).contains("member=NameLost") {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            guard count > 0, Date() < deadline else { throw HarnessError("dbus-monitor did not become a monitor") }
            seen += chunk[..<count]
        }
    }

    /// Waits until the monitor has printed `text` (a message has passed on the bus); returns
    /// whether it did within `timeout` seconds.
    package func waitUntilSeen(_ text: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !String(decoding: seen, as: UTF8.self).contains(text) {
            var ready = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard remaining > 0, poll(&ready, 1, remaining) == 1 else { return false }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            seen += chunk[..<count]
        }
        return true
    }

    /// Stops monitoring and returns everything it printed.
    package func stop() -> String {
        kill(child.pid, SIGTERM)
        _ = child.wait(timeout: 5)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            seen += chunk[..<count]
        }
        close(output)
        return String(decoding: seen, as: UTF8.self)
    }
}
