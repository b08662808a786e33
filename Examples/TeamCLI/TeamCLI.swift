// teamcli: a command-line app that embeds CredentialVault for its own login and credentials.
// Its app name "teamcli" gives it its own directory and variables (TEAMCLI_API_KEY,
// TEAMCLI_AUTH_ISSUER_URL, TEAMCLI_BACKEND, ...): nothing is shared with credvault.
//
//   teamcli auth login    OAuth device-code login (TEAMCLI_AUTH_ISSUER_URL, TEAMCLI_AUTH_CLIENT_ID)
//   teamcli auth token    store a personal access token read from standard input
//   teamcli auth status   who is logged in, where it is stored, which source wins
//   teamcli auth logout   revoke and forget the login
//   teamcli call          resolve the credential an API call would use, and say where it came from
import CredentialVault
import CredentialVaultAuth
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

@main
struct TeamCLI {
    static func main() async {
        // The library's hints name `<app> auth login` and `<app> auth token`, so the verbs live under `auth`.
        let arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != "auth" }
        do {
            let session = try await AuthSession.open(app: AppProfile("teamcli"), commandName: "teamcli")
            switch arguments.first {
            case "login":
                let outcome = try await session.login { event in
                    if case .prompt(let prompt) = event {
                        printError("Visit \(prompt.verificationURI) and enter the code \(prompt.userCode)")
                    }
                }
                if case .loggedIn(let mode, let identity, let location, _) = outcome {
                    print("Logged in (\(mode.rawValue)) as \(identity?.displayName ?? "unknown"); stored in \(location)")
                }
            case "token":
                let token = SecretBytes(try SecretInput.read(.descriptor(STDIN_FILENO), as: .line, limit: 64 * 1024, what: "the token"))
                print("Token stored in \(try await session.storePersonalAccessToken(token))")
            case "status":
                let status = try await session.status()
                print("backend: \(status.backend) (\(status.storage))")
                print("credential: \(status.credential.map { "\($0.source)" } ?? status.problem?.message ?? "none")")
            case "call":
                let credential = try await session.resolve()
                guard let value = credential.value else { print("no credential needed (\(credential.source))"); return }
                // A real app sends `value` in an Authorization header; we only show its shape.
                print("would call the API with \(APIKey.masked(value)) from \(credential.source)")
            case "logout":
                let outcome = try await session.logout(all: false)
                let removed = outcome.removedModes.map { "\($0.rawValue) login" } + (outcome.removedPersonalAccessToken ? ["personal access token"] : [])
                print("Logged out: removed \(removed.isEmpty ? "nothing (nothing was stored)" : removed.joined(separator: ", "))")
            default:
                printError("usage: teamcli auth login|token|status|logout, or teamcli call")
                exit(64)
            }
        } catch let error as CredentialVaultError {
            printError("teamcli: \(error.message)")
            // teamcli's own statuses: 80 when a login is needed, 64 for usage, 1 otherwise.
            exit(error.code == .authenticationRequired ? 80 : error.code == .usage ? 64 : 1)
        } catch {
            printError("teamcli: \(error)")
            exit(70)
        }
    }

    static func printError(_ text: String) {
        StandardStream.error.write(text + "\n")
    }
}
