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
/// given; piped or scripted output never contains it. The line is erased when the work ends,
/// and while a prompt waits for the person (``paused(_:)``): the work may ask for a
/// passphrase or a code, and a spinner drawn over the prompt looks like a hang.
final class ProgressLine: Sendable {
    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    private struct State {
        var text: String
        var running = true
        /// Set by ``paused(_:)``; the spinner then erases its line once and draws nothing.
        var paused = false
        var erased = false
    }
    private let state: Mutex<State>
    private let done = DispatchSemaphore(value: 0)
    private let erasedForPause = DispatchSemaphore(value: 0)
    /// The spinner on screen now, if any (there is at most one).
    private static let current = Mutex<ProgressLine?>(nil)

    /// Starts a spinner, or returns nil when progress must not be shown.
    static func start(_ text: String, options: GlobalOptions) -> ProgressLine? {
        guard !options.json, !options.quiet, StandardStream.error.isTerminal,
              ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        return ProgressLine(text)
    }

    private init(_ text: String) {
        state = Mutex(State(text: text))
        Self.current.withLock { $0 = self }
        DispatchQueue(label: "credvault.progress").async { [self] in self.spin() }
    }

    private func spin() {
        var frame = 0
        while true {
            let (line, active, paused, erased) = state.withLock { ($0.text, $0.running, $0.paused, $0.erased) }
            guard active else { break }
            if paused {
                if !erased {
                    StandardStream.error.write(Array("\r\u{1b}[K".utf8))
                    state.withLock { $0.erased = true }
                    erasedForPause.signal()
                }
            } else {
                StandardStream.error.write(Array("\r\u{1b}[K\(Self.frames[frame % Self.frames.count]) \(line)".utf8))
                frame += 1
            }
            usleep(100_000)
        }
        StandardStream.error.write(Array("\r\u{1b}[K".utf8))
        done.signal()
    }

    /// Runs `body` (a prompt) with the spinner on screen, if any, erased and stopped; it
    /// comes back when `body` returns. Every terminal prompt of the CLI goes through here
    /// (``Terminal/ask(_:)``).
    static func paused<T>(_ body: () throws -> T) rethrows -> T {
        guard let line = current.withLock({ $0 }), line.pause() else { return try body() }
        defer { line.state.withLock { $0.paused = false; $0.erased = false } }
        return try body()
    }

    /// Asks the spinner to erase its line and waits until it has; false when it has stopped.
    private func pause() -> Bool {
        let running = state.withLock { state in
            if state.running { state.paused = true }
            return state.running
        }
        // The spinner runs until finish(), which comes after the work (and its prompts).
        if running { erasedForPause.wait() }
        return running
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
        let wasRunning = state.withLock { state -> Bool in
            defer { state.running = false }
            return state.running
        }
        if wasRunning { done.wait() }
        Self.current.withLock { if $0 === self { $0 = nil } }
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
