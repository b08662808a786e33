import ArgumentParser
import CredentialVault
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The SERVICE and ACCOUNT arguments of `set`, `get` and `delete`.
struct KeyArguments: ParsableArguments {
    @Argument(help: "The service the secret is for.") var service: String
    @Argument(help: "The account within that service.") var account: String
}

struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store a secret read from standard input (or typed at a no-echo prompt).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var key: KeyArguments
    @Option(help: "A label people read (Seahorse shows it).") var label: String?

    func run() async throws {
        try await Self.perform(options: options, service: key.service, account: key.account, label: label)
    }

    /// The verb's work, shared with the leaf fast path in main.swift.
    static func perform(options: GlobalOptions, service: String, account: String, label: String?) async throws {
        let key = (service: service, account: account)
        try await Terminal.run(options) {
            _ = try CredentialKey(service: key.service, account: key.account)
            let vault = try await options.openVault()
            // Where the secret will go is said before it is typed, not after.
            vault.noticeOnce()
            let secret = try Terminal.readSecret(prompt: "Secret for '\(key.account)' on '\(key.service)': ")
            try await vault.store(secret, service: key.service, account: key.account, label: label)
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "stored": .bool(true), "service": .string(key.service), "account": .string(key.account),
                    "backend": .string(vault.selection.backend),
                ]).serialized() + "\n")
            } else if options.verbose {
                Terminal.note("stored \(key.account) on \(key.service) in \(vault.selection.backend)")
            }
        }
    }
}

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a secret to standard output (exactly its bytes; a newline is added only on a terminal).")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var key: KeyArguments

    func run() async throws {
        try await Self.perform(options: options, service: key.service, account: key.account)
    }

    /// The verb's work, shared with the leaf fast path in main.swift.
    static func perform(options: GlobalOptions, service: String, account: String) async throws {
        let key = (service: service, account: account)
        try await Terminal.run(options) {
            let vault = try await options.openVault()
            if options.json {
                let item = try await vault.item(service: key.service, account: key.account)
                var document: [String: JSONValue] = [
                    "service": .string(key.service), "account": .string(key.account), "label": .string(item.label),
                    "backend": .string(vault.selection.backend),
                    "attributes": .object(item.attributes.mapValues { .string($0) }),
                ]
                // NUL is valid JSON but truncates many consumers' strings: such secrets go as base64.
                if let text = item.secret.utf8String(), !text.utf8.contains(0) {
                    document["secret"] = .string(text)
                } else {
                    document["secret_base64"] = .string(Base64.encode(item.secret))
                }
                StandardStream.output.write(JSONValue.object(document).serialized() + "\n")
            } else {
                var bytes = try await vault.secret(service: key.service, account: key.account).copyBytes()
                if StandardStream.output.isTerminal { bytes.append(UInt8(ascii: "\n")) }
                StandardStream.output.write(bytes)
                bytes.wipe()
            }
        }
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a secret.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @OptionGroup var key: KeyArguments

    func run() async throws {
        try await Terminal.run(options) {
            let vault = try await options.openVault()
            try await vault.delete(service: key.service, account: key.account)
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "deleted": .bool(true), "service": .string(key.service), "account": .string(key.account),
                    "backend": .string(vault.selection.backend),
                ]).serialized() + "\n")
            }
        }
    }
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List stored credentials (service, account, label, backend), never secrets.")

    @OptionGroup var flags: GlobalFlags
    var options: GlobalOptions { flags.options }
    @Argument(help: "Only this service.") var service: String?
    @OptionGroup var scope: AppScopeFlag

    func run() async throws {
        let options = scope.applied(to: self.options)
        try await Terminal.run(options) {
            let vault = try await options.openVault()
            let items = try await vault.list(service: service)
            let backend = vault.selection.backend
            if options.json {
                StandardStream.output.write(JSONValue.object([
                    "backend": .string(backend),
                    "items": .array(items.map { item in
                        var fields: [String: JSONValue] = [
                            "service": .string(item.key.service), "account": .string(item.key.account),
                            "label": .string(item.label), "backend": .string(backend),
                            "attributes": .object(item.attributes.mapValues { .string($0) }),
                        ]
                        if let created = item.created { fields["created"] = .string(Timestamp.format(created)) }
                        if let modified = item.modified { fields["modified"] = .string(Timestamp.format(modified)) }
                        return .object(fields)
                    }),
                ]).serialized() + "\n")
            } else {
                let rows = [["SERVICE", "ACCOUNT", "LABEL", "BACKEND"]]
                    + items.map { [$0.key.service, $0.key.account, $0.label, backend] }
                StandardStream.output.write(Table.render(rows))
            }
        }
    }
}

/// Plain aligned columns.
enum Table {
    /// The rows in aligned columns, each cell's control characters made visible (stored names
    /// come from other programs too).
    static func render(_ rows: [[String]]) -> String {
        let rows = rows.map { $0.map { $0.escapingControls() } }
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
