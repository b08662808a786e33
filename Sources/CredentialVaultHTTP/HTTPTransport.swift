import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

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
        client = ClientOwner(configuration)
    }

    /// Sends `request` and collects the whole answer.
    ///
    /// - Parameters:
    ///   - request: what to send.
    ///   - timeout: the deadline of this exchange; the transport's own when nil.
    /// - Throws: ``HTTPFailure`` when no answer came; an answer with any status is returned.
    public func send(_ request: HTTPRequest, timeout: Duration? = nil) async throws(HTTPFailure) -> HTTPResponse {
        let timeout = timeout ?? self.timeout
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.client().execute(outgoing, deadline: .now() + TimeAmount.nanoseconds(Self.nanoseconds(timeout)))
            let body = try await response.body.collect(upTo: maximumBodySize)
            let answer = HTTPResponse(status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
                                      body: Array(body.readableBytesView))
            trace?("\(request.method) \(request.url)\(request.note) → HTTP \(answer.status)\(request.answerNote?(answer) ?? "")")
            return answer
        } catch {
            let failure = HTTPFailure(Self.kind(of: error), url: request.url, underlying: error, timeout: timeout)
            trace?("\(request.method) \(request.url)\(request.note) → \(failure.reason)")
            throw failure
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
