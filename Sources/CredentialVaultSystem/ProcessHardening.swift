internal import CSystemBoundary

/// Hardening for processes that hold passphrases and keys.
public enum ProcessHardening {
    /// No core file, and no ptrace attach by other processes of the same user
    /// (cvs_disable_core_dumps: setrlimit RLIMIT_CORE 0, prctl PR_SET_DUMPABLE 0).
    /// Returns whether both took effect.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        cvs_disable_core_dumps() == 0
    }
}
