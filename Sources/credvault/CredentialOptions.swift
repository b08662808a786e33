import ArgumentParser
import CredentialVault
import CredentialVaultAuth

/// The resolver's inputs on the command line.
struct CredentialOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Use the API key in this file (its first line).", valueName: "path"))
    var apiKeyFile: String?

    @Option(help: ArgumentHelp("Use this API key (visible to other local users in the process list; prefer --api-key-file).", valueName: "key"))
    var apiKey: String?

    @Option(help: ArgumentHelp("Use this workspace's stored key.", valueName: "name"))
    var workspace: String?

    var request: CredentialRequest {
        CredentialRequest(apiKeyFile: apiKeyFile, apiKey: apiKey.map { SecretBytes(utf8: $0) }, workspace: workspace)
    }
}
