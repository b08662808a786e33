import CredentialVaultCore
import Foundation

/// Where the server is and who we are, as the `bao`/`vault` CLIs read it: `BAO_ADDR` or
/// `VAULT_ADDR`, `BAO_TOKEN` or `VAULT_TOKEN` (else `openbao_token_file` in the config file,
/// else `~/.vault-token`), `BAO_NAMESPACE`/`VAULT_NAMESPACE`, `BAO_CACERT`/`VAULT_CACERT`;
/// the KV mount (`openbao_mount`, default `secret`) and path prefix (`openbao_prefix`,
/// default `credvault/<app>`) from the config file.
struct OpenBaoSettings: Sendable {
    var address: String?
    var tokenSource: String?
    var namespace: String?
    var caCertificate: String?
    var mount: String
    var prefix: String
    private var token: String?

    init(context: BackendContext) {
        let environment = context.environment
        func variable(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        address = variable("BAO_ADDR", "VAULT_ADDR").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        namespace = variable("BAO_NAMESPACE", "VAULT_NAMESPACE")
        caCertificate = variable("BAO_CACERT", "VAULT_CACERT")
        mount = context.configuration.auth["openbao_mount"] ?? "secret"
        prefix = context.configuration.auth["openbao_prefix"] ?? "credvault/\(context.app.name)"
        if let value = environment["BAO_TOKEN"], !value.isEmpty {
            token = value; tokenSource = "BAO_TOKEN"
        } else if let value = environment["VAULT_TOKEN"], !value.isEmpty {
            token = value; tokenSource = "VAULT_TOKEN"
        } else {
            let file = context.configuration.auth["openbao_token_file"]
                ?? environment["HOME"].map { $0 + "/.vault-token" }
            if let file, let text = try? String(contentsOfFile: file, encoding: .utf8) {
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { token = trimmed; tokenSource = file }
            }
        }
    }

    /// The token; never printed.
    func currentToken() -> String? { token }
}
