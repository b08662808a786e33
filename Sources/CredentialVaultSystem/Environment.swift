#if canImport(Glibc)
import Glibc
#endif

/// This process's environment, one variable at a time (getenv: no copy of the whole
/// environment, which `ProcessInfo` makes on each access).
public enum Environment {
    /// The value of `name`, or nil when it is not set.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
