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

    /// What kind of failure this is. A program maps codes to what it reports (the `credvault`
    /// CLI to the exit statuses README documents); the library never exits.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No item for that service and account.
        public static let notFound = Code("not found")
        /// Bad command-line usage or arguments.
        public static let usage = Code("usage")
        /// Input or a stored file that cannot be understood.
        public static let dataError = Code("data error")
        /// No usable backend, or plaintext fallback was refused.
        public static let unavailable = Code("unavailable")
        /// The backend that holds the app's items is locked and could not be unlocked here: a
        /// keyring with no way to show its unlock dialog.
        public static let locked = Code("locked")
        /// A person cancelled the keyring's unlock or access dialog.
        public static let cancelled = Code("cancelled")
        /// A bug or an unexpected failure inside CredentialVault.
        public static let `internal` = Code("internal error")
        /// A write could not be completed: disk full, read-only file system.
        public static let cannotWrite = Code("cannot write")
        /// A deadline passed: a keyring daemon that does not answer, a lock held too long.
        public static let timedOut = Code("timed out")
        /// Insecure permissions, wrong owner, a symlink, or access denied.
        public static let permissionDenied = Code("permission denied")
        /// A configuration file or variable that is wrong.
        public static let configuration = Code("configuration error")
        /// No usable credential: log in, store a token, or the refresh chain was broken.
        public static let authenticationRequired = Code("authentication required")
        /// The user pressed Ctrl-C; nothing was written.
        public static let interrupted = Code("interrupted")

        public var description: String { name }
    }
}
