import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Opens a URL in the person's browser: each command of `$BROWSER` (`:`-separated, `%s`
/// replaced by the URL) in turn, else `xdg-open`. Failing to open one is not an error.
enum BrowserLauncher {
    /// Whether a graphical session is there to show a browser.
    static func displayAvailable(_ environment: [String: String]) -> Bool {
        !(environment["DISPLAY"] ?? "").isEmpty || !(environment["WAYLAND_DISPLAY"] ?? "").isEmpty
    }

    /// Tries to open `url`; returns whether a launcher accepted it, and what happened.
    static func open(_ url: String, environment: [String: String]) -> (opened: Bool, detail: String) {
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
                process = try SpawnedProcess.start(["/usr/bin/env"] + words, environment: environment)
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
