import CredentialVault
import CredentialVaultAuth
import Foundation
import Testing
import CredentialVaultTestSupport

/// The pure parts of the login flows: response parsing, key shapes, claims, settings.
@Suite("Login flow units")
struct AuthUnitTests {
    @Test("token responses parse as JSON or as a form; numbers may come as strings; HTML is neither")
    func replyParsing() {
        let json = HTTPReply(status: 200, contentType: "application/json; charset=utf-8",
                             body: Array(#"{"access_token":"a","expires_in":"3600","interval":5}"#.utf8))
        #expect(json.string("access_token") == "a")
        #expect(json.number("expires_in") == 3600)
        #expect(json.string("interval") == "5")
        let form = HTTPReply(status: 200, contentType: "application/x-www-form-urlencoded",
                             body: Array("access_token=a%2Bb+c&scope=openid%20cli&token_type=bearer".utf8))
        #expect(form.string("access_token") == "a+b c")
        #expect(form.string("scope") == "openid cli")
        #expect(HTTPReply(status: 502, contentType: "text/html", body: Array("<html>bad gateway</html>".utf8)).fields == nil)
        #expect(HTTPReply(status: 200, contentType: "application/json", body: Array("{\"access_token\":".utf8)).fields == nil)
        #expect(HTTPReply(status: 400, contentType: nil, body: []).fields == nil, "Glewlwyd's empty 400")
    }

    @Test("discovery URLs: OpenID's appended to the issuer, RFC 8414's inserted before the issuer's path (§3.1)")
    func discoveryURLs() {
        #expect(OAuthEndpoints.documentURLs(issuer: "https://idp.example/realms/a") == [
            "https://idp.example/realms/a/.well-known/openid-configuration",
            "https://idp.example/.well-known/oauth-authorization-server/realms/a",
        ])
        #expect(OAuthEndpoints.documentURLs(issuer: "http://127.0.0.1:4593") == [
            "http://127.0.0.1:4593/.well-known/openid-configuration", "http://127.0.0.1:4593/.well-known/oauth-authorization-server",
        ])
    }

    @Test("API keys: <prefix><workspace>_<hex>, workspace extracted, everything else refused")
    func apiKeys() throws {
        #expect(APIKey.workspace(of: "cmd_acme_a1b2c3d4e5f6", prefix: "cmd_") == "acme")
        #expect(APIKey.workspace(of: "cv_acme-prod_0123456789abcdef", prefix: "cv_") == "acme-prod")
        #expect(APIKey.workspace(of: "cv_acme_0123", prefix: "cv_") == nil, "too few hex digits")
        #expect(APIKey.workspace(of: "cv_acme_0123456z", prefix: "cv_") == nil)
        #expect(APIKey.workspace(of: "cmd_acme_a1b2c3d4e5f6", prefix: "cv_") == nil)
        #expect(APIKey.workspace(of: "cv__0123456789", prefix: "cv_") == nil)
        #expect(APIKey.workspace(of: "cmd_acme_a1b2c3d4e5f6", prefix: nil) == "acme", "no configured prefix: any")
        #expect(APIKey.workspace(of: "sk2_acme-prod_a1b2c3d4e5f6", prefix: nil) == "acme-prod")
        #expect(APIKey.workspace(of: "Cmd_acme_a1b2c3d4e5f6", prefix: nil) == nil)
        #expect(APIKey.workspace(of: "_acme_a1b2c3d4e5f6", prefix: nil) == nil)
        #expect(throws: CredentialVaultError.self) { try APIKey.validateWorkspace("Acme") }
        #expect(throws: CredentialVaultError.self) { try APIKey.validateWorkspace("-acme") }
        #expect(APIKey.masked(SecretBytes(utf8: "cv_acme_0123456789abcdef")) == "…cdef")
        #expect(APIKey.masked(SecretBytes(utf8: "short")) == "****")
        #expect(APIKey.looksLikeJWT(SecretBytes(utf8: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig")))
        #expect(!APIKey.looksLikeJWT(SecretBytes(utf8: "ghp_abcdef.123")))
    }

    @Test("ID token claims: email, then preferred_username, then sub; not a JWT gives nil")
    func claims() throws {
        func token(_ payload: String) -> SecretBytes {
            let body = Data(payload.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return SecretBytes(utf8: "eyJhbGciOiJIUzI1NiJ9.\(body).c2ln")
        }
        let full = try #require(IDTokenClaims(token(#"{"sub":"u1","email":"a@example.test","preferred_username":"alice"}"#)))
        #expect(full.displayName == "a@example.test" && full.displayClaim == "email")
        let named = try #require(IDTokenClaims(token(#"{"sub":"u1","preferred_username":"alice"}"#)))
        #expect(named.displayName == "alice")
        #expect(IDTokenClaims(token(#"{"sub":"u1"}"#))?.displayClaim == "sub")
        #expect(IDTokenClaims(SecretBytes(utf8: "opaque-token")) == nil)
    }

    @Test("config: auth keys per mode; bad values refused with the line")
    func configuration() throws {
        let configuration = try VaultConfiguration.parse("""
            issuer = https://id.example.test
            dev.issuer = https://id-dev.example.test
            client_id = cli
            api_key_prefix = cmd_
            mode = dev
            """, path: "config", keys: AuthSettings.configurationKeys)
        let settings = try AuthSettings(app: AppProfile("cmdop"), environment: [:], configuration: configuration)
        #expect(settings.apiKeyPrefix == "cmd_")
        #expect(settings.configuredMode == .dev)
        #expect(try settings.oauthClient(mode: .prod).issuer == "https://id.example.test")
        #expect(try settings.oauthClient(mode: .dev).issuer == "https://id-dev.example.test")
        let overridden = try AuthSettings(app: AppProfile("cmdop"), environment: ["CMDOP_AUTH_ISSUER_URL": "https://env.example.test"],
                                          configuration: configuration)
        #expect(try overridden.oauthClient(mode: .dev).issuer == "https://env.example.test", "the environment wins")
        for bad in ["issuer = ftp://x", "api_key_prefix = CMD", "auth_mode = maybe", "dev.mode = prod", "staging.issuer = https://x"] {
            #expect(throws: CredentialVaultError.self, "\(bad)") { try VaultConfiguration.parse(bad, path: "config", keys: AuthSettings.configurationKeys) }
        }
        // The core knows none of the login keys: without the login module's declarations, they are unknown.
        #expect { try VaultConfiguration.parse("issuer = https://id.example.test", path: "c") } throws: { error in
            (error as? CredentialVaultError)?.message.contains("unknown key 'issuer'") == true
        }
        let unconfigured = try AuthSettings(app: AppProfile("skillmeat"), environment: [:], configuration: VaultConfiguration())
        let error = try #require(throws: CredentialVaultError.self) { try unconfigured.oauthClient(mode: .prod) }
        #expect(error.code == .configuration)
        #expect(error.message.hasPrefix("Auth not configured. Set SKILLMEAT_AUTH_ISSUER_URL and SKILLMEAT_AUTH_CLIENT_ID"))
    }
}

/// Numbers from a server that would trap an `Int(_:)` conversion (found by reading the
/// parsers for the fuzz targets): they are treated as absent, and intervals are capped.
@Suite("hostile numbers in server responses")
struct HostileNumberTests {
    func reply(_ json: String) -> HTTPReply {
        HTTPReply(status: 200, contentType: "application/json", body: Array(json.utf8))
    }

    @Test("interval 'nan', 1e300 or -5 falls back to 5 s; a huge interval is capped at 300 s")
    func deviceIntervals() throws {
        let base = #""device_code":"d","user_code":"U","verification_uri":"https://x/d""#
        for bad in [#""nan""#, "1e300", #""inf""#, "-5"] {
            let grant = try DeviceAuthorizationClient.grant(from: reply("{\(base),\"interval\":\(bad),\"expires_in\":\(bad)}"),
                                                            received: Date(), timeout: 600, endpoint: "e")
            #expect(grant.interval == 5, "interval \(bad)")
            #expect(grant.prompt.deadline.timeIntervalSinceNow <= 600 + 1)
        }
        let capped = try DeviceAuthorizationClient.grant(from: reply("{\(base),\"interval\":86400}"), received: Date(), timeout: 600, endpoint: "e")
        #expect(capped.interval == 300)
    }

    @Test("an OpenBao version of 1e300 does not trap")
    func openBaoVersion() throws {
        let data = try JSONParser.parse(Array(#"{"data":{"secret":"s"},"metadata":{"version":1e300}}"#.utf8))
        let (item, version) = try OpenBaoBackend.item(fromKVData: data, key: CredentialKey(service: "s", account: "a"), path: "p")
        #expect(item?.secret == SecretBytes(utf8: "s"))
        #expect(version == 0)
    }

    @Test("expires_in 'inf' in a token response is treated as absent")
    func tokenExpiry() {
        let tokens = TokenResponse(reply(#"{"access_token":"a","expires_in":"inf"}"#), received: Date())
        #expect(tokens?.expiresIn == nil)
    }
}
