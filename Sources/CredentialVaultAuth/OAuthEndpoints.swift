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

    /// The configured endpoints, and what is not configured from discovery: the OpenID
    /// document (`<issuer>/.well-known/openid-configuration`) first, then the RFC 8414 one
    /// (`/.well-known/oauth-authorization-server` inserted before the issuer's path, §3.1)
    /// for the fields the first lacks. With both the device and token endpoints configured,
    /// discovery only looks for a revocation endpoint, and its failure is not an error.
    ///
    /// Every URL must be `https`, or plain `http` to this machine (loopback); a discovery
    /// document must name the issuer it was fetched from (RFC 8414 §3.3, OpenID Connect
    /// Discovery §4.3; a trailing `/` aside).
    ///
    /// - Throws: `.configuration` (78) naming the URL or the mismatch; `.unavailable` (69)
    ///   when no server answered.
    public static func resolve(_ client: OAuthClientSettings, http: HTTPTransport) async throws -> OAuthEndpoints {
        let configured = client.deviceAuthorizationEndpoint != nil && client.tokenEndpoint != nil
        guard let issuer = client.issuer else {
            guard let device = client.deviceAuthorizationEndpoint, let token = client.tokenEndpoint else {
                throw CredentialVaultError(.configuration, "no issuer URL to discover the endpoints from")
            }
            let endpoints = OAuthEndpoints(deviceAuthorization: device, token: token, revocation: client.revocationEndpoint)
            try endpoints.checkProtected(from: "the config file")
            return endpoints
        }
        try checkProtected(issuer, what: "issuer", from: "the config file")
        if configured, client.revocationEndpoint != nil {
            let endpoints = OAuthEndpoints(deviceAuthorization: client.deviceAuthorizationEndpoint!, token: client.tokenEndpoint!,
                                           revocation: client.revocationEndpoint)
            try endpoints.checkProtected(from: "the config file")
            return endpoints
        }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        var failures: [String] = []
        var answered = false
        var found: [String: JSONValue] = [:]
        var sources: [String: String] = [:]
        let wanted = ["device_authorization_endpoint", "token_endpoint", "revocation_endpoint", "revocation_endpoint_auth_methods_supported"]
        for url in documentURLs(issuer: base) {
            if wanted.allSatisfy({ found[$0] != nil }) { break }
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
            let named = fields["issuer"]?.stringValue ?? ""
            guard (named.hasSuffix("/") ? String(named.dropLast()) : named) == base else {
                throw CredentialVaultError(.configuration,
                    "\(url) names the issuer \"\(named)\", not \(issuer): a discovery document must name the issuer it was fetched from (RFC 8414 §3.3), so its endpoints were not used. Set issuer in the config file to the server's own issuer URL")
            }
            for name in wanted where found[name] == nil {
                guard let value = fields[name], value != .null else { continue }
                found[name] = value
                sources[name] = url
            }
        }
        let device = client.deviceAuthorizationEndpoint ?? found["device_authorization_endpoint"]?.stringValue
        let token = client.tokenEndpoint ?? found["token_endpoint"]?.stringValue
        guard let device, let token else {
            if found.isEmpty || !answered {
                throw CredentialVaultError(answered ? .configuration : .unavailable,
                    "cannot discover the OAuth endpoints of \(issuer): \(failures.joined(separator: "; ")). Check the issuer URL, or set device_authorization_endpoint and token_endpoint in the config file")
            }
            throw CredentialVaultError(.configuration,
                "the discovery documents of \(issuer) list no \(device == nil ? "device_authorization_endpoint" : "token_endpoint"): the server does not offer the device authorization grant (RFC 8628) to this client; set device_authorization_endpoint and token_endpoint in the config file if it has them elsewhere")
        }
        let methods = found["revocation_endpoint_auth_methods_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let endpoints = OAuthEndpoints(deviceAuthorization: device, token: token,
                                       revocation: client.revocationEndpoint ?? found["revocation_endpoint"]?.stringValue,
                                       revocationAcceptsBearer: methods.contains("bearer"))
        try checkProtected(endpoints.deviceAuthorization, what: "device_authorization_endpoint",
                           from: client.deviceAuthorizationEndpoint == nil ? sources["device_authorization_endpoint"] ?? issuer : "the config file")
        try checkProtected(endpoints.token, what: "token_endpoint",
                           from: client.tokenEndpoint == nil ? sources["token_endpoint"] ?? issuer : "the config file")
        if let revocation = endpoints.revocation {
            try checkProtected(revocation, what: "revocation_endpoint",
                               from: client.revocationEndpoint == nil ? sources["revocation_endpoint"] ?? issuer : "the config file")
        }
        return endpoints
    }

    /// The discovery documents of `issuer` (without a trailing `/`), in the order they are
    /// read: OpenID's, appended to the issuer; then RFC 8414's, inserted between the host and
    /// the issuer's path (§3.1), which is the same URL when the issuer has no path.
    package static func documentURLs(issuer: String) -> [String] {
        var urls = [issuer + "/.well-known/openid-configuration"]
        if let schemeEnd = issuer.firstRange(of: "://"), let pathStart = issuer[schemeEnd.upperBound...].firstIndex(of: "/") {
            urls.append(String(issuer[..<pathStart]) + "/.well-known/oauth-authorization-server" + String(issuer[pathStart...]))
        } else {
            urls.append(issuer + "/.well-known/oauth-authorization-server")
        }
        return urls
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
