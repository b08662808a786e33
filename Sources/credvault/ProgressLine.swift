import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// A spinner with a status text on stderr while long work runs (the Argon2id KDF, export,
/// import, migrate). Shown only when stderr is a terminal and neither --json nor --quiet is
/// given; piped or scripted output never contains it. The line is erased when the work ends.
final class ProgressLine: Sendable {
    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    private let state: Mutex<(text: String, running: Bool)>
    private let done = DispatchSemaphore(value: 0)

    /// Starts a spinner, or returns nil when progress must not be shown.
    static func start(_ text: String, options: GlobalOptions) -> ProgressLine? {
        guard !options.json, !options.quiet, StandardStream.error.isTerminal,
              ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        return ProgressLine(text)
    }

    private init(_ text: String) {
        state = Mutex((text, true))
        DispatchQueue(label: "credvault.progress").async { [self] in self.spin() }
    }

    private func spin() {
        var frame = 0
        while true {
            let (line, active) = state.withLock { ($0.text, $0.running) }
            guard active else { break }
            StandardStream.error.write(Array("\r\u{1b}[K\(Self.frames[frame % Self.frames.count]) \(line)".utf8))
            frame += 1
            usleep(100_000)
        }
        StandardStream.error.write(Array("\r\u{1b}[K".utf8))
        done.signal()
    }

    /// Replaces the status text.
    func update(_ text: String) {
        state.withLock { $0.text = text }
    }

    /// A handler for library progress events: "<title>: <phase> <n>/<total>".
    func handler(_ title: String) -> ProgressHandler {
        { [self] event in
            update(event.total > 0 ? "\(title): \(event.phase) \(event.completed)/\(event.total)" : "\(title): \(event.phase)")
        }
    }

    /// Stops the spinner and erases its line.
    func finish() {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        if wasRunning { done.wait() }
    }

    /// Runs `body` with a spinner showing `text`.
    static func around<T>(_ text: String, options: GlobalOptions, _ body: (ProgressLine?) async throws -> T) async rethrows -> T {
        let line = start(text, options: options)
        defer { line?.finish() }
        return try await body(line)
    }

    static func around<T>(_ text: String, options: GlobalOptions, _ body: () throws -> T) rethrows -> T {
        let line = start(text, options: options)
        defer { line?.finish() }
        return try body()
    }
}
