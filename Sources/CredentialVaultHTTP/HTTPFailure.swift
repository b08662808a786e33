/// Why an exchange produced no answer, recognised from the error's type (never from its
/// text), so callers can say what to do next: a refused connection, a TLS failure (the CA),
/// a deadline.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Nobody listens at the address (`ECONNREFUSED`): an answer, given at once.
        case connectionRefused
        /// The host name does not resolve.
        case hostNotFound
        /// The TLS handshake failed: an untrusted or mismatched certificate, or no TLS at all.
        case tls
        /// No complete answer before the deadline.
        case timedOut
        /// The server closed the connection before answering.
        case connectionClosed
        /// The answer's body is larger than the transport accepts.
        case bodyTooLarge
        /// The URL cannot be sent (no host, an unsupported scheme).
        case invalidURL
        /// The server redirected to another origin (or too often): not followed, so nothing
        /// was sent there.
        case redirectRefused
        /// Any other transport error.
        case other
    }

    public let kind: Kind
    /// The URL of the request that failed.
    public let url: String
    /// The underlying error, for `--verbose` and debugging; its text may be technical.
    public let underlying: any Error
    /// The deadline that passed, for ``Kind/timedOut``.
    public let timeout: Duration?

    public init(_ kind: Kind, url: String, underlying: any Error, timeout: Duration? = nil) {
        self.kind = kind
        self.url = url
        self.underlying = underlying
        self.timeout = timeout
    }

    /// What happened, in words for people (without the URL, which callers name their way).
    public var reason: String {
        switch kind {
        case .connectionRefused: return "connection refused"
        case .hostNotFound: return "the host name does not resolve"
        case .tls: return "TLS handshake failed (\(underlying))"
        case .timedOut: return "no answer within \(timeout?.components.seconds ?? 0) s"
        case .connectionClosed: return "the server closed the connection"
        case .bodyTooLarge: return "the answer is larger than the transport accepts"
        case .invalidURL: return "the URL is not valid"
        case .redirectRefused: return "\(underlying), another server or scheme (or one redirect too many); not followed, nothing was sent there"
        case .other: return "\(underlying)"
        }
    }

    public var description: String { "\(url): \(reason)" }
}
