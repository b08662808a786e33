// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]
/// Targets with no unsafe pointer code of their own: that lives in CredentialVaultSystem,
/// CredentialVaultCrypto and the Swift sides of the C libraries (the keyring's LibSecret.swift,
/// the QR symbol's QRCode.swift), which are built with `strict` alone.
let safe: [SwiftSetting] = strict + [.strictMemorySafety()]

let package = Package(
    name: "credential-vault",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CredentialVault", targets: ["CredentialVault"]),
        .library(name: "CredentialVaultCore", targets: ["CredentialVaultCore"]),
        .library(name: "CredentialVaultAuth", targets: ["CredentialVaultAuth"]),
        .library(name: "CredentialVaultOTP", targets: ["CredentialVaultOTP"]),
        .library(name: "CredentialVaultHelpers", targets: ["CredentialVaultHelpers"]),
        .executable(name: "credvault", targets: ["credvault"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // `swift package generate-documentation` (DocC) for the public API.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The keyring's C boundary, compiled against the real headers, each file exposing a small
        // API of the project's own: the backend's conversation with libsecret (keyring.c), and
        // the Secret Service provider's D-Bus plumbing (provider.c, GIO) and Diffie-Hellman
        // (dh.c, libgcrypt). They call those libraries only through pointers filled with dlsym
        // on first use, so nothing links them (the linker drops the unused -l flags) and runs
        // that never touch the keyring never load GLib.
        .target(
            name: "CKeyringBoundary",
            path: "Sources/CKeyringBoundary",
            exclude: ["system"],
            cSettings: [
                // Debian's libsecret and GLib headers (libsecret-1-dev, libglib2.0-dev), through links
                // in system/: a pkg-config dependency would also link the libraries.
                .headerSearchPath("system/libsecret-1"), .headerSearchPath("system/glib-2.0"), .headerSearchPath("system/glibconfig"),
            ],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .systemLibrary(
            name: "CSodium",
            path: "Sources/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // prctl(2) and the terminal's no-echo read with signal-safe restoring, in C.
        .target(name: "CSystemBoundary", path: "Sources/CSystemBoundary"),
        // The Linux kernel keyring (unlock cache of the password-protected store).
        .systemLibrary(
            name: "CKeyutils",
            path: "Sources/CKeyutils",
            pkgConfig: "libkeyutils",
            providers: [.apt(["libkeyutils-dev"])]
        ),
        .target(
            name: "CredentialVaultCrypto",
            dependencies: ["CSodium", "CredentialVaultCore"],
            path: "Sources/CredentialVaultCrypto",
            swiftSettings: strict
        ),
        // The strict JSON parser (duplicate keys refused, line and column in errors) and the
        // deterministic writer, for the project's own files.
        .target(
            name: "StrictJSON",
            path: "Sources/StrictJSON",
            swiftSettings: safe
        ),
        .target(
            name: "CredentialVaultCore",
            dependencies: [
                "StrictJSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CredentialVaultCore",
            swiftSettings: safe
        ),
        // The operating system and secret I/O: checked opens, the store lock, atomic writes.
        .target(
            name: "CredentialVaultSystem",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "CSystemBoundary", "CKeyutils", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/CredentialVaultSystem",
            swiftSettings: strict
        ),
        // The one HTTP client (AsyncHTTPClient): deadlines, bounded bodies, a CA file, failures
        // classified by type. Used by the login flows and the OpenBao backend.
        .target(
            name: "CredentialVaultHTTP",
            dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Sources/CredentialVaultHTTP",
            swiftSettings: safe
        ),
        .target(
            name: "MemoryBackend",
            dependencies: ["CredentialVaultCore"],
            path: "Backends/Memory",
            swiftSettings: safe
        ),
        .target(
            name: "FileBackend",
            dependencies: [
                "CredentialVaultCore", "CredentialVaultSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Backends/File",
            swiftSettings: safe
        ),
        .systemLibrary(
            name: "CQRencode",
            path: "Sources/CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        // TOTP (RFC 6238), base32 and QR symbols: the store's second step, reusable by apps.
        .target(
            name: "CredentialVaultOTP",
            dependencies: ["CredentialVaultCore", "CQRencode", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/CredentialVaultOTP",
            // libqrencode's symbol is read through its C pointer (QRCode.swift).
            swiftSettings: strict
        ),
        .target(
            name: "EncryptedFileBackend",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "CredentialVaultOTP", "CredentialVaultSystem", "FileBackend"],
            path: "Backends/EncryptedFile",
            swiftSettings: safe
        ),
        .target(
            name: "OpenBaoBackend",
            dependencies: ["CredentialVaultCore", "CredentialVaultSystem", "CredentialVaultHTTP"],
            path: "Backends/OpenBao",
            swiftSettings: safe
        ),
        .target(
            name: "SecretServiceBackend",
            dependencies: ["CredentialVaultCore", "CKeyringBoundary"],
            path: "Backends/SecretService",
            swiftSettings: strict
        ),
        .target(
            name: "CredentialVault",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "CredentialVaultSystem", "MemoryBackend", "FileBackend", "EncryptedFileBackend",
                           "SecretServiceBackend", "OpenBaoBackend"],
            path: "Sources/CredentialVault",
            swiftSettings: safe
        ),
        // `credvault secret-service`: the Secret Service API on the session bus, from the
        // password-protected store. Its C pointers live in ProviderBus.swift.
        .target(
            name: "CredentialVaultProvider",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "CredentialVaultSystem", "EncryptedFileBackend", "CKeyringBoundary",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")],
            path: "Sources/CredentialVaultProvider",
            swiftSettings: strict
        ),
        // Login flows on the vault: device authorization, refresh, PATs, workspace keys, modes,
        // and the resolver that names its source.
        .target(
            name: "CredentialVaultAuth",
            dependencies: [
                "CredentialVault", "CredentialVaultSystem", "CredentialVaultHTTP",
            ],
            path: "Sources/CredentialVaultAuth",
            swiftSettings: safe
        ),
        // git's credential helper protocol and docker's credential-helper protocol.
        .target(
            name: "CredentialVaultHelpers",
            dependencies: ["CredentialVault"],
            path: "Sources/CredentialVaultHelpers",
            swiftSettings: safe
        ),
        .executableTarget(
            name: "credvault",
            dependencies: [
                "CredentialVault",
                "CredentialVaultAuth",
                "CredentialVaultHelpers",
                "CredentialVaultOTP",
                "CredentialVaultSystem",
                "CredentialVaultProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/credvault",
            swiftSettings: safe
        ),
        // The embedding example: an app with its own name, login and credentials (Examples/TeamCLI).
        .executableTarget(
            name: "teamcli",
            dependencies: ["CredentialVault", "CredentialVaultAuth"],
            path: "Examples/TeamCLI",
            swiftSettings: safe
        ),
        // libFuzzer harness for every parser of outside input (see Fuzz/run).
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultHelpers", "FileBackend", "OpenBaoBackend"],
            path: "Fuzz/ParserFuzzer",
            swiftSettings: strict
        ),
        // What every test target shares: running the CLI and programs, temporary directories,
        // waiting on conditions, the memory scanner, and the harnesses of the real services.
        .target(
            name: "CredentialVaultTestSupport",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultSystem", "MemoryBackend", "FileBackend", "SecretServiceBackend"],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        // In-process tests of the library's units: no program run, no service started.
        .testTarget(
            name: "UnitTests",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultOTP", "CredentialVaultHelpers", "CredentialVaultSystem", "CredentialVaultHTTP", "CredentialVaultTestSupport"],
            path: "Tests/UnitTests",
            swiftSettings: strict
        ),
        // The credvault binary as users run it, against files only (plaintext and encrypted
        // stores, bundles, the terminal, install).
        .testTarget(
            name: "CLITests",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultOTP", "CredentialVaultHelpers", "CredentialVaultSystem", "CredentialVaultHTTP", "CredentialVaultTestSupport"],
            path: "Tests/CLITests",
            swiftSettings: strict
        ),
        // Against real services: gnome-keyring (locked, with its prompter on Xvfb), KeePassXC,
        // OpenBao, Glewlwyd and the fault server, git, docker's helper protocol.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultOTP", "CredentialVaultHelpers", "CredentialVaultSystem", "CredentialVaultHTTP", "CredentialVaultTestSupport"],
            path: "Tests/IntegrationTests",
            swiftSettings: strict
        ),
    ]
)
