import Foundation
import Testing

/// Runs the built `credvault` binary as a separate process, the way users do.
package struct CLI: Sendable {
    /// The `credvault` next to the test binary, or `CREDVAULT_TEST_BINARY` (to run the CLI
    /// tests against another build, such as the release binary `make build` makes).
    package static let executable: String = {
        if let chosen = ProcessInfo.processInfo.environment["CREDVAULT_TEST_BINARY"], !chosen.isEmpty { return chosen }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("credvault").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "credvault-not-built: run `swift build` before `swift test`"
    }()

    /// The environment every invocation gets: a PATH, plus `environment`. Nothing else from
    /// this process leaks in (no D-Bus address unless given).
    package var environment: [String: String]
    /// Arguments a test puts before the verb (`--app skillmeat`).
    package var appArguments: [String] = []

    package init(home: String, environment: [String: String] = [:]) {
        var base = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"]
        base.merge(environment) { $1 }
        self.environment = base
    }

    package func run(_ arguments: [String], input: [UInt8] = [], extra: [String: String] = [:], timeout: TimeInterval = 60) throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: CLI.executable), "credvault binary not found: \(CLI.executable)")
        return try ProcessRunner.run(CLI.executable, arguments, environment: environment.merging(extra) { $1 }, input: input, timeout: timeout)
    }

    package func run(_ arguments: String..., input: String = "", extra: [String: String] = [:]) throws -> ProcessOutput {
        try run(arguments, input: Array(input.utf8), extra: extra)
    }
}

/// A fresh temporary directory, removed by `remove()`.
package struct TemporaryDirectory {
    package let path: String
    package init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("credvault-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        path = base.path
    }
    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}
