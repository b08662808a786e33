#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A program started with `posix_spawnp`, its standard streams on `/dev/null`, that this
/// process does not wait for unless asked (a browser launcher, say).
package struct SpawnedProcess: Sendable {
    package let pid: pid_t

    /// Starts `arguments[0]` (looked up in `PATH`) with `arguments` and `environment`.
    package static func start(_ arguments: [String], environment: [String: String]) throws(Errno) -> SpawnedProcess {
        precondition(!arguments.isEmpty)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else { throw Errno(rawValue: result) }
        return SpawnedProcess(pid: pid)
    }

    /// The exit status once the program has ended (reaping it), nil while it runs
    /// (`waitpid` with `WNOHANG`). A program killed by a signal reports 128 + the signal.
    package func exitStatus() -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The exit status if the program ends within `limit`, else nil (it keeps running). Checks
    /// every 20 ms: a child's exit has no descriptor to wait on without a signal handler.
    package func exitStatus(within limit: Duration) -> Int32? {
        let deadline = ContinuousClock.now + limit
        var status = exitStatus()
        while status == nil, ContinuousClock.now < deadline {
            _ = usleep(20_000)
            status = exitStatus()
        }
        return status
    }
}
