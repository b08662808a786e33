/// An error from CredentialVault: a code (which the CLI maps to its exit status), a message
/// for people that says what went wrong and what to do next, and the underlying cause.
///
/// Messages never contain secret bytes.
public struct CredentialVaultError: Error, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        guard let cause else { return message }
        return "\(message) (\(cause))"
    }

    /// What kind of failure this is. Each code has a stable exit status (`exitStatus`),
    /// documented in README.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The process exit status the CLI uses for this code.
        public let exitStatus: Int32
        private let name: String
        private init(_ exitStatus: Int32, _ name: String) { self.exitStatus = exitStatus; self.name = name }

        /// No item for that service and account (exit 1).
        public static let notFound = Code(1, "not found")
        /// Bad command-line usage or arguments (exit 64).
        public static let usage = Code(64, "usage")
        /// Input or a stored file that cannot be understood (exit 65).
        public static let dataError = Code(65, "data error")
        /// No usable backend, the keyring is locked, or plaintext fallback was refused (exit 69).
        public static let unavailable = Code(69, "unavailable")
        /// The backend that holds the app's items is locked and could not be unlocked here (exit 69,
        /// as ``unavailable``): a keyring with no way to show its unlock dialog.
        public static let locked = Code(69, "locked")
        /// A person cancelled the keyring's unlock or access dialog (exit 79).
        public static let cancelled = Code(79, "cancelled")
        /// A bug or an unexpected failure inside CredentialVault (exit 70).
        public static let `internal` = Code(70, "internal error")
        /// A write could not be completed: disk full, read-only file system (exit 73).
        public static let cannotWrite = Code(73, "cannot write")
        /// A deadline passed: a keyring daemon that does not answer, a lock held too long (exit 75).
        public static let timedOut = Code(75, "timed out")
        /// Insecure permissions, wrong owner, a symlink, or access denied (exit 77).
        public static let permissionDenied = Code(77, "permission denied")
        /// A configuration file or variable that is wrong (exit 78).
        public static let configuration = Code(78, "configuration error")
        /// No usable credential: log in, store a token, or the refresh chain was broken (exit 80).
        public static let authenticationRequired = Code(80, "authentication required")
        /// The user pressed Ctrl-C; nothing was written (exit 130, as a shell reports SIGINT).
        public static let interrupted = Code(130, "interrupted")

        public var description: String { name }
    }
}
