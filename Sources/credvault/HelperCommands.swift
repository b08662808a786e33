import ArgumentParser
import CredentialVault
import CredentialVaultAuth
import CredentialVaultHelpers
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `credvault git-credential get|store|erase`: git's credential helper protocol.
struct GitCredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-credential",
        abstract: "Serve git's credential helper protocol (git config credential.helper '!credvault git-credential').",
        discussion: """
        git writes key=value lines on standard input and reads the reply on standard output. \
        Credentials go to the selected backend. On the Secret Service, items stored by \
        git-credential-libsecret are read and erased too.
        """)

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @Argument(help: ArgumentHelp("The operation git asks for.", valueName: "get|store|erase"),
              completion: .list(["get", "store", "erase"]))
    var operation: String

    func run() async throws {
        try await Self.perform(options: options, operation: operation)
    }

    /// Shared with `git-credential-credvault OPERATION` (see main.swift).
    static func perform(options: GlobalOptions, operation: String) async throws {
        try await Terminal.run(options) {
            // git may add operations; a helper ignores the ones it does not know.
            guard let known = GitCredentialHelper.Operation(rawValue: operation) else { return }
            var input = try readAllStandardInput()
            defer { input.wipe() }
            let request = try GitCredential.parse(input)
            let helper = GitCredentialHelper(vault: try await options.openVault())
            if let reply = try await helper.run(known, request) {
                var bytes = try reply.serialized().copyBytes()
                StandardStream.output.write(bytes)
                bytes.wipe()
            }
        }
    }
}

/// `credvault docker-credential store|get|erase|list|version`: the docker-credential-helpers protocol.
struct DockerCredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docker-credential",
        abstract: "Serve the docker credential-helper protocol (also run as docker-credential-credvault).",
        discussion: """
        The install step makes the docker-credential-credvault link. docker reads \
        "credsStore": "credvault" in ~/.docker/config.json; podman, skopeo and buildah read only \
        "credHelpers" (per registry), in containers' auth.json or ~/.docker/config.json. \
        Output and errors go to standard output, as docker expects; a miss prints \
        "credentials not found in native keychain".
        """)

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @Argument(help: ArgumentHelp("The action docker asks for.", valueName: "store|get|erase|list|version"),
              completion: .list(["store", "get", "erase", "list", "version"]))
    var action: [String] = []

    func run() async throws {
        try await Self.perform(options: options, arguments: action, name: "docker-credential-credvault")
    }

    /// Shared with `docker-credential-credvault ACTION` (see main.swift).
    static func perform(options: GlobalOptions, arguments: [String], name: String) async throws {
        var input: [UInt8] = []
        if arguments.count == 1, ["store", "get", "erase"].contains(arguments[0]) {
            do {
                input = try readAllStandardInput()
            } catch let error as CredentialVaultError {
                // docker shows the helper's standard output as the error, as for every other failure.
                StandardStream.output.write(error.message + "\n")
                throw ExitCode(1)
            }
        }
        defer { input.wipe() }
        let helper = DockerCredentialHelper(name: name) {
            var vaultOptions = try options.vaultOptions()
            // docker prints the helper's stdout on failure; the fallback notice goes to stderr as usual.
            vaultOptions.passphrasePrompt = nil
            return try await CredentialVault.open(app: options.appProfile, registry: .standardWithLogin, options: vaultOptions)
        }
        let reply = await helper.run(arguments: arguments, input: input)
        var bytes = reply.output.copyBytes()
        StandardStream.output.write(bytes)
        bytes.wipe()
        if reply.status != 0 { throw ExitCode(reply.status) }
    }
}

/// All of standard input, unchanged: a helper's request (small; at most 1 MiB). The caller
/// wipes the copy.
func readAllStandardInput() throws -> [UInt8] {
    try SecretInput.read(.descriptor(STDIN_FILENO), as: .raw, limit: 1 << 20, what: "the request").copyBytes()
}
