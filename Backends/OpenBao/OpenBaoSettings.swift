import CredentialVaultCore
import CredentialVaultHTTP
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the server is and who we are, as the `bao`/`vault` CLIs read it: `BAO_ADDR` or
/// `VAULT_ADDR`, `BAO_TOKEN` or `VAULT_TOKEN` (else `openbao_token_file` in the config file,
/// else `~/.vault-token`), `BAO_NAMESPACE`/`VAULT_NAMESPACE`, `BAO_CACERT`/`VAULT_CACERT`;
/// the KV mount (`openbao_mount`, default `secret`) and path prefix (`openbao_prefix`,
/// default `credvault/<app>`) from the config file; or AppRole (`openbao_role_id` and a
/// secret id file) instead of a token.
struct OpenBaoSettings: Sendable {
    var address: String?
    var tokenSource: String?
    var namespace: String?
    var caCertificate: String?
    var mount: String
    var prefix: String
    /// AppRole: the role id (config `openbao_role_id`) and where the secret id is read from
    /// (`openbao_secret_id_file`, a 0600 file, or systemd's `$CREDENTIALS_DIRECTORY/openbao.secret_id`).
    var roleID: String?
    var secretIDFile: String?
    private var token: String?
    /// Why the token file (or `BAO_ADDR`) could not be used, when it exists but may not be:
    /// refused with this rather than treated as "no token".
    var problem: CredentialVaultError?

    init(context: BackendContext) {
        let environment = context.environment
        func variable(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        address = variable("BAO_ADDR", "VAULT_ADDR").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        namespace = variable("BAO_NAMESPACE", "VAULT_NAMESPACE")
        caCertificate = variable("BAO_CACERT", "VAULT_CACERT")
        mount = context.configuration.settings["openbao_mount"] ?? "secret"
        prefix = context.configuration.settings["openbao_prefix"] ?? "credvault/\(context.app.name)"
        roleID = context.configuration.settings["openbao_role_id"]
        if let file = context.configuration.settings["openbao_secret_id_file"] {
            secretIDFile = file
        } else if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty,
                  FileManager.default.fileExists(atPath: directory + "/openbao.secret_id") {
            secretIDFile = directory + "/openbao.secret_id"
        }
        if roleID != nil {
            tokenSource = "AppRole \(roleID!)"
        } else if let value = environment["BAO_TOKEN"], !value.isEmpty {
            token = value; tokenSource = "BAO_TOKEN"
        } else if let value = environment["VAULT_TOKEN"], !value.isEmpty {
            token = value; tokenSource = "VAULT_TOKEN"
        } else {
            let file = context.configuration.settings["openbao_token_file"]
                ?? environment["HOME"].map { $0 + "/.vault-token" }
            // A missing token file gives no token (the refusal then names the ways to give
            // one); one that is another user's, open to others or a link is refused as such.
            if let file, SecureFileSystem.entry(file) != nil {
                do {
                    let text = try SecretInput.read(.file(file), as: .line, limit: 4096, what: "the OpenBao token").utf8String()
                    let trimmed = text?.trimmingWhitespaceAndNewlines() ?? ""
                    if !trimmed.isEmpty { token = trimmed; tokenSource = file }
                } catch let error as CredentialVaultError {
                    problem = error
                } catch {
                    problem = CredentialVaultError(.internal, "cannot read the OpenBao token file \(file)", cause: error)
                }
            }
        }
        if let address, let origin = HTTPOrigin(address), !origin.isProtected,
           environment["CREDVAULT_OPENBAO_ALLOW_HTTP"] != "1" {
            problem = CredentialVaultError(.configuration,
                "BAO_ADDR is \(address): plain http to another machine would send the token and every secret in clear; use https, or set CREDVAULT_OPENBAO_ALLOW_HTTP=1 if the network path is protected otherwise")
        }
    }

    /// The static token; never printed.
    func staticToken() -> String? { token }

    /// Whether some way to authenticate is configured.
    var hasCredentials: Bool { token != nil || roleID != nil }

    /// The AppRole secret id, from a file that must be yours and not readable by others.
    func secretID() throws -> String {
        guard let file = secretIDFile else {
            throw CredentialVaultError(.configuration, "openbao_role_id is set but no secret id: set openbao_secret_id_file (a 0600 file) or use systemd's LoadCredential=openbao.secret_id")
        }
        let secret = try SecretInput.read(.file(file), as: .line, limit: 4096, what: "the AppRole secret id")
        guard let text = secret.utf8String(), !text.trimmingWhitespaceAndNewlines().isEmpty else {
            throw CredentialVaultError(.configuration, "the AppRole secret id in \(file) is empty or not UTF-8 text")
        }
        return text.trimmingWhitespaceAndNewlines()
    }
}
