import CredentialVault
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import CredentialVaultTestSupport
#endif

/// What a real server will not do on demand, from the scripted fault server in
/// Tests/support/oauth_peer.py: HTTP 500, malformed JSON, form-encoded bodies, a missing
/// interval, slow_down with an interval, authorization_pending with HTTP 401, dropped
/// connections, unknown error codes, refresh failures. These sit beside the Glewlwyd tests,
/// not instead of them.
@Suite("Device flow against injected faults", .serialized, .enabled(if: OAuthComponents.pythonPresent()))
struct DeviceFlowFaultTests {
    static let deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

    static func device(interval: Int? = 1, expiresIn: Int = 60, alias: Bool = false) -> JSONValue {
        var fields: [String: JSONValue] = ["device_code": .string("dc-1"), "user_code": .string("WXYZ-2345"),
                                           "expires_in": .number(Double(expiresIn))]
        fields[alias ? "verification_url" : "verification_uri"] = .string("$BASE/activate")
        fields["verification_uri_complete"] = .string("$BASE/activate?code=WXYZ-2345")
        if let interval { fields["interval"] = .number(Double(interval)) }
        return .object(["status": .number(200), "json": .object(fields)])
    }

    static func pending(_ status: Int = 400, _ error: String = "authorization_pending", extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["status": .number(Double(status)), "json": .object(["error": .string(error)].merging(extra) { $1 })])
    }

    static func tokens(expiresIn: Int = 3600, accessToken: String = "fault-access-token-0001") -> JSONValue {
        .object(["status": .number(200), "json": .object([
            "access_token": .string(accessToken), "token_type": .string("Bearer"),
            "refresh_token": .string("fault-refresh-token-0001"), "expires_in": .number(Double(expiresIn)),
        ])])
    }

    struct Fixture {
        let root: TemporaryDirectory
        let cli: CLI
        let peer: OAuthPeer
        func stop() { peer.stop(); root.remove() }
    }

    func fixture(token: [JSONValue], device: JSONValue = device(), refresh: [JSONValue]? = nil,
                 environment extra: [String: String] = [:]) throws -> Fixture {
        var script: [String: JSONValue] = ["device": device, "token": .array(token)]
        if let refresh { script["refresh"] = .array(refresh) }
        let peer = try OAuthPeer("fault", [], script: .object(script))
        let root = try TemporaryDirectory()
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"]
                                                    .merging(extra) { $1 })
        return Fixture(root: root, cli: cli, peer: peer)
    }

    func login(_ fixture: Fixture, _ arguments: [String] = ["--no-browser"], timeout: TimeInterval = 60) throws -> ProcessOutput {
        try fixture.cli.run(["auth", "login"] + arguments, timeout: timeout)
    }

    func pollTimes(_ fixture: Fixture) -> [Double] {
        fixture.peer.requests(grant: Self.deviceGrant).compactMap { $0["t"]?.numberValue }
    }

    @Test("terminal escapes from the server (OSC 52 clipboard, screen clear, CSI, bidi override) are shown escaped in the login box and the error, never sent raw")
    func serverTextEscaped() throws {
        let osc52 = "\u{1B}]52;c;aGk=\u{07}", clear = "\u{1B}[2J", csi = "\u{9B}31m", bidi = "\u{202E}"
        let device: JSONValue = .object(["status": .number(200), "json": .object([
            "device_code": .string("dc-1"), "user_code": .string("WXYZ-2345"), "expires_in": .number(60), "interval": .number(1),
            "verification_uri": .string("$BASE/activate" + clear), "message": .string("Hello" + osc52 + bidi),
        ])])
        let denied: JSONValue = .object(["status": .number(400), "json": .object([
            "error": .string("access_denied"), "error_description": .string("denied" + csi + osc52),
        ])])
        let fixture = try fixture(token: [denied], device: device)
        defer { fixture.stop() }
        let login = try self.login(fixture)
        #expect(login.status != 0)
        let everything = login.stdout + Array(login.stderr.utf8)
        for byte: UInt8 in [0x1B, 0x07] { #expect(!everything.contains(byte), "raw control byte \(byte) reached the terminal: \(login.stderr)") }
        for raw in [csi, bidi] { #expect(!login.stderr.contains(raw), "raw \(raw.unicodeScalars.first!.value) reached the terminal") }
        #expect(login.stderr.contains("activate\\u{1B}[2J"), "the URL is shown escaped: \(login.stderr)")
        #expect(login.stderr.contains("Hello\\u{1B}]52;c;aGk=\\u{7}\\u{202E}"), "the message is shown escaped: \(login.stderr)")
        #expect(login.stderr.contains("denied\\u{9B}31m"), "the error description is shown escaped: \(login.stderr)")
    }

    @Test("expires_in from a hostile server (-1e15, 1e15) crashes nothing: login, status and resolve answer, dates stay within 0001-9999 and near now")
    func absurdExpiry() throws {
        for expiresIn in [-1_000_000_000_000_000, 1_000_000_000_000_000] {
            let fixture = try fixture(token: [Self.tokens(expiresIn: expiresIn)], refresh: [Self.tokens(expiresIn: 3600)])
            defer { fixture.stop() }
            let login = try self.login(fixture)
            #expect(login.status == 0, "expires_in \(expiresIn): \(login.stderr)")
            let status = try fixture.cli.run("auth", "status", "--json")
            #expect(status.status == 0, "expires_in \(expiresIn): \(status.stderr)")
            let document = try JSONParser.parse(status.stdout)
            if let expires = document["expires_at"]?.stringValue {
                let year = Int(expires.prefix(4)) ?? 0
                #expect(year >= 2026 && year <= 2037, "expires_in \(expiresIn) gave \(expires)")
            }
            let resolve = try fixture.cli.run("auth", "resolve")
            #expect(resolve.status == 0, "expires_in \(expiresIn): \(resolve.stderr)")
        }
    }

    @Test("HTTP 500, then authorization_pending sent with HTTP 401 (as Dex does), then tokens; 500 doubles the wait; verification_url accepted")
    func serverErrorThenPending401() throws {
        let fixture = try fixture(token: [.object(["status": .number(500), "body": .string("oops")]), Self.pending(401), Self.tokens()],
                                  device: Self.device(alias: true))
        defer { fixture.stop() }
        let output = try login(fixture)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("$BASE/activate") == false && output.stderr.contains("/activate"), "verification_url is shown: \(output.stderr)")
        #expect(output.stderr.contains("HTTP 500; retrying in 2 s"))
        let times = pollTimes(fixture)
        #expect(times.count == 3)
        if times.count == 3 {
            #expect(times[1] - times[0] >= 1.9, "after a 500 the wait doubles to 2 s")
            #expect(times[2] - times[1] >= 0.9 && times[2] - times[1] < 1.9, "pending (even with 401) waits the interval again")
        }
        #expect(try fixture.cli.run("auth", "resolve", "--raw").stdoutText == "fault-access-token-0001")
    }

    @Test("form-encoded answers and a missing interval: the client uses 5 s")
    func formEncodedAndDefaultInterval() throws {
        let device = JSONValue.object(["status": .number(200),
                                       "form": .string("device_code=dc-2&user_code=ABCD-2345&verification_uri=$BASE%2Factivate&expires_in=60")])
        let tokens = JSONValue.object(["status": .number(200), "form": .string("access_token=form-token-0001&token_type=bearer&expires_in=3600")])
        let fixture = try fixture(token: [tokens], device: device)
        defer { fixture.stop() }
        let started = Date().timeIntervalSince1970
        let output = try login(fixture)
        #expect(output.status == 0, "\(output.stderr)")
        let times = pollTimes(fixture)
        #expect(times.count == 1)
        #expect((times.first ?? 0) - started >= 4.9, "RFC 8628 §3.2: no interval means 5 s")
        #expect(try fixture.cli.run("auth", "resolve", "--raw").stdoutText == "form-token-0001")
    }

    @Test("slow_down carrying a larger interval: the client adopts it for every later poll")
    func slowDownWithInterval() throws {
        let fixture = try fixture(token: [Self.pending(400, "slow_down", extra: ["interval": .number(7)]), Self.pending(), Self.tokens()])
        defer { fixture.stop() }
        let output = try login(fixture, timeout: 90)
        #expect(output.status == 0, "\(output.stderr)")
        let times = pollTimes(fixture)
        #expect(times.count == 3)
        if times.count == 3 {
            #expect(times[1] - times[0] >= 6.9, "the server's 7 s beats 1 + 5 s")
            #expect(times[2] - times[1] >= 6.9, "and stays for every later request")
        }
    }

    @Test("a dropped connection backs off by doubling, then the login completes")
    func droppedConnection() throws {
        let fixture = try fixture(token: [.object(["drop": .bool(true)]), Self.tokens()])
        defer { fixture.stop() }
        let output = try login(fixture)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("retrying in 2 s"), "\(output.stderr)")
        let times = pollTimes(fixture)
        if times.count == 2 { #expect(times[1] - times[0] >= 1.9) }
    }

    @Test("malformed JSON in a 200 answer stops with a data error (65), nothing stored")
    func malformedJSON() throws {
        let fixture = try fixture(token: [.object(["status": .number(200), "content_type": .string("application/json"), "body": .string("{\"access_token\": ")])])
        defer { fixture.stop() }
        let output = try login(fixture)
        #expect(output.status == 65, "\(output.stderr)")
        #expect(output.stderr.contains("without an access token"))
        #expect(try fixture.cli.run("auth", "resolve").status == 80)
    }

    @Test("an unknown error code stops polling with the server's description; access_denied says 'Authorization denied'")
    func terminalErrors() throws {
        let declined = try fixture(token: [.object(["status": .number(400), "json": .object([
            "error": .string("authorization_declined"), "error_description": .string("The user declined the request")])])])
        defer { declined.stop() }
        let output = try login(declined)
        #expect(output.status == 77)
        #expect(output.stderr.contains("authorization_declined (The user declined the request)"))
        #expect(pollTimes(declined).count == 1, "no further polls after a terminal error")

        let denied = try fixture(token: [Self.pending(400, "access_denied")])
        defer { denied.stop() }
        let deniedOutput = try login(denied)
        #expect(deniedOutput.status == 77)
        #expect(deniedOutput.stderr.contains("Authorization denied"))

        let expired = try fixture(token: [Self.pending(400, "expired_token")])
        defer { expired.stop() }
        let expiredOutput = try login(expired)
        #expect(expiredOutput.status == 75)
        #expect(expiredOutput.stderr.contains("Device code expired; run login again"))
    }

    @Test("Ctrl-C while waiting exits 130 and writes nothing")
    func interrupt() throws {
        let fixture = try fixture(token: [Self.pending()])
        defer { fixture.stop() }
        let process = try BackgroundCLI(fixture.cli, ["auth", "login", "--no-browser"], directory: fixture.root.path)
        _ = try process.userCode()
        // Interrupted while polling: after the first poll has reached the server.
        #expect(waitUntil(seconds: 20) { !fixture.peer.requests(grant: "urn:ietf:params:oauth:grant-type:device_code").isEmpty })
        kill(process.child.pid, SIGINT)
        #expect(process.wait(timeout: 10) == 130)
        #expect(process.stderr.contains("login cancelled; nothing was stored"))
        #expect(!FileManager.default.fileExists(atPath: fixture.root.path + "/vault/credentials.json"))
    }

    @Test("the browser gets verification_uri_complete when a display exists; --no-browser or no display leaves it alone")
    func browser() throws {
        let fixture = try fixture(token: [Self.tokens()])
        defer { fixture.stop() }
        let record = fixture.root.path + "/opened"
        let script = fixture.root.path + "/browser"
        try "#!/bin/sh\necho \"$1\" >> '\(record)'\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let output = try fixture.cli.run(["auth", "login"], extra: ["DISPLAY": ":99", "BROWSER": script])
        #expect(output.status == 0, "\(output.stderr)")
        let opened = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        #expect(opened == "\(fixture.peer.base)/activate?code=WXYZ-2345\n")
        #expect(output.stderr.contains("WXYZ-2345"), "the code is still shown")

        try? FileManager.default.removeItem(atPath: record)
        #expect(try fixture.cli.run(["auth", "login", "--no-browser"], extra: ["DISPLAY": ":99", "BROWSER": script]).status == 0)
        #expect(try fixture.cli.run(["auth", "login"], extra: ["BROWSER": script]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: record), "no browser without a display or with --no-browser")

        let failing = try fixture.cli.run(["auth", "login"], extra: ["DISPLAY": ":99", "BROWSER": "/bin/false"])
        #expect(failing.status == 0, "a browser that cannot be opened is not an error")
        #expect(failing.stderr.contains("Could not open browser automatically"))
    }

    @Test("verification_uri_complete is opened only as https (or loopback http): javascript:, file: and remote http are not; the browser gets no credentials in its environment")
    func browserHardened() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let record = root.path + "/opened", environmentRecord = root.path + "/environment"
        let script = root.path + "/browser"
        try "#!/bin/sh\necho \"$1\" >> '\(record)'\nenv > '\(environmentRecord)'\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let credentials = ["CREDVAULT_API_KEY": "api-key-secret", "GITHUB_TOKEN": "gh-secret", "BAO_TOKEN": "bao-secret",
                           "VAULT_ADDR": "https://bao.example", "AWS_SECRET": "aws-secret"]
        for hostile in ["javascript:alert(1)", "file:///etc/passwd", "http://192.0.2.1/activate", "-new-tab"] {
            var device = Self.device()
            if case .object(var outer) = device, case .object(var fields)? = outer["json"] {
                fields["verification_uri_complete"] = .string(hostile)
                outer["json"] = .object(fields)
                device = .object(outer)
            }
            let fixture = try fixture(token: [Self.tokens()], device: device)
            defer { fixture.stop() }
            let output = try fixture.cli.run(["auth", "login"], extra: ["DISPLAY": ":99", "BROWSER": script])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(!FileManager.default.fileExists(atPath: record), "\(hostile) was handed to the browser")
            #expect(output.stderr.contains("not an https URL"), "\(output.stderr)")
        }
        let fixture = try fixture(token: [Self.tokens()], environment: credentials)
        defer { fixture.stop() }
        let output = try fixture.cli.run(["auth", "login"], extra: ["DISPLAY": ":99", "BROWSER": script])
        #expect(output.status == 0, "\(output.stderr)")
        let opened = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        #expect(opened == "\(fixture.peer.base)/activate?code=WXYZ-2345\n", "a loopback http URL is opened")
        let environment = (try? String(contentsOfFile: environmentRecord, encoding: .utf8)) ?? ""
        #expect(environment.contains("DISPLAY=:99"), "the browser still gets its ordinary environment: \(environment)")
        for (name, value) in credentials {
            #expect(!environment.contains(value), "\(name) reached the browser")
        }
    }

    @Test("discovery: a document naming another issuer, or handing out plain-http endpoints on another machine, is refused (78) before any grant is asked for")
    func discoveryChecked() throws {
        let cases: [(fields: [String: JSONValue], message: String)] = [
            (["issuer": .string("https://other.example")], "names the issuer \"https://other.example\""),
            (["token_endpoint": .string("http://192.0.2.1/token")], "token_endpoint"),
            (["device_authorization_endpoint": .string("http://192.0.2.1/device")], "device_authorization_endpoint"),
        ]
        for (fields, message) in cases {
            var script: [String: JSONValue] = ["device": Self.device(), "token": .array([Self.tokens()])]
            script["discovery"] = .object(fields)
            let peer = try OAuthPeer("fault", [], script: .object(script))
            defer { peer.stop() }
            let root = try TemporaryDirectory(); defer { root.remove() }
            let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                         "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"])
            let login = try cli.run(["auth", "login", "--no-browser"], timeout: 30)
            #expect(login.status == 78, "\(fields): \(login.stderr)")
            #expect(login.stderr.contains(message), "\(login.stderr)")
            let deviceRequests = peer.requests().filter { request in request["path"]?.stringValue == "/device" }
            #expect(deviceRequests.isEmpty, "no device code was asked of a server that failed the checks")
        }
    }

    @Test("a plain-http issuer on another machine is refused (78) without a connection; https and loopback http are the only ones accepted")
    func plainHTTPIssuer() throws {
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": "http://192.0.2.1/realm", "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        let login = try cli.run(["auth", "login", "--no-browser"], timeout: 30)
        #expect(login.status == 78, "\(login.stderr)")
        #expect(login.stderr.contains("plain http to another machine"), "\(login.stderr)")
        try FileManager.default.createDirectory(atPath: root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "device_authorization_endpoint = https://idp.example/device\ntoken_endpoint = http://192.0.2.1/token\n"
            .write(toFile: root.path + "/vault/config", atomically: true, encoding: .utf8)
        let explicit = try cli.run(["auth", "login", "--no-browser"], extra: ["CREDVAULT_AUTH_ISSUER_URL": "https://idp.example"], timeout: 30)
        #expect(explicit.status == 78, "configured endpoints are held to the same rule: \(explicit.stderr)")
        #expect(explicit.stderr.contains("token_endpoint from the config file"), "\(explicit.stderr)")
    }

    @Test("refresh faults: a 5xx while the access token is valid keeps it with a warning; an expired one fails")
    func refreshServerError() throws {
        // A 4-second token: a refresh is due half-way through.
        let fixture = try fixture(token: [Self.tokens(expiresIn: 4)], refresh: [.object(["status": .number(503), "body": .string("down")])])
        defer { fixture.stop() }
        #expect(try login(fixture).status == 0)
        fixedPause(2.2, because: "a 4 s access token: its refresh is due after half its life")
        let kept = try fixture.cli.run("auth", "resolve", "--raw")
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stdoutText == "fault-access-token-0001")
        #expect(kept.stderr.contains("cannot refresh the prod access token") && kept.stderr.contains("HTTP 503"))
        fixedPause(2, because: "a 4 s access token: expired after its life")
        let expired = try fixture.cli.run("auth", "resolve")
        #expect(expired.status == 69, "\(expired.stderr)")
        #expect(expired.stderr.contains("expired and cannot be refreshed"))
    }

    @Test("a refused connection at refresh time is an answer: the still-valid token at once, with a warning; once expired, 69 at once")
    func refreshConnectionRefused() throws {
        let fixture = try fixture(token: [Self.tokens(expiresIn: 5)])
        defer { fixture.root.remove() }
        #expect(try login(fixture).status == 0)
        fixture.peer.stop()  // nobody listens on the token endpoint's port any more
        fixedPause(2.7, because: "a 5 s access token: its refresh is due after half its life")
        let started = Date()
        let kept = try fixture.cli.run("auth", "resolve", "--raw")
        let elapsed = Date().timeIntervalSince(started)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stdoutText == "fault-access-token-0001")
        #expect(kept.stderr.contains("cannot refresh the prod access token") && kept.stderr.contains("connection refused"), "\(kept.stderr)")
        #expect(elapsed < 2.5, "a refused connection is not waited out (15 s request deadline): took \(elapsed) s")
        fixedPause(2.5, because: "a 5 s access token: expired after its life")
        let expiredStart = Date()
        let expired = try fixture.cli.run("auth", "resolve")
        #expect(expired.status == 69, "\(expired.stderr)")
        #expect(Date().timeIntervalSince(expiredStart) < 2.5, "fails at once")
    }

    @Test("a refresh response without a refresh_token keeps the old one (RFC 6749 §6)")
    func refreshKeepsOldRefreshToken() throws {
        let fresh = JSONValue.object(["status": .number(200), "json": .object([
            "access_token": .string("fault-access-token-0002"), "token_type": .string("Bearer"), "expires_in": .number(4)])])
        let fixture = try fixture(token: [Self.tokens(expiresIn: 4)], refresh: [fresh, Self.tokens(expiresIn: 3600, accessToken: "fault-access-token-0003")])
        defer { fixture.stop() }
        #expect(try login(fixture).status == 0)
        fixedPause(2.2, because: "a 4 s access token: its refresh is due after half its life")
        #expect(try fixture.cli.run("auth", "resolve", "--raw").stdoutText == "fault-access-token-0002")
        fixedPause(2.2, because: "a 4 s access token: its refresh is due after half its life")
        #expect(try fixture.cli.run("auth", "resolve", "--raw").stdoutText == "fault-access-token-0003")
        let refreshes = fixture.peer.requests(grant: "refresh_token")
        #expect(refreshes.map { $0["refresh_token"] } == [.string("fault-refresh-token-0001"), .string("fault-refresh-token-0001")],
                "the second refresh still sends the original refresh token")
    }

    func revokeRequests(_ peer: OAuthPeer) -> [JSONValue] {
        peer.requests().filter { request in request["path"]?.stringValue == "/revoke" }
    }

    @Test("issue 17 item 2: a field missing from the OpenID document is looked up in the RFC 8414 one; logout then revokes")
    func discoveryMerged() throws {
        // The OpenID document has no revocation_endpoint; the RFC 8414 document has it.
        let rfc8414: JSONValue = .object(["status": .number(200), "json": .object([
            "issuer": .string("$BASE"), "token_endpoint": .string("$BASE/token"), "revocation_endpoint": .string("$BASE/revoke"),
        ])])
        var script: [String: JSONValue] = ["device": Self.device(), "token": .array([Self.tokens()])]
        script["discovery"] = .object(["revocation_endpoint": .null])
        script["paths"] = .object(["/.well-known/oauth-authorization-server": rfc8414])
        let peer = try OAuthPeer("fault", [], script: .object(script))
        defer { peer.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        #expect(try cli.run(["auth", "login", "--no-browser"]).status == 0)
        let logout = try cli.run("auth", "logout", "--json")
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(revokeRequests(peer).count == 2, "refresh and access token revoked at the endpoint only RFC 8414 named: \(logout.stdoutText)")
    }

    @Test("issue 17 item 2: with device and token endpoints configured, the revocation endpoint is still discovered and used")
    func configuredEndpointsStillRevoke() throws {
        let fixture = try fixture(token: [Self.tokens()])
        defer { fixture.stop() }
        try FileManager.default.createDirectory(atPath: fixture.root.path + "/vault", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "device_authorization_endpoint = \(fixture.peer.base)/device\ntoken_endpoint = \(fixture.peer.base)/token\n"
            .write(toFile: fixture.root.path + "/vault/config", atomically: true, encoding: .utf8)
        #expect(try login(fixture).status == 0)
        let logout = try fixture.cli.run("auth", "logout")
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(revokeRequests(fixture.peer).count == 2, "the old code revoked nothing and said 'Logged out successfully': \(logout.stdoutText)")
    }

    @Test("issue 17 item 2: when the server names no revocation endpoint, logout says the tokens stay valid there, in text and JSON")
    func logoutWithoutRevocation() throws {
        var script: [String: JSONValue] = ["device": Self.device(), "token": .array([Self.tokens()])]
        script["discovery"] = .object(["revocation_endpoint": .null])
        let peer = try OAuthPeer("fault", [], script: .object(script))
        defer { peer.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "CREDVAULT_BACKEND": "file",
                                                     "CREDVAULT_AUTH_ISSUER_URL": peer.base, "CREDVAULT_AUTH_CLIENT_ID": "cli"])
        #expect(try cli.run(["auth", "login", "--no-browser"]).status == 0)
        let text = try cli.run("auth", "logout")
        #expect(text.status == 0)
        #expect(!text.stdoutText.contains("Logged out successfully"), "\(text.stdoutText)")
        #expect(text.stdoutText.contains("stay valid at the server until they expire"), "\(text.stdoutText)")
        #expect(try cli.run(["auth", "login", "--no-browser"]).status == 0)
        let json = try JSONParser.parse(try cli.run("auth", "logout", "--json").stdout)
        #expect(json["not_revoked_modes"] == .array([.string("prod")]), "\(json)")
        #expect(revokeRequests(peer).isEmpty)
    }

    @Test("issue 17 item 4: the box gives the server's expiry (1800 s), not the --timeout; stopping at --timeout says so")
    func boxShowsServerExpiry() throws {
        let waiting = try fixture(token: [Self.pending()], device: Self.device(expiresIn: 1800))
        defer { waiting.stop() }
        let output = try login(waiting, ["--no-browser", "--timeout", "2"], timeout: 30)
        #expect(output.status == 75, "\(output.stderr)")
        let expiry = output.stderr.contains("The code expires in 1800 seconds.") || output.stderr.contains("The code expires in 1799 seconds.")
        #expect(expiry, "the old box said 2 seconds, the --timeout: \(output.stderr)")
        #expect(output.stderr.contains("waits 2 seconds for it (--timeout)"), "\(output.stderr)")
        #expect(output.stderr.contains("Stopped waiting for approval at --timeout"), "\(output.stderr)")
        let serverEnded = try fixture(token: [Self.pending(400, "expired_token")])
        defer { serverEnded.stop() }
        let ended = try login(serverEnded)
        #expect(ended.status == 75)
        #expect(!ended.stderr.contains("--timeout"), "the server ended the code: a longer --timeout would not help: \(ended.stderr)")
    }

    @Test("issue 17 item 4: login says when an older personal access token will still win auth resolve; --raw in zero-auth is 0 and empty")
    func loginNamesWhatResolveUses() throws {
        let fixture = try fixture(token: [Self.tokens(), Self.tokens()])
        defer { fixture.stop() }
        #expect(try fixture.cli.run(["auth", "token"], input: Array("pat-older-0123456789".utf8)).status == 0)
        let login = try self.login(fixture)
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdoutText.contains("still uses stored personal access token"), "the old box said only 'Logged in': \(login.stdoutText)")
        let json = try JSONParser.parse(try fixture.cli.run("auth", "login", "--no-browser", "--json").stdout)
        #expect(json["resolve_uses"]?["kind"] == .string("personal-access-token"), "\(json)")
        #expect(try fixture.cli.run(["auth", "resolve", "--raw"]).stdoutText == "pat-older-0123456789")

        let zeroAuth = try fixture.cli.run(["auth", "resolve", "--raw"], extra: ["CREDVAULT_AUTH_MODE": "local"])
        #expect(zeroAuth.status == 0, "as `auth resolve` in zero-auth: \(zeroAuth.stderr)")
        #expect(zeroAuth.stdout.isEmpty)
    }

    @Test("tokens never appear in arguments, --verbose traces or error messages")
    func secretsStayOut() throws {
        let refused = JSONValue.object(["status": .number(400), "json": .object(["error": .string("invalid_grant")])])
        let fixture = try fixture(token: [Self.pending(), Self.tokens(expiresIn: 4)], refresh: [refused])
        defer { fixture.stop() }
        let login = try BackgroundCLI(fixture.cli, ["--verbose", "auth", "login", "--no-browser"], directory: fixture.root.path)
        _ = try login.userCode()
        let commandLine = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(login.child.pid)/cmdline")), as: UTF8.self)
        #expect(login.wait(timeout: 30) == 0, "\(login.stderr)")
        fixedPause(2.2, because: "a 4 s access token: its refresh is due after half its life")
        var outputs = [login.stdout, login.stderr, commandLine]
        for arguments in [["--verbose", "auth", "status"], ["--verbose", "auth", "resolve"], ["--verbose", "auth", "status", "--json"],
                          ["--verbose", "auth", "logout"]] {
            let output = try fixture.cli.run(arguments)
            outputs += [output.stdoutText, output.stderr]
        }
        let all = outputs.joined(separator: "\n")
        #expect(all.contains("http: POST \(fixture.peer.base)/token grant_type=refresh_token → HTTP 400 error=invalid_grant"),
                "--verbose traces the exchanges: \(all)")
        #expect(all.contains("Token refresh failed"))
        for secret in ["fault-access-token-0001", "fault-refresh-token-0001", "dc-1"] {
            #expect(!all.contains(secret), "\(secret) leaked")
        }
    }
}
