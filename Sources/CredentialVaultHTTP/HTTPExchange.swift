/// One HTTP request as the project sends it: a method, an absolute URL, headers and an
/// optional body. Nothing here is logged except the method, the URL and `note`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Text the `--verbose` trace adds after the URL (such as `grant_type=…`); never a secret.
    public var note: String
    /// Text the trace adds after the answer's status (such as the OAuth `error` code); never a
    /// secret.
    public var answerNote: (@Sendable (HTTPResponse) -> String)?

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, note: String = "",
                answerNote: (@Sendable (HTTPResponse) -> String)? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.note = note
        self.answerNote = answerNote
    }
}

/// A server's answer: the status, the `Content-Type` and the whole body (bounded by
/// ``HTTPTransport/maximumBodySize``).
public struct HTTPResponse: Sendable {
    public let status: Int
    public let contentType: String?
    public let body: [UInt8]

    public init(status: Int, contentType: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}
