import Foundation
import Testing
import CredentialVaultCore
import CredentialVaultTestSupport

@Suite("deadlines")
struct DeadlineTests {
    /// Sleeps `seconds` on the calling (blocking) thread.
    private static func pause(_ seconds: Double) { usleep(UInt32(seconds * 1_000_000)) }

    @Test("expireNow ends the wait at once, with onTimeout run first, although the work never returns")
    func expireNow() async {
        let deadline = RenewableDeadline(.seconds(60))
        let stopped = Cancelled()
        let start = ContinuousClock.now
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { deadline.expireNow() }
        let outcome = await runBlocking(until: deadline, onTimeout: { stopped.mark() }) { () -> Int in Self.pause(30); return 1 }
        #expect(outcome == nil)
        #expect(stopped.wasMarked)
        #expect(ContinuousClock.now - start < .seconds(5), "the 60 s deadline did not hold the wait")
    }

    @Test("work that keeps answering runs past the interval; work that stops answering times out one interval after its last answer")
    func renewableDeadline() async {
        // Six steps of 0.15 s, each renewing a 0.4 s deadline: 0.9 s in all, more than twice the interval.
        let busy = RenewableDeadline(.milliseconds(400))
        let finished = await runBlocking(until: busy) { () -> Int in
            for _ in 0..<6 { Self.pause(0.15); busy.renew() }
            return 6
        }
        #expect(finished == 6)

        // Two answers, then silence: the wait ends about 0.4 s after the second answer, not at the end of the work.
        let wedged = RenewableDeadline(.milliseconds(400))
        let cancelled = Cancelled()
        let start = ContinuousClock.now
        let outcome = await runBlocking(until: wedged, onTimeout: { cancelled.mark() }) { () -> Int in
            for _ in 0..<2 { Self.pause(0.1); wedged.renew() }
            Self.pause(5)
            return 1
        }
        let waited = ContinuousClock.now - start
        #expect(outcome == nil)
        // onTimeout has run before the waiter goes on (it records why the work was abandoned).
        #expect(cancelled.wasMarked)
        #expect(waited >= .milliseconds(550), "the renewals moved the deadline")
        #expect(waited < .seconds(4), "the deadline passed without an answer")

        // Without renewals the plain form stops at the interval.
        let plain = await runBlocking(within: .milliseconds(200)) { () -> Int in Self.pause(2); return 1 }
        #expect(plain == nil)
    }
}

/// Whether a timeout handler ran.
private final class Cancelled: @unchecked Sendable {
    private let lock = NSLock()
    private var marked = false
    func mark() { lock.lock(); marked = true; lock.unlock() }
    var wasMarked: Bool { lock.lock(); defer { lock.unlock() }; return marked }
}
