// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "credential-vault",
    platforms: [.macOS(.v13)],
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
        // libsecret + GLib from the distribution: the real headers, for LibSecretABICheck.
        .systemLibrary(
            name: "CLibSecret",
            path: "Sources/CLibSecret",
            pkgConfig: "libsecret-1",
            providers: [.apt(["libsecret-1-dev", "libglib2.0-dev"])]
        ),
        // libsecret loaded on first use (dlopen), so runs that never touch the keyring do not
        // pay for loading GLib; its declarations are checked against CLibSecret's real headers
        // by LibSecretABICheck.
        .target(
            name: "CSecretServiceLoader",
            path: "Sources/CSecretServiceLoader",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Linked into the credvault executable only: a constructor that starts connecting to
        // the Secret Service while the rest of the program starts, when a run will certainly probe it.
        .target(
            name: "CCredvaultStartup",
            dependencies: ["CSecretServiceLoader"],
            path: "Sources/CCredvaultStartup"
        ),
        .systemLibrary(
            name: "CSodium",
            path: "Sources/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(name: "CProcessControl", path: "Sources/CProcessControl"),
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
        .target(
            name: "CredentialVaultCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CredentialVaultCore",
            swiftSettings: strict
        ),
        .target(
            name: "MemoryBackend",
            dependencies: ["CredentialVaultCore"],
            path: "Backends/Memory",
            swiftSettings: strict
        ),
        .target(
            name: "FileBackend",
            dependencies: [
                "CredentialVaultCore",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Backends/File",
            swiftSettings: strict
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
            swiftSettings: strict
        ),
        .target(
            name: "EncryptedFileBackend",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "CredentialVaultOTP", "FileBackend", "CKeyutils"],
            path: "Backends/EncryptedFile",
            swiftSettings: strict
        ),
        .target(
            name: "OpenBaoBackend",
            dependencies: ["CredentialVaultCore", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Backends/OpenBao",
            swiftSettings: strict
        ),
        .target(
            name: "SecretServiceBackend",
            dependencies: ["CredentialVaultCore", "CSecretServiceLoader"],
            path: "Backends/SecretService",
            swiftSettings: strict
        ),
        .target(
            name: "CredentialVault",
            dependencies: ["CredentialVaultCore", "CredentialVaultCrypto", "MemoryBackend", "FileBackend", "EncryptedFileBackend",
                           "SecretServiceBackend", "OpenBaoBackend"],
            path: "Sources/CredentialVault",
            swiftSettings: strict
        ),
        // Login flows on the vault: device authorization, refresh, PATs, workspace keys, modes,
        // and the resolver that names its source.
        .target(
            name: "CredentialVaultAuth",
            dependencies: [
                "CredentialVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/CredentialVaultAuth",
            swiftSettings: strict
        ),
        // git's credential helper protocol and docker's credential-helper protocol.
        .target(
            name: "CredentialVaultHelpers",
            dependencies: ["CredentialVault"],
            path: "Sources/CredentialVaultHelpers",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "credvault",
            dependencies: [
                "CredentialVault",
                "CredentialVaultAuth",
                "CredentialVaultHelpers",
                "CredentialVaultOTP",
                "CProcessControl",
                "CCredvaultStartup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/credvault",
            swiftSettings: strict
        ),
        // The embedding example: an app with its own name, login and credentials (Examples/TeamCLI).
        .executableTarget(
            name: "teamcli",
            dependencies: ["CredentialVault", "CredentialVaultAuth"],
            path: "Examples/TeamCLI",
            swiftSettings: strict
        ),
        // libFuzzer harness for every parser of outside input (see Fuzz/run).
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultHelpers", "FileBackend", "OpenBaoBackend"],
            path: "Fuzz/ParserFuzzer",
            swiftSettings: strict
        ),
        // Static assertions that CSecretServiceLoader's mirror of libsecret matches the real headers.
        .target(
            name: "LibSecretABICheck",
            dependencies: ["CLibSecret", "CSecretServiceLoader"],
            path: "Tests/LibSecretABICheck"
        ),
        .testTarget(
            name: "CredentialVaultTests",
            dependencies: ["CredentialVault", "CredentialVaultAuth", "CredentialVaultOTP", "CredentialVaultHelpers", "LibSecretABICheck", "CCredvaultStartup"],
            path: "Tests/CredentialVaultTests",
            exclude: ["Vectors"], // read by path, not bundled as resources
            swiftSettings: strict
        ),
    ]
)
