// libFuzzer entry point for every parser that reads outside input. Built only by Fuzz/run with
// `-sanitize=fuzzer,address -parse-as-library`; a plain `swift build` makes an executable
// that does nothing. The parser under test is chosen by CREDVAULT_FUZZ_TARGET (one of
// `FuzzTarget.allCases`); Fuzz/run runs each with its own seed corpus in Fuzz/corpus/<target>.
import CredentialVault
import CredentialVaultAuth
import CredentialVaultHelpers
import FileBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import OpenBaoBackend

/// The passphrase every seed bundle uses.
let fuzzPassphrase = SecureBuffer(SecretBytes(utf8: "correct horse battery staple"))
/// A fixed data key for the encrypted-store body (the seeds are sealed under it).
let fuzzDataKey = SecureBuffer(SecretBytes([UInt8](repeating: 7, count: 32)))
let fuzzKey = try! CredentialKey(service: "fuzz.example", account: "fuzz")

enum FuzzTarget: String, CaseIterable {
    /// Encrypted bundles: header checks and the whole reader (64 KiB KDF cap keeps it fast).
    case bundle
    /// The strict JSON parser.
    case json
    /// credentials.json, the plaintext file store document: read, written and read back alike.
    case filestore
    /// credentials.cvstore: the header, then the body under a fixed key.
    case encstore
    /// OAuth token, error and device-authorization responses (JSON or form bodies), ID tokens.
    case oauth
    /// The login record stored in the vault, and token sets inside it.
    case loginrecord
    /// OpenBao KV v2 read responses.
    case openbao
    /// git's credential helper protocol input.
    case git
    /// docker's credential helper protocol input (store JSON, server URL).
    case docker
    /// The per-app config file.
    case config

    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["CREDVAULT_FUZZ_TARGET"] ?? "bundle"
        guard let target = FuzzTarget(rawValue: name) else { fatalError("unknown CREDVAULT_FUZZ_TARGET '\(name)'") }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func parserFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch FuzzTarget.current {
    case .bundle:
        _ = try? BundleHeader(file: bytes, memLimitCap: 64 * 1024)
        _ = try? CredentialBundle.open(bytes, passphrase: fuzzPassphrase, memLimitCap: 64 * 1024)
    case .json:
        if let value = try? JSONParser.parse(bytes) { _ = value.serialized() }
    case .filestore:
        // The direct reader (every `get`, `set` and `list`) must agree with the reference reader.
        if let problem = FileStoreReader.roundTripProblem(on: bytes) { fatalError("credentials.json: \(problem)") }
    case .encstore:
        if (try? StoreEnvelope.Header(file: bytes, path: "fuzz/credentials.cvstore")) != nil {
            _ = StoreEnvelope.open(file: bytes, dataKey: fuzzDataKey)
        }
    case .oauth:
        // The first byte picks the content type, the rest is the body.
        guard let selector = bytes.first else { return 0 }
        let contentType = ["application/json", "application/x-www-form-urlencoded", "text/plain", nil][Int(selector) % 4]
        let reply = HTTPReply(status: selector & 0x80 == 0 ? 200 : 400, contentType: contentType, body: Array(bytes.dropFirst()))
        _ = TokenResponse(reply, received: Date(timeIntervalSince1970: 1_700_000_000))
        _ = OAuthErrorReply(reply)
        _ = try? DeviceAuthorizationClient.grant(from: reply, received: Date(timeIntervalSince1970: 1_700_000_000),
                                                 timeout: 600, endpoint: "https://fuzz.example/device")
        _ = IDTokenClaims(SecretBytes(bytes))
        // URLs from a server (discovery endpoints, verification URIs, redirects): origin and loopback.
        if let origin = HTTPOrigin(String(decoding: bytes.dropFirst(), as: UTF8.self)) { _ = origin.isProtected }
    case .loginrecord:
        _ = try? AuthRecord.parse(SecretBytes(bytes), location: "fuzz", app: .credvault)
        if let json = try? JSONParser.parse(bytes) { _ = try? TokenSet(json: json, context: "fuzz") }
    case .openbao:
        if let json = try? JSONParser.parse(bytes), let data = json["data"] {
            _ = try? OpenBaoBackend.item(fromKVData: data, key: fuzzKey, path: "fuzz")
        }
    case .git:
        if let credential = try? GitCredential.parse(bytes) {
            _ = try? credential.serialized()
            _ = GitCredentialHelper.service(for: credential)
            _ = credential.port
            // The item key is unambiguous: host h with path p never shares a key with host "h/p".
            if let host = credential.host, let path = credential.path {
                let merged = GitCredential(protocol: credential.protocol, host: host + "/" + path)
                if let service = GitCredentialHelper.service(for: credential), service == GitCredentialHelper.service(for: merged) {
                    fatalError("git item key collides: \(service)")
                }
            }
        }
    case .docker:
        _ = try? DockerCredentials(json: bytes)
        _ = try? DockerCredentialHelper.serverURL(bytes)
    case .config:
        _ = try? VaultConfiguration.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz/config")
    }
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

/// SwiftPM links executables with `main` renamed to `<Target>_main`; under
/// `-parse-as-library` there is none, so this one hands control to libFuzzer's driver.
@_cdecl("ParserFuzzer_main")
func parserFuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in parserFuzzerTestOneInput(data, size) }
}
#endif
