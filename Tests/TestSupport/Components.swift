import Foundation
import Testing

/// Whether the real components a test needs are here. A test may skip, printing why, on a
/// machine that lacks one; `.ci/run` sets CREDVAULT_TEST_REQUIRE_COMPONENTS=1, which makes
/// every such test run anyway (and fail loudly if the component is missing).
package enum Components {
    package static var required: Bool { ProcessInfo.processInfo.environment["CREDVAULT_TEST_REQUIRE_COMPONENTS"] == "1" }

    /// The first missing tool among `tools`, searched on PATH.
    package static func missing(_ tools: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return tools.first { tool in
            !path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
    }

    /// A trait condition: true when the tools exist or components are required.
    package static func present(_ tools: String...) -> Bool {
        if required { return true }
        if let tool = missing(tools) {
            print("SKIP: \(tool) is not installed (apt-get install gnome-keyring libsecret-tools dbus); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
            return false
        }
        return true
    }

    /// True when running as root (needed to mount tmpfs and chown to another user), or when required.
    package static var rootOrRequired: Bool {
        if required || geteuid() == 0 { return true }
        print("SKIP: this test needs root (tmpfs mounts, chown); set CREDVAULT_TEST_REQUIRE_COMPONENTS=1 to fail instead")
        return false
    }
}
