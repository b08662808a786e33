/// A backend whose service can ask a person to unlock it: the Secret Service shows its own
/// unlock dialog (gnome-keyring's `gcr-prompter`, KeePassXC's window) when a client asks.
///
/// The selector calls ``unlockByPrompt()`` when the backend it is about to use reports
/// ``CredentialVaultError/Code/locked``; the backend shows the dialog only where a person can
/// answer it and waits at most ``BackendContext/promptTimeout``.
public protocol PromptingBackend: CredentialBackend {
    /// Asks the service to show its unlock dialog and waits for the person.
    ///
    /// - Throws: ``CredentialVaultError``: `.locked` when no dialog can be shown here (no
    ///   display, an SSH session), `.cancelled` when the person cancelled it, `.timedOut` when
    ///   nobody answered within the prompt timeout (the dialog is dismissed), `.interrupted`
    ///   when the task was cancelled or the observer's dismiss was called (the dialog is
    ///   dismissed too).
    func unlockByPrompt() async throws
}

/// What an app does while a backend waits for a person: the CLI says so on stderr and turns
/// Ctrl-C into `dismiss`. Both closures are called once per wait, `begin` before the dialog is
/// shown and `end` after it closed.
public struct PromptObserver: Sendable {
    /// `what` names the dialog ("the keyring's unlock dialog"); calling `dismiss` closes it
    /// and ends the wait with ``CredentialVaultError/Code/interrupted``.
    public var begin: @Sendable (_ what: String, _ timeout: Duration, _ dismiss: @escaping @Sendable () -> Void) -> Void
    public var end: @Sendable () -> Void

    public init(begin: @escaping @Sendable (_ what: String, _ timeout: Duration, _ dismiss: @escaping @Sendable () -> Void) -> Void,
                end: @escaping @Sendable () -> Void) {
        self.begin = begin
        self.end = end
    }
}
