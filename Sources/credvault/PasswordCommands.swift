import ArgumentParser
import CredentialVault
import CredentialVaultSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct PasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password",
        abstract: "The file store's password gate (set, clear, change, status) and encrypted backups (export, import, verify, inspect).",
        subcommands: [PasswordSetCommand.self, PasswordClearCommand.self, PasswordChangeCommand.self, PasswordStatusCommand.self, PasswordMFACommand.self,
                      ExportCommand.self, ImportCommand.self, VerifyCommand.self, InspectCommand.self])
}

extension KDFProfile: ExpressibleByArgument {}
extension ConflictPolicy: ExpressibleByArgument {}

/// Reads a bundle, checks its header before asking for the passphrase, then opens it.
func openBundle(_ path: String, _ passphrase: PassphraseOptions, options: GlobalOptions) throws -> [CredentialItem] {
    let bytes = try readBundle(path)
    _ = try BundleHeader(file: bytes)
    let key = try passphrase.read(confirm: false, purpose: path)
    return try ProgressLine.around("Opening \(path) (Argon2id)…", options: options) {
        try CredentialBundle.open(bytes, passphrase: key).items
    }
}

/// Reads a whole bundle file: a regular file, refused from its size when it is larger than
/// any bundle may be.
func readBundle(_ path: String) throws -> [UInt8] {
    guard let bytes = try SecureFileSystem.read(path, rule: .authenticated, limit: BundleHeader.maximumFileSize) else {
        throw CredentialVaultError(.usage, "cannot read \(path): it does not exist; check the path")
    }
    return bytes
}

func itemCountsJSON(_ items: [CredentialItem]) -> JSONValue {
    .object(Dictionary(grouping: items, by: \.key.service).mapValues { .number(Double($0.count)) })
}

/// The one JSON form of an Argon2id cost, in every verb that reports one (docs/JSON.md):
/// the algorithm, the `--kdf` profile it matches (null when none does) and its parameters.
func kdfJSON(opsLimit: UInt64, memLimit: UInt64) -> JSONValue {
    let profile = KDFProfile.allCases.first { $0.opsLimit == opsLimit && $0.memLimit == memLimit }
    return .object(["algorithm": .string("argon2id13"), "profile": profile.map { .string($0.rawValue) } ?? .null,
                    "opslimit": .number(Double(opsLimit)), "memlimit": .number(Double(memLimit))])
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every credential (or some services) to an encrypted bundle.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Option(help: "Write the bundle here (mode 0600, written atomically). Without it, the bundle goes to stdout when stdout is not a terminal.")
    var out: String?
    @Option(name: .customLong("service"), help: "Only this service (repeatable).")
    var services: [String] = []
    @Option(help: "Argon2id cost: interactive (64 MiB), moderate (256 MiB) or sensitive (1 GiB).")
    var kdf: KDFProfile = .moderate
    @Flag(help: "Replace an existing --out file.")
    var force = false
    @OptionGroup var scope: AppScopeFlag

    func run() async throws {
        let options = scope.applied(to: self.options)
        try await Terminal.run(options) {
            if out == nil, options.json {
                throw CredentialVaultError(.usage, "--json needs --out FILE: without it the bundle itself is the output")
            }
            if out == nil, StandardStream.output.isTerminal {
                throw CredentialVaultError(.usage, "refusing to write a binary bundle to a terminal; use --out FILE or redirect stdout")
            }
            if let out, !force, FileManager.default.fileExists(atPath: out) {
                throw CredentialVaultError(.cannotWrite, "\(out) already exists; choose another name or add --force")
            }
            let key = try passphrase.read(confirm: true, purpose: out.map { "the new backup \($0)" } ?? "the new backup")
            let vault = try await options.openVault()
            let items = try await ProgressLine.around("Reading items from \(vault.selection.backend)…", options: options) { _ in
                try await vault.exportItems(services: services)
            }
            let bundle = try ProgressLine.around("Encrypting \(items.count) item(s) (Argon2id, \(kdf.rawValue))…", options: options) {
                try CredentialBundle.seal(items, passphrase: key, opsLimit: kdf.opsLimit, memLimit: kdf.memLimit)
            }
            if let out {
                // Mode 0600, atomic, never replacing an existing file without --force.
                try SecureFileSystem.writeAtomically(out, replacing: force, contents: bundle)
            } else {
                StandardStream.output.write(bundle)
            }
            let summary = "exported \(items.count) item(s) from \(vault.selection.backend)" + (out.map { " to \($0)" } ?? "")
            if options.json, out != nil {
                StandardStream.output.write(JSONValue.object([
                    "exported": .number(Double(items.count)), "file": .string(out!), "backend": .string(vault.selection.backend),
                    "services": itemCountsJSON(items), "kdf": kdfJSON(opsLimit: kdf.opsLimit, memLimit: kdf.memLimit),
                ]).serialized() + "\n")
            } else if !options.quiet {
                Terminal.note(summary)
            }
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Restore credentials from an encrypted bundle.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Argument(help: "The bundle file.") var file: String
    @Flag(help: "Show what would change; write nothing.") var dryRun = false
    @Option(help: "What to do with items that already exist: fail (list them, write nothing), skip or overwrite.")
    var onConflict: ConflictPolicy = .fail

    func run() async throws {
        try await Terminal.run(options) {
            let items = try openBundle(file, passphrase, options: options)
            let vault = try await options.openVault()
            let plan = try await vault.importPlan(for: items)
            let conflicts = Set(plan.conflicts)
            func describe(_ key: CredentialKey) -> String {
                guard conflicts.contains(key) else { return "add" }
                switch onConflict { case .fail: return "conflict"; case .skip: return "skip"; case .overwrite: return "overwrite" }
            }
            var written: [CredentialKey] = []
            if !dryRun {
                written = try await ProgressLine.around("Importing \(items.count) item(s)…", options: options) { line in
                    try await vault.importItems(items, policy: onConflict, progress: line?.handler("Importing"))
                }
            }
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "dry_run": .bool(dryRun), "backend": .string(vault.selection.backend),
                    "written": .number(Double(written.count)),
                    "items": .array(items.sorted { $0.key < $1.key }.map {
                        .object(["service": .string($0.key.service), "account": .string($0.key.account), "action": .string(describe($0.key))])
                    }),
                ]).serialized() + "\n")
            } else {
                for item in items.sorted(by: { $0.key < $1.key }) {
                    StandardStream.output.write("\(describe(item.key))\t\(item.key.service)\t\(item.key.account)\n")
                }
                if !options.quiet {
                    Terminal.note(dryRun ? "dry run: nothing was written"
                                  : "imported \(written.count) of \(items.count) item(s) into \(vault.selection.backend); "
                                    + "each keeps its creation time where the backend keeps one, and its modification time is now")
                }
            }
            if dryRun, onConflict == .fail, !plan.conflicts.isEmpty {
                throw CredentialVaultError(.dataError, "\(plan.conflicts.count) item(s) already exist; a real import would fail. Use --on-conflict skip or overwrite")
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a bundle's passphrase and integrity; print the item count per service.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @OptionGroup var passphrase: PassphraseOptions
    @Argument(help: "The bundle file.") var file: String

    func run() async throws {
        try await Terminal.run(options) {
            let items = try openBundle(file, passphrase, options: options)
            if options.json {
                StandardStream.output.write(JSONValue.object(["valid": .bool(true), "items": .number(Double(items.count)), "services": itemCountsJSON(items)]).serialized() + "\n")
            } else {
                let counts = Dictionary(grouping: items, by: \.key.service).mapValues(\.count)
                StandardStream.output.write("ok: \(items.count) item(s)\n" + Table.render([["SERVICE", "ITEMS"]] + counts.keys.sorted().map { [$0, String(counts[$0]!)] }))
            }
        }
    }
}

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a bundle's header (version, KDF and parameters, creation time, payload size); no passphrase needed.")

    @OptionGroup var flags: GlobalFlagsWithoutCode
    var options: GlobalOptions { flags.options }
    @Argument(help: "The bundle file.") var file: String

    func run() async throws {
        try await Terminal.run(options) {
            let header = try BundleHeader(file: readBundle(file))
            let created = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(header.created)))
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "version": .number(Double(BundleHeader.version)), "kdf": kdfJSON(opsLimit: header.opsLimit, memLimit: header.memLimit),
                    "created": .string(created), "payload_bytes": .number(Double(header.payloadLength)),
                ]).serialized() + "\n")
            } else {
                StandardStream.output.write(Table.render([
                    ["version", String(BundleHeader.version)], ["kdf", "argon2id13"],
                    ["opslimit", String(header.opsLimit)], ["memlimit", "\(header.memLimit) bytes (\(header.memLimit >> 20) MiB)"],
                    ["created", created], ["payload", "\(header.payloadLength) bytes"],
                ]))
            }
        }
    }
}
