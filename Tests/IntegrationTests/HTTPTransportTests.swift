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
