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
    public static func resolve(_ client: OAuthClientSettings, http: HTTPTransport) async throws -> OAuthEndpoints {
        if let device = client.deviceAuthorizationEndpoint, let token = client.tokenEndpoint {
            return OAuthEndpoints(deviceAuthorization: device, token: token, revocation: client.revocationEndpoint)
        }
        guard let issuer = client.issuer else {
            throw CredentialVaultError(.configuration, "no issuer URL to discover the endpoints from")
        }
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
            let methods = fields["revocation_endpoint_auth_methods_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return OAuthEndpoints(deviceAuthorization: device, token: token,
                                  revocation: client.revocationEndpoint ?? fields["revocation_endpoint"]?.stringValue,
                                  revocationAcceptsBearer: methods.contains("bearer"))
        }
        throw CredentialVaultError(answered ? .configuration : .unavailable,
            "cannot discover the OAuth endpoints of \(issuer): \(failures.joined(separator: "; ")). Check the issuer URL, or set device_authorization_endpoint and token_endpoint in the config file")
    }
}
