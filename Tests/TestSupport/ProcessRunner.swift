import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The result of running a program to completion.
package struct ProcessOutput: Sendable {
    package var status: Int32
    package var stdout: [UInt8]
    package var stderr: String
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// A child process started with posix_spawn (Foundation's Process sometimes never notices
/// that a child whose own children keep running has exited).
package struct ChildProcess: Sendable {
    package let pid: pid_t

    /// Starts `arguments[0]` (searched on PATH) with exactly `environment`. Descriptors
    /// `stdin`, `stdout`, `stderr` become 0, 1, 2. With `newSession` it leads a new session
    /// and process group (setsid), so the whole group can be signalled. `extra` maps further
    /// descriptors of this process to the child's numbers (`[pipe: 3]`).
    package static func spawn(_ arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32,
                      newSession: Bool = false, extra: [Int32: Int32] = [:]) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        for (source, target) in extra { posix_spawn_file_actions_adddup2(&actions, source, target) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The test runner's threads block some signals, and a spawned child inherits the
        // mask: a shell's `wait` then never sees SIGCHLD, a server ignores SIGTERM. Start
        // children with an empty mask and default dispositions.
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= 0x80 /* POSIX_SPAWN_SETSID, hidden behind _GNU_SOURCE */ }
        posix_spawnattr_setflags(&attributes, flags)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw HarnessError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return ChildProcess(pid: pid)
    }

    /// Starts `arguments` with a pipe on stdin and /dev/null for output; returns the child
    /// and the pipe's write end (which the child does not inherit).
    package static func spawnWithInput(_ arguments: [String], environment: [String: String]) throws -> (ChildProcess, Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null); close(fds[0]) }
        return (try spawn(arguments, environment: environment, stdin: fds[0], stdout: null, stderr: null), fds[1])
    }

    /// Whether the child has not exited yet (waitid with WNOWAIT: the exit status stays for ``wait(timeout:)``).
    package var isRunning: Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return false }
        return info._sifields._sigchld.si_pid == 0
    }

    /// Waits up to `timeout` for the exit status; kills the child with SIGKILL after that and returns nil.
    package func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return Self.decode(status) }
            if result < 0 { return nil }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(1_000)
        }
    }

    /// The exit status, or 128+signal for a signalled child.
    package static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

package enum ProcessRunner {
    /// Runs `executable` with `arguments`, `environment` (exactly), `input` on stdin, waiting
    /// at most `timeout`; a process still running then is killed and reported as status -1.
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                    input: [UInt8] = [], timeout: TimeInterval = 60) throws -> ProcessOutput {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw HarnessError("pipe failed") }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // A session of its own: no controlling terminal, so a command never asks on the
        // terminal of whoever runs the tests (credvault asks on /dev/tty when it has one).
        let child = try ChildProcess.spawn([executable] + arguments, environment: environment,
                                           stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1], newSession: true)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        let collector = OutputCollector(stdout: outPipe[0], stderr: errPipe[0])
        let writer = inPipe[1]
        signal(SIGPIPE, SIG_IGN)
        input.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(writer, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        close(writer)
        let status = child.wait(timeout: timeout)
        let (out, err) = collector.finish()
        return ProcessOutput(status: status ?? -1, stdout: out, stderr: err)
    }

    /// Runs a shell command line (for test set-up only).
    @discardableResult
    package static func shell(_ command: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProcessOutput {
        try run("/bin/sh", ["-c", command], environment: environment)
    }
}

/// Reads a process's stdout and stderr on background threads so neither pipe fills up.
package final class OutputCollector: @unchecked Sendable {
    private var out: [UInt8] = [], err: [UInt8] = []
    private let group = DispatchGroup()

    package init(stdout: Int32, stderr: Int32) {
        group.enter()
        Thread.detachNewThread { self.out = OutputCollector.drain(stdout); self.group.leave() }
        group.enter()
        Thread.detachNewThread { self.err = OutputCollector.drain(stderr); self.group.leave() }
    }

    private static func drain(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            result.append(contentsOf: chunk[..<count])
        }
        close(fd)
        return result
    }

    /// Waits (at most 10 s after the process ended) for both streams.
    package func finish() -> ([UInt8], String) {
        _ = group.wait(timeout: .now() + 10)
        return (out, String(decoding: err, as: UTF8.self))
    }
}
