import AsyncHTTPClient
import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// One HTTP exchange's result: the status and the body, parsed as JSON or as a form.
public struct HTTPReply: Sendable {
    public let status: Int
    public let body: [UInt8]
    /// The body's fields, from JSON or `application/x-www-form-urlencoded` (servers such as
    /// GitHub's answer with a form unless asked for JSON); nil when it is neither.
    public let fields: [String: JSONValue]?

    public init(status: Int, contentType: String?, body: [UInt8]) {
        self.status = status
        self.body = body
        self.fields = HTTPReply.parseFields(body, contentType: contentType)
    }

    /// A string field, or a number field written as a string.
    public func string(_ name: String) -> String? {
        switch fields?[name] {
        case .string(let value)?: return value
        case .number(let value)?: return value == value.rounded() ? String(Int64(value)) : String(value)
        default: return nil
        }
    }

    /// A number field, or a string field holding a number (some servers send "5").
    /// A numeric field (a JSON number, or a string holding one); nil unless it is finite and
    /// within ±10^15, so callers may turn it into an `Int` safely ("nan" or 1e300 from a
    /// broken server is treated as absent).
    public func number(_ name: String) -> Double? {
        let value: Double?
        switch fields?[name] {
        case .number(let number)?: value = number
        case .string(let text)?: value = Double(text)
        default: value = nil
        }
        guard let value, value.isFinite, abs(value) <= 1e15 else { return nil }
        return value
    }

    static func parseFields(_ body: [UInt8], contentType: String?) -> [String: JSONValue]? {
        let type = contentType?.lowercased() ?? ""
        let trimmed = body.drop(while: { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 })
        if type.contains("json") || trimmed.first == UInt8(ascii: "{") {
            // The strict parser, not Codable, for a hygiene reason: these bodies carry tokens, and
            // a body with a key twice (two `access_token`s) is refused instead of read as one of
            // them, which JSONDecoder would do silently.
            if let object = (try? JSONParser.parse(body))?.objectValue { return object }
            if type.contains("json") { return nil }
        }
        if type.contains("x-www-form-urlencoded") || (!body.isEmpty && !type.contains("html") && trimmed.first != UInt8(ascii: "{")) {
            let text = String(decoding: body, as: UTF8.self)
            var fields: [String: JSONValue] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let name = FormEncoding.decode(String(parts[0])),
                      let value = FormEncoding.decode(String(parts[1])) else { return nil }
                fields[name] = .string(value)
            }
            return fields.isEmpty ? nil : fields
        }
        return nil
    }
}

/// The HTTP client every login flow uses: AsyncHTTPClient with a timeout on every request.
public struct HTTPTransport: Sendable {
    /// The deadline for one request, connection included.
    public var timeout: Duration
    /// Bodies larger than this are refused (a token endpoint answers in a few KiB).
    public var maximumBodySize = 1 << 20
    /// Debug trace (`--verbose`): one line per exchange with the method, URL, status and the
    /// OAuth `error` code. Never headers, form fields or bodies: they carry codes and tokens.
    public var trace: (@Sendable (String) -> Void)?

    public init(timeout: Duration = .seconds(15)) {
        self.timeout = timeout
    }

    /// POSTs `fields` as `application/x-www-form-urlencoded`, asking for JSON.
    ///
    /// - Throws: `CredentialVaultError` `.unavailable` when the server cannot be reached or
    ///   the connection drops, `.timedOut` when the deadline passes. The message names the URL,
    ///   never the fields (they carry codes and tokens).
    public func postForm(_ url: String, fields: [(String, String)], bearer: String? = nil) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        request.body = .bytes(ByteBuffer(bytes: Array(FormEncoding.encode(fields).utf8)))
        let grant = fields.first { $0.0 == "grant_type" }.map { " grant_type=\($0.1)" } ?? ""
        return try await execute(request, url: url, note: grant)
    }

    /// GETs `url`, asking for JSON.
    public func get(_ url: String) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        return try await execute(request, url: url, note: "")
    }

    private func execute(_ request: HTTPClientRequest, url: String, note: String) async throws -> HTTPReply {
        let seconds = Int64(timeout.components.seconds)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(max(seconds, 1)))
            let body = try await response.body.collect(upTo: maximumBodySize)
            let reply = HTTPReply(status: Int(response.status.code),
                                  contentType: response.headers.first(name: "Content-Type"),
                                  body: Array(body.readableBytesView))
            trace?("\(request.method.rawValue) \(url)\(note) → HTTP \(reply.status)\(reply.string("error").map { " error=\($0)" } ?? "")")
            return reply
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw CredentialVaultError(.timedOut, "no answer from \(url) within \(seconds) s", cause: error)
        } catch let error as CredentialVaultError {
            throw error
        } catch {
            throw CredentialVaultError(.unavailable, "cannot reach \(url): \(Self.describe(error)); check the network and the URL", cause: error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "the server closed the connection"
            case .invalidURL: return "the URL is not valid"
            default: return String(describing: error)
            }
        }
        if "\(error)".contains("connectionRefused") || "\(error)".contains("Connection refused") { return "connection refused" }
        return String(describing: error)
    }
}

/// `application/x-www-form-urlencoded`, as RFC 6749 appendix B uses it.
enum FormEncoding {
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*".utf8)

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        Hex.percentEncoded(text, keeping: unreserved, spaceAsPlus: true)
    }

    static func decode(_ text: String) -> String? {
        Hex.percentDecoded(text, plusAsSpace: true)
    }
}
