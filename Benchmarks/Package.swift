// swift-tools-version:6.1
// Library-level benchmarks (ordo-one/benchmark), kept out of the main package so that CI's
// `swift build` does not build the benchmark tool. Run: bench/library (or, from this
// directory, `swift package --allow-writing-to-package-directory benchmark`).
import PackageDescription

let package = Package(
    name: "credential-vault-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "credential-vault", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "VaultBenchmarks",
            dependencies: [
                .product(name: "CredentialVault", package: "credential-vault"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VaultBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
