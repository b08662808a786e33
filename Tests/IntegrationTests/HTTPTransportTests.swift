import CredentialVault
import CredentialVaultHTTP
import Foundation
import Testing
import CredentialVaultTestSupport

/// The one HTTP transport: failures classified by the error's type, and a refused connection
/// reported at once rather than retried until the deadline.
@Suite("HTTP transport")
struct HTTPTransportTests {
    @Test("a refused connection is .connectionRefused, within the first connect, not at the 20 s deadline")
    func refused() async throws {
        // A port bound, read back and closed: nobody listens there.
        let url = "http://127.0.0.1:\(try ServiceProcess.freePort())/x"
        let started = ContinuousClock.now
        do {
            _ = try await HTTPTransport(timeout: .seconds(20)).send(HTTPRequest(method: "GET", url: url))
            Issue.record("a closed port answered")
        } catch {
            #expect(error.kind == .connectionRefused, "\(error.underlying)")
            #expect(error.url == url)
            // Retrying with backoff would end at the deadline as a timeout, failing the kind check.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("TLS spoken to a plain HTTP server is .tls (recognised by type), and plain HTTP to it answers",
          .enabled(if: OAuthComponents.pythonPresent()))
    func tls() async throws {
        let peer = try OAuthPeer("fault", [], script: .object(["device": .object(["status": .number(200)]), "token": .array([])]))
        defer { peer.stop() }
        let transport = HTTPTransport(timeout: .seconds(10))
        let plain = try await transport.send(HTTPRequest(method: "GET", url: "\(peer.base)/nothing"))
        #expect(plain.status == 404)
        do {
            _ = try await transport.send(HTTPRequest(method: "GET", url: "https://127.0.0.1:\(peer.port)/nothing"))
            Issue.record("TLS to a plain server succeeded")
        } catch {
            #expect(error.kind == .tls, "\(error.underlying)")
            #expect(error.reason.hasPrefix("TLS handshake failed"))
        }
    }

    @Test("a body over the limit is .bodyTooLarge", .enabled(if: OAuthComponents.pythonPresent()))
    func bodyLimit() async throws {
        let big = String(repeating: "x", count: 4096)
        let peer = try OAuthPeer("fault", [], script: .object(["device": .object(["status": .number(200), "body": .string(big)]), "token": .array([])]))
        defer { peer.stop() }
        var transport = HTTPTransport(timeout: .seconds(10))
        transport.maximumBodySize = 1024
        do {
            _ = try await transport.send(HTTPRequest(method: "POST", url: "\(peer.base)/device", body: []))
            Issue.record("a 4 KiB body passed a 1 KiB limit")
        } catch {
            #expect(error.kind == .bodyTooLarge, "\(error.underlying)")
        }
    }
}

/// Hostile servers (issue 16, items 8 and 11): redirects stay within the origin, and one
/// deadline covers the whole exchange, body included.
@Suite("HTTP transport against hostile servers", .enabled(if: OAuthComponents.pythonPresent()))
struct HostileServerTests {
    /// A transport whose trace lines are collected.
    final class Trace: @unchecked Sendable {
        private let lock = NSLock()
        private var collected: [String] = []
        func add(_ line: String) { lock.withLock { collected.append(line) } }
        var lines: [String] { lock.withLock { collected } }
    }

    static func transport(timeout: Duration = .seconds(10), trace: Trace) -> HTTPTransport {
        var transport = HTTPTransport(timeout: timeout)
        transport.trace = { trace.add($0) }
        return transport
    }

    @Test("a redirect within the origin is followed (a POST after 302 continues as GET) and every URL is traced")
    func sameOrigin() async throws {
        let peer = try OAuthPeer("fault", [], script: .object([
            "device": .object(["status": .number(302), "location": .string("$BASE/token"), "body": .string("")]),
            "token": .array([.object(["status": .number(200), "json": .object(["ok": .bool(true)])])]),
        ]))
        defer { peer.stop() }
        let trace = Trace()
        let answer = try await Self.transport(trace: trace).send(HTTPRequest(method: "POST", url: "\(peer.base)/device", body: Array("a=b".utf8)))
        #expect(answer.status == 200)
        #expect(trace.lines == ["POST \(peer.base)/device → HTTP 302", "GET \(peer.base)/token → HTTP 200"], "\(trace.lines)")
    }

    @Test("a redirect to another server, or from http to https on the same host and port, is refused and sends nothing there")
    func otherOrigin() async throws {
        let target = try OAuthPeer("fault", [], script: .object(["device": .object(["status": .number(200)]), "token": .array([])]))
        defer { target.stop() }
        let hostile = try OAuthPeer("fault", ["--redirect-all", target.base])
        defer { hostile.stop() }
        let schemeChange = try OAuthPeer("fault", [], script: .object([
            "device": .object(["status": .number(307), "location": .string("https://127.0.0.1:$PORT/device"), "body": .string("")]),
            "token": .array([]),
        ]))
        defer { schemeChange.stop() }
        for (server, what) in [(hostile, "another port"), (schemeChange, "another scheme")] {
            let trace = Trace()
            do {
                _ = try await Self.transport(trace: trace).send(HTTPRequest(method: "POST", url: "\(server.base)/device",
                                                                            headers: [(name: "X-Vault-Token", value: "hostile-test-token")],
                                                                            body: Array("secret=1".utf8)))
                Issue.record("a redirect to \(what) was followed")
            } catch {
                #expect(error.kind == .redirectRefused, "\(what): \(error)")
                #expect(error.reason.contains("not followed"))
            }
            #expect(trace.lines.count == 2 && trace.lines[0].hasSuffix("→ HTTP 307"), "\(trace.lines)")
        }
        #expect(target.requests().isEmpty, "the other server was contacted: \(target.requests())")
    }

    @Test("a body trickled a byte every 0.5 s is cut off at the 2 s deadline (.timedOut), not read for 32 s")
    func trickledBody() async throws {
        let peer = try OAuthPeer("fault", [], script: .object([
            "device": .object(["status": .number(200), "body": .string(String(repeating: "x", count: 64)), "trickle": .number(0.5)]),
            "token": .array([]),
        ]))
        defer { peer.stop() }
        let started = ContinuousClock.now
        do {
            _ = try await Self.transport(timeout: .seconds(2), trace: Trace()).send(HTTPRequest(method: "POST", url: "\(peer.base)/device", body: []))
            Issue.record("a trickled body was read to its end")
        } catch {
            #expect(error.kind == .timedOut, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("one deadline covers a whole redirect chain: three same-origin 302s, each trickled for 1.5 s, end at the 2 s deadline, not after 4.5 s")
    func slowRedirectChain() async throws {
        func hop(to next: String) -> JSONValue {
            .object(["status": .number(302), "location": .string("$BASE" + next), "body": .string("abc"), "trickle": .number(0.5)])
        }
        let peer = try OAuthPeer("fault", [], script: .object([
            "device": hop(to: "/b"), "token": .array([]),
            "paths": .object(["/b": hop(to: "/c"), "/c": hop(to: "/d"), "/d": .object(["status": .number(200), "body": .string("ok")])]),
        ]))
        defer { peer.stop() }
        let started = ContinuousClock.now
        do {
            let answer = try await Self.transport(timeout: .seconds(2), trace: Trace()).send(HTTPRequest(method: "GET", url: "\(peer.base)/device"))
            Issue.record("the chain was followed to its end (HTTP \(answer.status)) after \(ContinuousClock.now - started)")
        } catch {
            #expect(error.kind == .timedOut, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(3.5), "took \(ContinuousClock.now - started)")
    }

    @Test("OpenBao behind a hostile redirect: exit 69 naming the redirect; the token never reaches the other server")
    func openBaoRedirect() throws {
        let target = try OAuthPeer("fault", [], script: .object(["device": .object(["status": .number(200)]), "token": .array([])]))
        defer { target.stop() }
        let hostile = try OAuthPeer("fault", ["--redirect-all", target.base])
        defer { hostile.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "BAO_ADDR": hostile.base,
                                                      "BAO_TOKEN": "hostile-test-token"])
        let get = try cli.run("--backend", "openbao", "get", "svc", "acct")
        #expect(get.status == 69, "\(get.stderr)")
        #expect(get.stderr.contains("redirected to \(target.base)") && get.stderr.contains("not followed"), "\(get.stderr)")
        #expect(target.requests().isEmpty, "the token went to the other server: \(target.requests())")
        #expect(!hostile.requests().isEmpty, "the hostile server was asked")
    }

    @Test("an OpenBao server answering a version of 1e300 gets a clean answer, not a crash")
    func openBaoAbsurdVersion() throws {
        let health: JSONValue = .object(["status": .number(200), "json": .object(["initialized": .bool(true), "sealed": .bool(false)])])
        let tokenData: JSONValue = .object(["renewable": .bool(false), "ttl": .number(1e300)])
        let lookup: JSONValue = .object(["status": .number(200), "json": .object(["data": tokenData])])
        let metadata: JSONValue = .object(["metadata": .object(["version": .number(1e300)])])
        let missing: JSONValue = .object(["status": .number(404), "json": .object(["data": metadata])])
        let paths: JSONValue = .object(["/v1/sys/health": health, "/v1/auth/token/lookup-self": lookup,
                                        "/v1/secret/data/credvault/credvault/svc/acct": missing])
        let server = try OAuthPeer("fault", [], script: .object(["device": .object(["status": .number(200)]), "token": .array([]), "paths": paths]))
        defer { server.stop() }
        let root = try TemporaryDirectory(); defer { root.remove() }
        let cli = CLI(home: root.path, environment: ["CREDVAULT_HOME": root.path + "/vault", "BAO_ADDR": server.base,
                                                      "BAO_TOKEN": "hostile-test-token", "CREDVAULT_BACKEND": "openbao"])
        let get = try cli.run("get", "svc", "acct")
        #expect(get.status == 1, "not found, as a 404 says: \(get.status) \(get.stderr)")
        let doctor = try cli.run("doctor")
        #expect(doctor.status < 128, "doctor shows the token's TTL without trapping: \(doctor.status) \(doctor.stderr)")
    }
}
