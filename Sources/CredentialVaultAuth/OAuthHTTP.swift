import CredentialVault
import CredentialVaultHTTP
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The longest lifetime taken from a server, in seconds (ten years).
    public static let longestLifetime: Double = 315_360_000

    /// A lifetime in seconds (`expires_in`), clamped to 0…``longestLifetime``: a negative
    /// value means already expired, and an absurd one (1e15 s, past the year 9999) is not
    /// believed. nil when the field is absent or not a number.
    public func lifetime(_ name: String) -> Double? {
        number(name).map { min(max($0, 0), Self.longestLifetime) }
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

/// The login flows' two kinds of exchange on the project's one ``HTTPTransport``.
extension HTTPTransport {
    /// POSTs `fields` as `application/x-www-form-urlencoded`, asking for JSON.
    ///
    /// - Throws: `CredentialVaultError` `.unavailable` when the server cannot be reached or
    ///   the connection drops, `.timedOut` when the deadline passes. The message names the URL,
    ///   never the fields (they carry codes and tokens).
    public func postForm(_ url: String, fields: [(String, String)], bearer: String? = nil) async throws -> HTTPReply {
        var headers = [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "Accept", value: "application/json")]
        if let bearer { headers.append((name: "Authorization", value: "Bearer \(bearer)")) }
        let grant = fields.first { $0.0 == "grant_type" }.map { " grant_type=\($0.1)" } ?? ""
        return try await exchange(HTTPRequest(method: "POST", url: url, headers: headers,
                                              body: Array(FormEncoding.encode(fields).utf8), note: grant))
    }

    /// GETs `url`, asking for JSON.
    public func get(_ url: String) async throws -> HTTPReply {
        try await exchange(HTTPRequest(method: "GET", url: url, headers: [(name: "Accept", value: "application/json")]))
    }

    private func exchange(_ request: HTTPRequest) async throws -> HTTPReply {
        var request = request
        // The trace names the OAuth error code of an answer (never a token).
        request.answerNote = { response in
            HTTPReply(status: response.status, contentType: response.contentType, body: response.body).string("error").map { " error=\($0)" } ?? ""
        }
        let response: HTTPResponse
        do {
            response = try await send(request)
        } catch {
            throw Self.loginError(error)
        }
        return HTTPReply(status: response.status, contentType: response.contentType, body: response.body)
    }

    /// A failed exchange as the login flows report it: 75 for a deadline, 69 otherwise,
    /// naming the URL and the reason (never a field).
    static func loginError(_ failure: HTTPFailure) -> CredentialVaultError {
        if failure.kind == .timedOut {
            return CredentialVaultError(.timedOut, "no answer from \(failure.url) within \(failure.timeout?.components.seconds ?? 0) s", cause: failure)
        }
        return CredentialVaultError(.unavailable, "cannot reach \(failure.url): \(failure.reason); check the network and the URL", cause: failure)
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
