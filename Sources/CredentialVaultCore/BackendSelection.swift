/// Which backend a vault uses, how it was chosen, and what every candidate's probe said.
public struct BackendSelection: Sendable {
    /// How the backend was named.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// By the caller (`--backend`, or ``VaultOptions/backend``).
        case option
        /// By an environment variable such as `CREDVAULT_BACKEND`.
        case environment(variable: String)
        /// By a `backend = NAME` line in the config file.
        case configFile(path: String)
        /// By probing the registered backends in priority order.
        case automatic
        /// The app's recorded home (``BackendHome``), kept in the file at `path`.
        case home(path: String)

        public var description: String {
            switch self {
            case .option: return "--backend option"
            case .environment(let variable): return "environment variable \(variable)"
            case .configFile(let path): return "config file \(path)"
            case .automatic: return "automatic selection"
            case .home(let path): return "this app's home, recorded in \(path)"
            }
        }
    }

    /// One registered backend and what its probe found.
    public struct Candidate: Sendable {
        public let name: String
        public let priority: Int
        public let protection: StorageProtection
        /// The probe's verdict, or `nil` when it was not probed (a backend before it was chosen).
        public let verdict: BackendAvailability?
        /// How long the probe took.
        public let elapsed: Duration?
    }

    /// The chosen backend's name.
    public let backend: String
    public let source: Source
    /// Every registered backend, highest priority first.
    public let candidates: [Candidate]
    /// Whether automatic selection fell back to a plaintext file because nothing better was usable.
    public let isPlaintextFallback: Bool

    /// One sentence for people: "secret-service (automatic selection)" or the fallback reason.
    public var explanation: String {
        if isPlaintextFallback {
            let reasons = candidates.compactMap { candidate -> String? in
                candidate.verdict?.reason.map { "\(candidate.name): \($0)" }
            }
            return "\(backend) (plaintext fallback; \(reasons.joined(separator: "; ")))"
        }
        return "\(backend) (\(source))"
    }
}
