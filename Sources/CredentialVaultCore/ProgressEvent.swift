/// How far a long operation (an import, a migration) has come, for a progress line.
public struct ProgressEvent: Sendable, Equatable {
    /// What is being done now: "writing", "verifying", "deleting from the source".
    public var phase: String
    public var completed: Int
    public var total: Int

    public init(phase: String, completed: Int, total: Int) {
        self.phase = phase
        self.completed = completed
        self.total = total
    }
}

/// Receives ``ProgressEvent``s; called on the operation's task, so it must return quickly.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
