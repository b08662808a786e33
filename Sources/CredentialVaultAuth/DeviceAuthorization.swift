import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the person must do to approve the login: visit the URL and enter the code.
public struct DeviceAuthorizationPrompt: Sendable, Equatable {
    public var userCode: String
    public var verificationURI: String
    /// The URL with the code filled in, when the server sends one; opened in the browser.
    public var verificationURIComplete: String?
    /// When polling stops: the earlier of the server's `expires_in` and the `--timeout`.
    public var deadline: Date
    /// When the code expires at the server (`expires_in`).
    public var codeExpires: Date
    /// Whether the `--timeout` ends the wait before the code expires.
    public var endsAtTimeout: Bool { deadline < codeExpires }
    /// A human message some servers add (Microsoft Entra's `message`).
    public var message: String?
}

/// Progress of a device-code login, for the presenter (box, countdown, notes).
public enum LoginEvent: Sendable {
    /// Show the URL and the code.
    case prompt(DeviceAuthorizationPrompt)
    /// The browser was opened, or could not be (informational).
    case browser(opened: Bool, detail: String)
    /// Still waiting for approval; `remaining` until the deadline.
    case waiting(remaining: TimeInterval)
    /// The server asked to slow down; polling now every `interval` seconds.
    case slowDown(interval: Int)
    /// A network failure or server error; the next poll waits `wait` seconds.
    case retrying(reason: String, wait: Int)
}

/// The RFC 8628 client: device authorization request (§3.1) and token polling (§3.4–3.5).
public struct DeviceAuthorizationClient: Sendable {
    public let client: OAuthClientSettings
    public let endpoints: OAuthEndpoints
    public let http: HTTPTransport
    /// Sleeps between polls (the intervals themselves always come from the server).
    public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    public var now: @Sendable () -> Date = { Date() }

    static let deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
    /// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
    static let defaultInterval = 5
    /// The longest pause between polls after network failures.
    static let maximumBackoff = 60

    public init(client: OAuthClientSettings, endpoints: OAuthEndpoints, http: HTTPTransport) {
        self.client = client
        self.endpoints = endpoints
        self.http = http
    }

    /// The longest interval between polls a server may ask for (5 minutes).
    static let maximumInterval = 300

    package struct Grant {
        package var deviceCode: String
        package var interval: Int
        package var prompt: DeviceAuthorizationPrompt
    }

    /// §3.1–3.2: asks for a device code and a user code.
    func requestGrant(timeout: TimeInterval) async throws -> Grant {
        var fields = [("client_id", client.clientID), ("scope", client.scopes)]
        if let audience = client.audience { fields.append(("audience", audience)) }
        let reply = try await http.postForm(endpoints.deviceAuthorization, fields: fields)
        let received = now()
        if let error = OAuthErrorReply(reply) {
            throw CredentialVaultError(Self.code(forTerminal: error.code),
                "the device authorization endpoint \(endpoints.deviceAuthorization) refused the request: \(error.summary)")
        }
        guard reply.status == 200, reply.fields != nil else {
            throw CredentialVaultError(.unavailable,
                "the device authorization endpoint \(endpoints.deviceAuthorization) answered HTTP \(reply.status)\(reply.fields == nil ? " with a body that is neither JSON nor a form" : ""); try again later")
        }
        return try Self.grant(from: reply, received: received, timeout: timeout, endpoint: endpoints.deviceAuthorization)
    }

    /// The grant in a 200 device authorization response (§3.2): the parser of what the server
    /// sends. Intervals are capped at ``maximumInterval``.
    package static func grant(from reply: HTTPReply, received: Date, timeout: TimeInterval, endpoint: String) throws -> Grant {
        // `verification_url` is Google's spelling.
        guard let deviceCode = reply.string("device_code"), let userCode = reply.string("user_code"),
              let uri = reply.string("verification_uri") ?? reply.string("verification_url") else {
            throw CredentialVaultError(.dataError,
                "the device authorization response from \(endpoint) lacks device_code, user_code or verification_uri")
        }
        let expiresIn = reply.lifetime("expires_in") ?? 1800
        let interval = reply.number("interval").flatMap { $0 > 0 ? $0.roundedUp(clampedTo: 1...Self.maximumInterval) : nil }
        let cappedInterval = interval ?? Self.defaultInterval
        let deadline = received.addingTimeInterval(min(expiresIn, timeout))
        let prompt = DeviceAuthorizationPrompt(userCode: userCode, verificationURI: uri,
                                               verificationURIComplete: reply.string("verification_uri_complete") ?? reply.string("verification_url_complete"),
                                               deadline: deadline, codeExpires: received.addingTimeInterval(expiresIn),
                                               message: reply.string("message"))
        return Grant(deviceCode: deviceCode, interval: cappedInterval, prompt: prompt)
    }

    /// §3.4–3.5: polls until the person approves, denies, or the deadline passes.
    ///
    /// - `authorization_pending`: wait at least the interval; `slow_down`: add 5 s (or adopt a
    ///   larger interval the server sends) for this and every later request;
    ///   `access_denied` → exit 77; `expired_token` or the deadline → exit 75; any other
    ///   `error` stops with the server's description. Network failures and 5xx answers
    ///   without an `error` double the wait. Decisions rest on the `error` string, not the
    ///   HTTP status (Dex sends `authorization_pending` with 401).
    func poll(_ grant: Grant, events: @Sendable (LoginEvent) -> Void) async throws -> TokenResponse {
        var interval = grant.interval
        var wait = interval
        let deadline = grant.prompt.deadline
        func expired(_ why: String) -> CredentialVaultError {
            CredentialVaultError(.timedOut, "Device code expired; run login again (\(why))")
        }
        func stoppedWaiting() -> CredentialVaultError {
            let left = max(0, Int(grant.prompt.codeExpires.timeIntervalSince(now()).rounded()))
            return CredentialVaultError(.timedOut,
                "Stopped waiting for approval at --timeout; the code would have stayed valid at the server for \(left) more seconds. Run login again with a longer --timeout")
        }
        while true {
            // Wait `wait` seconds, reporting the countdown once a second.
            let wakeUp = now().addingTimeInterval(TimeInterval(wait))
            while true {
                let current = now()
                if current >= deadline { throw grant.prompt.endsAtTimeout ? stoppedWaiting() : expired("no approval before the code expired") }
                if current >= wakeUp { break }
                events(.waiting(remaining: deadline.timeIntervalSince(current)))
                let step = min(1.0, wakeUp.timeIntervalSince(current), deadline.timeIntervalSince(current))
                try await sleep(.milliseconds(Int64(max(step, 0.01) * 1000)))
            }
            let reply: HTTPReply
            do {
                reply = try await http.postForm(endpoints.token, fields: [
                    ("grant_type", Self.deviceCodeGrant), ("device_code", grant.deviceCode), ("client_id", client.clientID),
                ])
            } catch let error as CredentialVaultError where error.code == .unavailable || error.code == .timedOut {
                // §3.5: "clients MUST unilaterally reduce their polling frequency before retrying".
                wait = min(wait * 2, Self.maximumBackoff)
                events(.retrying(reason: error.message, wait: wait))
                continue
            }
            let received = now()
            if let tokens = TokenResponse(reply, received: received) { return tokens }
            if let error = OAuthErrorReply(reply) {
                switch error.code {
                case "authorization_pending":
                    wait = interval
                case "slow_down":
                    interval += 5
                    if let larger = reply.number("interval")?.roundedUp(clampedTo: 1...Self.maximumInterval), larger > interval { interval = larger }
                    interval = min(interval, Self.maximumInterval)
                    wait = interval
                    events(.slowDown(interval: interval))
                case "access_denied":
                    throw CredentialVaultError(.permissionDenied,
                        "Authorization denied\(error.errorDescription.map { ": \($0)" } ?? ""). Run login again to retry")
                case "expired_token":
                    throw expired("the server says the code expired")
                default:
                    throw CredentialVaultError(Self.code(forTerminal: error.code),
                        "login stopped: the token endpoint \(endpoints.token) answered \(error.summary)")
                }
                continue
            }
            if reply.status >= 500 || reply.status == 429 {
                wait = min(wait * 2, Self.maximumBackoff)
                events(.retrying(reason: "the token endpoint answered HTTP \(reply.status)", wait: wait))
                continue
            }
            throw CredentialVaultError(.dataError,
                "login stopped: the token endpoint \(endpoints.token) answered HTTP \(reply.status) without an access token or an OAuth error")
        }
    }

    /// The exit code for a terminal OAuth error: the client's own configuration, or a refusal.
    static func code(forTerminal error: String) -> CredentialVaultError.Code {
        switch error {
        case "invalid_client", "unauthorized_client", "invalid_scope", "unsupported_grant_type", "invalid_request", "invalid_target":
            return .configuration
        default:
            return .permissionDenied
        }
    }
}
