import CredentialVaultHTTP
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Opens a URL in the person's browser: each command of `$BROWSER` (`:`-separated, `%s`
/// replaced by the URL) in turn, else `xdg-open`. Failing to open one is not an error.
///
/// The URL comes from the login server, so it is opened only when it is an `https` URL (or
/// `http` to this machine) without spaces or control characters: never `javascript:`,
/// `file:`, or text a launcher could take for an option. The browser gets the environment
/// without credentials (``browserEnvironment(_:)``).
enum BrowserLauncher {
    /// Whether `url` may be handed to a browser.
    static func mayOpen(_ url: String) -> Bool {
        guard let origin = HTTPOrigin(url), origin.isProtected else { return false }
        return url.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && !($0.value >= 0x80 && $0.value < 0xA0) }
    }

    /// `environment` without what would hand the browser (and everything it starts) a
    /// credential: variables named `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`,
    /// `*_PASSPHRASE`, every `BAO_*` and `VAULT_*`, and `CREDENTIALS_DIRECTORY`.
    static func browserEnvironment(_ environment: [String: String]) -> [String: String] {
        environment.filter { name, _ in
            let upper = name.uppercased()
            let suffixes = ["_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSPHRASE"]
            return !suffixes.contains { upper.hasSuffix($0) } && !upper.hasPrefix("BAO_") && !upper.hasPrefix("VAULT_")
                && upper != "CREDENTIALS_DIRECTORY"
        }
    }

    /// Whether a graphical session is there to show a browser.
    static func displayAvailable(_ environment: [String: String]) -> Bool {
        !(environment["DISPLAY"] ?? "").isEmpty || !(environment["WAYLAND_DISPLAY"] ?? "").isEmpty
    }

    /// Tries to open `url`; returns whether a launcher accepted it, and what happened.
    static func open(_ url: String, environment: [String: String]) -> (opened: Bool, detail: String) {
        guard mayOpen(url) else {
            return (false, "the server's verification URL is not an https URL, so it was not opened")
        }
        let browserEnvironment = browserEnvironment(environment)
        let commands = (environment["BROWSER"].flatMap { $0.isEmpty ? nil : $0 }?.split(separator: ":").map(String.init)) ?? ["xdg-open"]
        var failures: [String] = []
        for command in commands {
            var words = command.split(separator: " ").map(String.init)
            guard !words.isEmpty else { continue }
            if words.contains(where: { $0.contains("%s") }) {
                words = words.map { $0.replacing("%s", with: url) }
            } else {
                words.append(url)
            }
            let process: SpawnedProcess
            do {
                process = try SpawnedProcess.start(["/usr/bin/env"] + words, environment: browserEnvironment)
            } catch {
                failures.append("\(words[0]): \(error)")
                continue
            }
            // A launcher that is still running after 2 s has the URL; one that exits
            // quickly tells us whether it worked.
            guard let status = process.exitStatus(within: .seconds(2)), status != 0 else { return (true, "opened \(words[0])") }
            failures.append("\(words[0]) exited with status \(status)")
        }
        return (false, failures.joined(separator: "; "))
    }
}
