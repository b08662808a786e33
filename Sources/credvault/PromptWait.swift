import CredentialVault
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// While a backend waits for a person to answer its service's dialog: a line on stderr (on a
/// terminal, unless --quiet) saying what is awaited, and Ctrl-C turned into closing the dialog
/// (the backend then ends the wait with exit 130) instead of killing the process, which would
/// leave the dialog on screen.
final class PromptWait: @unchecked Sendable {
    private let lock = NSLock()
    private var source: DispatchSourceSignal?

    static func observer(quiet: Bool) -> PromptObserver {
        let wait = PromptWait()
        return PromptObserver(
            begin: { what, timeout, dismiss in wait.begin(what, timeout, quiet: quiet, dismiss) },
            end: { wait.end() })
    }

    private func begin(_ what: String, _ timeout: Duration, quiet: Bool, _ dismiss: @escaping @Sendable () -> Void) {
        if !quiet, isatty(STDERR_FILENO) == 1 {
            Terminal.note("waiting for \(what) (up to \(timeout.formattedSeconds); Ctrl-C closes it)…")
        }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: dismiss)
        source.resume()
        lock.lock()
        self.source = source
        lock.unlock()
    }

    private func end() {
        lock.lock()
        let source = self.source
        self.source = nil
        lock.unlock()
        guard let source else { return }
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
