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

/// While a backend waits for a person to answer its service's dialog: a line on stderr (on a
/// terminal, unless --quiet) saying what is awaited, and Ctrl-C turned into closing the dialog
/// (the backend then ends the wait with exit 130) instead of killing the process, which would
/// leave the dialog on screen.
final class PromptWait: Sendable {
    /// Dispatch sources are thread-safe but not marked `Sendable`.
    private struct SignalSource: @unchecked Sendable { let source: DispatchSourceSignal }
    private let source = Mutex<SignalSource?>(nil)

    static func observer(quiet: Bool) -> PromptObserver {
        let wait = PromptWait()
        return PromptObserver(
            begin: { what, timeout, dismiss in wait.begin(what, timeout, quiet: quiet, dismiss) },
            end: { wait.end() })
    }

    private func begin(_ what: String, _ timeout: Duration, quiet: Bool, _ dismiss: @escaping @Sendable () -> Void) {
        if !quiet, StandardStream.error.isTerminal {
            Terminal.note("waiting for \(what) (up to \(timeout.formattedSeconds); Ctrl-C closes it)…")
        }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: dismiss)
        source.resume()
        self.source.withLock { $0 = SignalSource(source: source) }
    }

    private func end() {
        guard let source = source.withLock({ $0.take() })?.source else { return }
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
