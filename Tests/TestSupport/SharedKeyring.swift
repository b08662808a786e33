import Foundation

/// One keyring for the whole test process, for in-process Secret Service tests: libsecret
/// connects to the session bus once per process, so every in-process test shares this bus.
/// (CLI tests start a harness of their own per test.) It stops when the test process exits.
package enum SharedKeyring {
    package static let harness: Result<KeyringHarness, HarnessError> = {
        do {
            let harness = try KeyringHarness()
            setenv("DBUS_SESSION_BUS_ADDRESS", harness.address, 1)
            return .success(harness)
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()
}
