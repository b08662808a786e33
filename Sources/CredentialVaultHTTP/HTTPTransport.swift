import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The project's one HTTP client (AsyncHTTPClient), used by the login flows and the OpenBao
/// backend: a deadline over each exchange, a bounded body, an optional CA file as the only
/// trust root, and failures classified by type (``HTTPFailure``). A refused connection fails
/// at once instead of being retried until the deadline.
public struct HTTPTransport: Sendable {
    /// The deadline for one exchange, connection and body included.
    public var timeout: Duration
    /// Bodies larger than this are refused.
    public var maximumBodySize: Int
    /// The PEM file of the CA trusted instead of the system store, or nil.
    public let caCertificate: String?
    /// Debug trace (`--verbose`): one line per exchange with the method, the URL, the
    /// request's `note` and the outcome. Never headers or bodies: they carry codes and tokens.
    public var trace: (@Sendable (String) -> Void)?

    private let client: ClientOwner

    /// - Parameters:
    ///   - timeout: the deadline of each exchange, unless ``send(_:timeout:)`` gives another.
    ///   - maximumBodySize: the largest answer body accepted, in bytes.
    ///   - caCertificate: a PEM file whose CAs replace the system trust store (read at the
    ///     first TLS connection).
    public init(timeout: Duration = .seconds(15), maximumBodySize: Int = 1 << 20, caCertificate: String? = nil) {
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
        self.caCertificate = caCertificate
        var configuration = HTTPClient.Configuration()
        if let caCertificate {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caCertificate)
            configuration.tlsConfiguration = tls
        }
        let seconds = Int64(max(1, timeout.components.seconds))
        configuration.timeout = .init(connect: .seconds(seconds), read: .seconds(seconds))
        // A refused connection is an answer: report it now instead of retrying with backoff
        // until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        // Redirects are followed by `send`, within the origin only.
        configuration.redirectConfiguration = .disallow
        client = ClientOwner(configuration)
    }

    /// The most redirects followed in one exchange.
    public static let maximumRedirects = 5

    /// Sends `request` and collects the whole answer, all within one deadline: connection,
    /// redirects and body (a server that trickles its body is cut off at the deadline).
    /// Redirects are followed only within the request's origin (scheme, host and port), so
    /// headers and bodies (tokens) never go to another server and https never becomes http;
    /// the trace names every URL contacted.
    ///
    /// - Parameters:
    ///   - request: what to send.
    ///   - timeout: the deadline of this exchange; the transport's own when nil.
    /// - Throws: ``HTTPFailure`` when no answer came; an answer with any status is returned.
    public func send(_ request: HTTPRequest, timeout: Duration? = nil) async throws(HTTPFailure) -> HTTPResponse {
        let timeout = timeout ?? self.timeout
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Self.nanoseconds(timeout))
        let started = ContinuousClock.now
        var current = request
        var redirects = 0
        while true {
            let answer: (response: HTTPResponse, location: String?)
            do {
                // One deadline for the whole exchange: each hop of a redirect chain gets what
                // is left of it, not a fresh `timeout` (a server trickling each 302 slowly
                // would otherwise hold the caller for hops × timeout).
                let remaining = timeout - (ContinuousClock.now - started)
                guard remaining > .zero else { throw HTTPClientError.deadlineExceeded }
                answer = try await Self.withDeadline(remaining) { [client, maximumBodySize, current] in
                    try await Self.exchange(current, client: client.client(), deadline: deadline, maximumBodySize: maximumBodySize)
                }
            } catch {
                let failure = error as? HTTPFailure ?? HTTPFailure(Self.kind(of: error), url: current.url, underlying: error, timeout: timeout)
                trace?("\(current.method) \(current.url)\(current.note) → \(failure.reason)")
                throw failure
            }
            let response = answer.response
            trace?("\(current.method) \(current.url)\(current.note) → HTTP \(response.status)\(current.answerNote?(response) ?? "")")
            guard [301, 302, 303, 307, 308].contains(response.status), let location = answer.location else { return response }
            guard let target = HTTPOrigin.resolve(location, against: current.url), HTTPOrigin(target) == HTTPOrigin(current.url),
                  HTTPOrigin(target) != nil else {
                let refused = HTTPFailure(.redirectRefused, url: current.url, underlying: RedirectRefused(location: location), timeout: timeout)
                trace?("\(current.method) \(current.url) → \(refused.reason)")
                throw refused
            }
            redirects += 1
            guard redirects <= Self.maximumRedirects else {
                throw HTTPFailure(.redirectRefused, url: request.url, underlying: RedirectRefused(location: location), timeout: timeout)
            }
            current.url = target
            // 303, and 301/302 after a POST, continue as a GET without the body (RFC 9110 §15.4).
            if response.status == 303 || (current.method == "POST" && [301, 302].contains(response.status)) {
                current.method = "GET"
                current.body = nil
                current.headers.removeAll { $0.name.lowercased() == "content-type" }
            }
        }
    }

    /// One request and its whole body, without following redirects.
    private static func exchange(_ request: HTTPRequest, client: HTTPClient, deadline: NIODeadline,
                                 maximumBodySize: Int) async throws -> (response: HTTPResponse, location: String?) {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(outgoing, deadline: deadline)
        let body = try await response.body.collect(upTo: maximumBodySize)
        return (HTTPResponse(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                             body: Array(body.readableBytesView)),
                response.headers.first(name: "Location"))
    }

    /// `work`, cancelled when `timeout` passes first (then ``HTTPFailure/Kind/timedOut``).
    private static func withDeadline<Result: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else { throw HTTPClientError.deadlineExceeded }
            return result
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, min(seconds, 86_400) * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The failure's kind, from the error's type.
    static func kind(of error: any Error) -> HTTPFailure.Kind {
        switch error {
        case let error as HTTPClientError:
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout].contains(error) { return .timedOut }
            if error == .remoteConnectionClosed { return .connectionClosed }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(error) { return .invalidURL }
            return .other
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError: return .tls
        case is NIOTooManyBytesError: return .bodyTooLarge
        case let error as IOError where error.errnoCode == ECONNREFUSED: return .connectionRefused
        case let error as NIOConnectionError:
            let refused = error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            if refused { return .connectionRefused }
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil { return .hostNotFound }
            return .other
        case is SocketAddressError: return .hostNotFound
        default: return .other
        }
    }
}

/// Makes the `HTTPClient` at the first exchange (a run that sends nothing starts no event-loop
/// threads) and shuts it down with the last copy of the transport.
private final class ClientOwner: Sendable {
    private let configuration: HTTPClient.Configuration
    private let made = Mutex<HTTPClient?>(nil)

    init(_ configuration: HTTPClient.Configuration) { self.configuration = configuration }

    func client() -> HTTPClient {
        made.withLock { made in
            if let made { return made }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            made = client
            return client
        }
    }

    deinit { try? made.withLock { $0 }?.syncShutdown() }
}

/// A redirect that `send` did not follow: to another origin, or one too many.
public struct RedirectRefused: Error, Sendable, CustomStringConvertible {
    /// The `Location` the server gave.
    public let location: String
    public var description: String { "redirected to \(location)" }
}

/// The origin of a URL (RFC 6454): scheme, host and port, lowercased, default ports filled in.
/// The origin of an `http` or `https` URL (RFC 6454): scheme, host and port.
public struct HTTPOrigin: Equatable, Sendable {
    /// `http` or `https`, lower-case.
    public let scheme: String
    /// The host, lower-case, without brackets around an IPv6 address.
    public let host: String
    /// The port, or the scheme's default one.
    public let port: Int

    /// The origin of `url`, or nil when it is not an absolute `http` or `https` URL with a host.
    public init?(_ url: String) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host?.lowercased(), !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = parsed.port ?? (scheme == "https" ? 443 : 80)
    }

    /// Whether the host is this machine: `localhost`, an address in 127.0.0.0/8, or `::1`.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Whether what is sent to this origin is protected on the way: `https`, or plain `http`
    /// that never leaves the machine (loopback).
    public var isProtected: Bool { scheme == "https" || isLoopback }

    /// `location` (absolute, or relative to `base`) as an absolute URL.
    static func resolve(_ location: String, against base: String) -> String? {
        guard let baseURL = URL(string: base), let target = URL(string: location, relativeTo: baseURL) else { return nil }
        return target.absoluteString
    }
}
