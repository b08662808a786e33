#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Synchronization

/// Resumes a continuation exactly once, whichever of several racers gets there first.
private final class OnceResumer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    /// Returns whether this call was the one that resumed.
    @discardableResult
    func resume(_ value: T?) -> Bool {
        guard let pending = claim() else { return false }
        pending.resume(returning: value)
        return true
    }

    /// Takes the continuation, so that no other racer resumes it; nil when one already did.
    /// The caller resumes it after doing what must happen before the waiter runs on.
    func claim() -> CheckedContinuation<T?, Never>? {
        continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }
    }
}

/// Runs `operation` and returns its result, or `nil` when it has not finished within `timeout`.
///
/// Unlike a task group, this returns at the deadline even if `operation` ignores
/// cancellation (it is cancelled, and left to finish on its own).
package func firstResult<T: Sendable>(
    within timeout: Duration,
    _ operation: @escaping @Sendable () async -> T
) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let resumer = OnceResumer(continuation)
        let work = Task { resumer.resume(await operation()) }
        // A dispatch timer, not a sleeping task: it fires even when every cooperative thread is busy.
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) {
            if resumer.resume(nil) { work.cancel() }
        }
    }
}

/// A deadline that the work it guards pushes back each time an answer arrives, so a series
/// of calls (a keyring `list` reads one item after another) is limited per call, not in total:
/// a wedged service still times out one interval after its last answer.
package final class RenewableDeadline: Sendable {
    private struct State {
        var expiry: DispatchTime
        var expiredEarly: (@Sendable () -> Void)?
    }
    private let state: Mutex<State>
    /// How long the guarded work may go without an answer.
    package let interval: Duration

    package init(_ interval: Duration) {
        self.interval = interval
        state = Mutex(State(expiry: .now() + interval.seconds))
    }

    /// Ends the wait now: the guarded work is abandoned as at a passed deadline.
    package func expireNow() {
        let hook = state.withLock { state in
            state.expiry = .now()
            return state.expiredEarly
        }
        hook?()
    }

    /// Called by ``expireNow()``; called at once when the deadline has already passed.
    fileprivate func onExpireNow(_ hook: @escaping @Sendable () -> Void) {
        let passed = state.withLock { state in
            state.expiredEarly = hook
            return state.expiry <= .now()
        }
        if passed { hook() }
    }

    /// Moves the deadline to one interval from now.
    package func renew() {
        let next = DispatchTime.now() + interval.seconds
        state.withLock { $0.expiry = next }
    }

    fileprivate var current: DispatchTime {
        state.withLock { $0.expiry }
    }
}

/// Runs blocking `work` on a thread of its own and returns its result, or `nil` when it has
/// not finished within `timeout`; then `onTimeout` is called (to cancel the blocked call)
/// and the thread is left to finish on its own.
package func runBlocking<T: Sendable>(
    within timeout: Duration,
    onTimeout: @escaping @Sendable () -> Void = {},
    _ work: @escaping @Sendable () -> T
) async -> T? {
    await runBlocking(until: RenewableDeadline(timeout), onTimeout: onTimeout, work)
}

/// Runs blocking `work` on a thread of its own and returns its result, or `nil` when
/// `deadline` passes before it finishes (the work may renew it as it makes progress); then
/// `onTimeout` is called and the thread is left to finish on its own.
package func runBlocking<T: Sendable>(
    until deadline: RenewableDeadline,
    onTimeout: @escaping @Sendable () -> Void = {},
    _ work: @escaping @Sendable () -> T
) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let resumer = OnceResumer(continuation)
        // A queue of its own targets dispatch's overcommitting pool, which starts a new thread
        // when every thread is blocked: a wedged call never holds up another one.
        DispatchQueue(label: "credvault.blocking").async { resumer.resume(work()) }
        // Fires at the deadline; when it was renewed meanwhile, waits for the new one.
        @Sendable func watch(_ at: DispatchTime) {
            DispatchQueue.global().asyncAfter(deadline: at) {
                let expiry = deadline.current
                if expiry > .now() { return watch(expiry) }
                expire()
            }
        }
        // The waiter runs on only after onTimeout (which records why the work was abandoned).
        @Sendable func expire() {
            guard let pending = resumer.claim() else { return }
            onTimeout()
            pending.resume(returning: nil)
        }
        watch(deadline.current)
        deadline.onExpireNow(expire)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Formats as "2 s" or "0.25 s".
    package var formattedSeconds: String {
        let value = seconds
        if value == value.rounded() { return "\(Int(value)) s" }
        return "\(value.formatted(decimals: 2)) s"
    }
}
