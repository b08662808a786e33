import CredentialVault

/// The server endpoints the flows use, from explicit settings or discovery.
public struct OAuthEndpoints: Sendable, Equatable {
    public var deviceAuthorization: String
    public var token: String
    /// RFC 7009 revocation, when the server has one.
    public var revocation: String?
    /// Whether the revocation endpoint accepts the access token as a bearer credential
    /// (`revocation_endpoint_auth_methods_supported` lists `bearer`, as Glewlwyd's does).
    public var revocationAcceptsBearer: Bool

    public init(deviceAuthorization: String, token: String, revocation: String? = nil, revocationAcceptsBearer: Bool = false) {
        self.deviceAuthorization = deviceAuthorization
        self.token = token
        self.revocation = revocation
        self.revocationAcceptsBearer = revocationAcceptsBearer
    }

    /// Explicit endpoints when both are configured; otherwise OpenID discovery
    /// (`<issuer>/.well-known/openid-configuration`), then RFC 8414
    /// (`<issuer>/.well-known/oauth-authorization-server`).
    ///
    /// Every URL must be `https`, or plain `http` to this machine (loopback); a discovery
    /// document must name the issuer it was fetched from (RFC 8414 §3.3, OpenID Connect
    /// Discovery §4.3; a trailing `/` aside).
    ///
    /// - Throws: `.configuration` (78) naming the URL or the mismatch; `.unavailable` (69)
    ///   when no server answered.
    public static func resolve(_ client: OAuthClientSettings, http: HTTPTransport) async throws -> OAuthEndpoints {
        if let device = client.deviceAuthorizationEndpoint, let token = client.tokenEndpoint {
            let endpoints = OAuthEndpoints(deviceAuthorization: device, token: token, revocation: client.revocationEndpoint)
            try endpoints.checkProtected(from: "the config file")
            return endpoints
        }
        guard let issuer = client.issuer else {
            throw CredentialVaultError(.configuration, "no issuer URL to discover the endpoints from")
        }
        try checkProtected(issuer, what: "issuer", from: "the config file")
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        var failures: [String] = []
        var answered = false
        for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
            let url = base + path
            let reply: HTTPReply
            do {
                reply = try await http.get(url)
            } catch let error as CredentialVaultError {
                failures.append(error.message)
                continue
            }
            answered = true
            guard reply.status == 200, let fields = reply.fields else {
                failures.append("\(url) answered HTTP \(reply.status)\(reply.fields == nil ? " without a JSON document" : "")")
                continue
            }
            let token = client.tokenEndpoint ?? fields["token_endpoint"]?.stringValue
            let device = client.deviceAuthorizationEndpoint ?? fields["device_authorization_endpoint"]?.stringValue
            guard let token, let device else {
                throw CredentialVaultError(.configuration,
                    "\(url) lists no \(device == nil ? "device_authorization_endpoint" : "token_endpoint"): the server does not offer the device authorization grant (RFC 8628) to this client; set device_authorization_endpoint and token_endpoint in the config file if it has them elsewhere")
            }
            let named = fields["issuer"]?.stringValue ?? ""
            guard (named.hasSuffix("/") ? String(named.dropLast()) : named) == base else {
                throw CredentialVaultError(.configuration,
                    "\(url) names the issuer \"\(named)\", not \(issuer): a discovery document must name the issuer it was fetched from (RFC 8414 §3.3), so its endpoints were not used. Set issuer in the config file to the server's own issuer URL")
            }
            let methods = fields["revocation_endpoint_auth_methods_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let endpoints = OAuthEndpoints(deviceAuthorization: device, token: token,
                                           revocation: client.revocationEndpoint ?? fields["revocation_endpoint"]?.stringValue,
                                           revocationAcceptsBearer: methods.contains("bearer"))
            try endpoints.checkProtected(from: url)
            return endpoints
        }
        throw CredentialVaultError(answered ? .configuration : .unavailable,
            "cannot discover the OAuth endpoints of \(issuer): \(failures.joined(separator: "; ")). Check the issuer URL, or set device_authorization_endpoint and token_endpoint in the config file")
    }

    /// Refuses any endpoint that is not `https` (or `http` to loopback).
    func checkProtected(from source: String) throws {
        try Self.checkProtected(deviceAuthorization, what: "device_authorization_endpoint", from: source)
        try Self.checkProtected(token, what: "token_endpoint", from: source)
        if let revocation { try Self.checkProtected(revocation, what: "revocation_endpoint", from: source) }
    }

    /// Refuses `url` unless it is `https`, or `http` to this machine.
    static func checkProtected(_ url: String, what: String, from source: String) throws {
        guard let origin = HTTPOrigin(url) else {
            throw CredentialVaultError(.configuration, "the \(what) from \(source), \(url), is not an http(s) URL with a host; correct it")
        }
        guard origin.isProtected else {
            throw CredentialVaultError(.configuration,
                "the \(what) from \(source), \(url), is plain http to another machine: codes and tokens would cross the network in clear. Use an https URL (plain http is accepted only for localhost)")
        }
    }
}
