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

/// The one status line on stderr: a spinner with a text while long work runs (the Argon2id
/// KDF, export, import, migrate) and the device-flow countdown. Shown only when stderr is a
/// terminal and neither --json nor --quiet is given; piped or scripted output never contains
/// it. The line is erased when the work ends, and while anything else is written to the
/// terminal (``paused(_:)``): a prompt (the work may ask for a passphrase or a code, and a
/// spinner drawn over the prompt looks like a hang) or a note or warning (which would
/// otherwise land on the status line's row).
final class ProgressLine: Sendable {
    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    private struct State {
        var text: String
        var running = true
        /// How many ``paused(_:)`` calls are under way; nothing is drawn while any is.
        var pauses = 0
        /// Whether the line is on screen now.
        var drawn = false
        var frame = 0
    }
    /// Every write of the line happens under this lock, so a pause or the end erases it and
    /// no frame comes after.
    private let state: Mutex<State>
    /// The status line on screen now, if any (there is at most one).
    private static let current = Mutex<ProgressLine?>(nil)

    /// Starts a spinner, or returns nil when progress must not be shown.
    static func start(_ text: String, options: GlobalOptions) -> ProgressLine? {
        start(text, quiet: options.json || options.quiet)
    }

    /// Starts a spinner, or returns nil when `quiet` or stderr is not a terminal.
    static func start(_ text: String, quiet: Bool) -> ProgressLine? {
        guard !quiet, StandardStream.error.isTerminal, ProcessInfo.processInfo.environment["TERM"] != "dumb" else { return nil }
        return ProgressLine(text)
    }

    private init(_ text: String) {
        state = Mutex(State(text: text))
        Self.current.withLock { $0 = self }
        DispatchQueue(label: "credvault.progress").async { [self] in self.spin() }
    }

    private func spin() {
        while state.withLock({ state in
            guard state.running else { return false }
            if state.pauses == 0 { Self.draw(&state) }
            return true
        }) {
            usleep(100_000)
        }
    }

    private static func draw(_ state: inout State) {
        StandardStream.error.write(Array("\r\u{1b}[K\(frames[state.frame % frames.count]) \(state.text)".utf8))
        state.frame += 1
        state.drawn = true
    }

    private static func erase(_ state: inout State) {
        if state.drawn { StandardStream.error.write(Array("\r\u{1b}[K".utf8)) }
        state.drawn = false
    }

    /// Replaces the status text (shown from the next frame).
    func update(_ text: String) {
        state.withLock { $0.text = text }
    }

    /// A handler for library progress events: "<title>: <phase> <n>/<total>".
    func handler(_ title: String) -> ProgressHandler {
        { [self] event in
            update(event.total > 0 ? "\(title): \(event.phase) \(event.completed)/\(event.total)" : "\(title): \(event.phase)")
        }
    }

    /// Runs `body` (a prompt, a message) with the status line, if any, erased; it is drawn
    /// again after `body` returns. Every terminal prompt (``Terminal/ask(_:)``) and every note
    /// and warning (``Terminal/note(_:)``, ``Terminal/warn(_:)``) goes through here.
    static func paused<T>(_ body: () throws -> T) rethrows -> T {
        guard let line = current.withLock({ $0 }) else { return try body() }
        line.state.withLock { state in
            state.pauses += 1
            erase(&state)
        }
        defer { line.state.withLock { $0.pauses -= 1 } }
        return try body()
    }

    /// Stops the line and erases it.
    func finish() {
        state.withLock { state in
            state.running = false
            Self.erase(&state)
        }
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
