import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Waits until `condition` holds, checking it every `poll` seconds for at most `seconds`;
/// returns whether it held. This is how tests synchronise: on something observable (a file,
/// a process state, a server's log), never on a fixed pause.
package func waitUntil(seconds: Double, poll: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while true {
        if try condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        usleep(UInt32(poll * 1_000_000))
    }
}

/// A pause of fixed length, for the few tests whose subject is time itself (a token that must
/// expire, a code that must age): each is written, with its reason, to the file named by
/// `CREDVAULT_TEST_SLEEP_LOG`, and scripts/test prints the total after the run.
package func fixedPause(_ seconds: Double, because reason: String) {
    if let log = ProcessInfo.processInfo.environment["CREDVAULT_TEST_SLEEP_LOG"], !log.isEmpty {
        let line = "\(seconds)\t\(reason)\n"
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd >= 0 { _ = line.withCString { write(fd, $0, strlen($0)) }; close(fd) }
    }
    usleep(UInt32(seconds * 1_000_000))
}
