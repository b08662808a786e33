import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one way a test runs an external service (OpenBao, Glewlwyd, the fault server, git's
/// HTTP server, Xvfb, KeePassXC): its port is one it picked itself and announced (port 0 read
/// back) or a free loopback port reserved here; it is ready when a real signal says so (the
/// announcement, an HTTP answer, a name on the bus), never after a fixed pause; and it is
/// killed by its pid when stopped or when the test process exits.
package final class ServiceProcess: Sendable {
    /// Where the service's port comes from.
    package enum Port: Sendable {
        /// No port (a display, a D-Bus service).
        case none
        /// The service picks its own (port 0) and announces it as the first line it writes on
        /// `descriptor`, after `prefix` ("PORT=" or nothing): the line is also its readiness.
        case announced(descriptor: Int32, prefix: String)
        /// The service listens where it is told: `{port}` in the arguments becomes this port.
        case given(Int)
    }

    /// When the service counts as ready, besides an announcement.
    package enum Readiness: Sendable {
        /// The announcement (or the start, for `.none` and `.given` ports) is enough.
        case started
        /// `check` returns true, asked every `poll` seconds until the start-up deadline.
        case when(poll: Double, @Sendable (ServiceProcess) throws -> Bool)
    }

    package let name: String
    package let pid: pid_t
    /// The port it listens on, for `.announced` and `.given`.
    package let port: Int?
    /// The announced line without its prefix, for `.announced` (a display number, a port).
    package let announcement: String?
    /// Where its stdout and stderr go (unless announced on stdout).
    package let log: String
    /// Whether it leads its own process group (signals then go to the whole group).
    package let isGroupLeader: Bool

    /// Starts `arguments` (with `{port}` replaced) with exactly `environment`, waits until it is
    /// ready, within `timeout` seconds.
    ///
    /// - Throws: `HarnessError` with the end of the log when it exits or is not ready in time
    ///   (it is then killed).
    package init(_ name: String, _ arguments: [String], environment: [String: String], port: Port = .none,
                 readiness: Readiness = .started, log: String? = nil, stdin: Int32? = nil, newSession: Bool = false,
                 timeout: Double = 60) throws {
        self.name = name
        isGroupLeader = newSession
        let log = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("credvault-\(name)-\(getpid())-\(UUID().uuidString.prefix(6)).log").path
        self.log = log
        var given: Int?
        if case .given(let number) = port { given = number }
        let arguments = arguments.map { argument in given.map { argument.replacingOccurrences(of: "{port}", with: String($0)) } ?? argument }
        let output = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(output); close(null) }
        let child: ChildProcess
        var line: String?
        switch port {
        case .announced(let descriptor, let prefix):
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            defer { close(fds[0]) }
            child = try ChildProcess.spawn(arguments, environment: environment, stdin: stdin ?? null,
                                           stdout: descriptor == 1 ? fds[1] : output, stderr: output,
                                           newSession: newSession, extra: descriptor == 1 ? [:] : [fds[1]: descriptor])
            close(fds[1])
            let first = Self.firstLine(fds[0])
            guard let first, first.hasPrefix(prefix) else {
                Self.kill(child)
                throw HarnessError("\(name) did not announce itself ('\(first ?? "")'): \(Self.tail(log))")
            }
            line = String(first.dropFirst(prefix.count))
        case .none, .given:
            child = try ChildProcess.spawn(arguments, environment: environment, stdin: stdin ?? null, stdout: output, stderr: output,
                                           newSession: newSession)
        }
        pid = child.pid
        announcement = line
        switch port {
        case .given(let number): self.port = number
        case .announced: self.port = line.flatMap { Int($0) }
        case .none: self.port = nil
        }
        Self.remember(pid)
        if case .when(let poll, let check) = readiness {
            var exited = false
            let ready = try waitUntil(seconds: timeout, poll: poll) {
                if !child.isRunning { exited = true; return true }
                return try check(self)
            }
            guard ready, !exited else {
                Self.kill(child)
                throw HarnessError("\(name) \(exited ? "exited" : "was not ready within \(Int(timeout)) s"): \(Self.tail(log))")
            }
        }
    }

    /// Whether it still runs.
    package var isRunning: Bool { ChildProcess(pid: pid).isRunning }

    /// Sends `signal`, then SIGKILL if it has not exited after `grace` seconds; returns its
    /// exit status (nil when it had to be killed).
    @discardableResult
    package func stop(_ signal: Int32 = SIGTERM, grace: Double = 10) -> Int32? {
        Glibc.kill(isGroupLeader ? -pid : pid, signal)
        let status = ChildProcess(pid: pid).wait(timeout: grace)
        if status == nil, isGroupLeader { Glibc.kill(-pid, SIGKILL) }
        Self.forget(pid)
        return status
    }

    /// Sends `signal` and does not wait (SIGSTOP, SIGCONT, a reload).
    package func signal(_ signal: Int32) { Glibc.kill(pid, signal) }

    /// The end of its log, for a failure message.
    package var logTail: String { Self.tail(log) }

    // MARK: - Ports

    /// A free loopback TCP port: bound as port 0 (the kernel picks it), read back, released
    /// for the service to bind. Another process could take it in between; callers retry.
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `start` with a fresh free port until it succeeds (at most `attempts` times): the
    /// port was free when chosen, but another process may bind it first.
    package static func withFreePort<Service>(attempts: Int = 5, _ start: (Int) throws -> Service) throws -> Service {
        var lastError: any Error = HarnessError("no port tried")
        for _ in 0..<attempts {
            do { return try start(try freePort()) } catch { lastError = error }
        }
        throw lastError
    }

    /// The HTTP status `curl` gets from `url` ("000" when nothing answers).
    package static func httpStatus(_ url: String, caCertificate: String? = nil, insecure: Bool = false) -> String {
        var arguments = ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}"]
        if let caCertificate { arguments += ["--cacert", caCertificate] }
        if insecure { arguments.append("-k") }
        return (try? ProcessRunner.run("/usr/bin/curl", arguments + [url], environment: ProcessInfo.processInfo.environment,
                                       input: [], timeout: 10).stdoutText) ?? "000"
    }

    // MARK: - Clean-up by pid

    private static let running = Mutex<Set<pid_t>>([])

    /// Records `pid` (a service this harness started, or one a start script left running) to
    /// be killed when the test process exits.
    package static func remember(_ pid: pid_t) {
        let first = running.withLock { pids in
            defer { pids.insert(pid) }
            return pids.isEmpty
        }
        if first {
            atexit { ServiceProcess.running.withLock { $0.forEach { Glibc.kill($0, SIGKILL) } } }
        }
    }

    private static func forget(_ pid: pid_t) { _ = running.withLock { $0.remove(pid) } }

    private static func kill(_ child: ChildProcess) {
        Glibc.kill(child.pid, SIGKILL)
        _ = child.wait(timeout: 5)
        forget(child.pid)
    }

    private static func firstLine(_ fd: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    private static func tail(_ log: String) -> String {
        String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(2000))
    }
}
