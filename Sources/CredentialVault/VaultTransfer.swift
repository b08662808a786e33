import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What importing a set of items into a vault would do.
public struct ImportPlan: Sendable {
    /// Items whose key is not in the vault.
    public var additions: [CredentialKey]
    /// Items whose key is already in the vault.
    public var conflicts: [CredentialKey]
}

/// What to do with an imported item whose key is already in the vault.
public enum ConflictPolicy: String, Sendable, CaseIterable {
    /// Refuse the whole import, listing every conflict, before writing anything.
    case fail
    /// Keep the vault's item.
    case skip
    /// Replace the vault's item.
    case overwrite
}

extension CredentialVault {
    /// Every item (or those of `services`), with secrets, for export.
    public func exportItems(services: [String] = []) async throws -> [CredentialItem] {
        if services.count == 1 { return try await backend.allItems(service: services[0]) }
        return try await backend.allItems(service: nil).filter { item in services.isEmpty || services.contains { item.key.isIn(service: $0) } }
    }

    /// Compares `items` with the vault's contents.
    public func importPlan(for items: [CredentialItem]) async throws -> ImportPlan {
        let existing = Set(try await list().map(\.key))
        var plan = ImportPlan(additions: [], conflicts: [])
        for item in items.sorted(by: { $0.key < $1.key }) {
            if existing.contains(item.key) { plan.conflicts.append(item.key) } else { plan.additions.append(item.key) }
        }
        return plan
    }

    /// Imports `items` under `policy`; returns the keys written.
    ///
    /// With `.fail`, any conflict refuses the import before anything is written. The file
    /// backend writes everything in one atomic step; other backends write item by item, and
    /// an interruption reports exactly which items were written. `progress` hears of each
    /// item written (phase "writing").
    @discardableResult
    public func importItems(_ items: [CredentialItem], policy: ConflictPolicy,
                            progress: ProgressHandler? = nil) async throws -> [CredentialKey] {
        let plan = try await importPlan(for: items)
        if policy == .fail, !plan.conflicts.isEmpty {
            throw CredentialVaultError(.dataError,
                "\(plan.conflicts.count) item(s) already exist: \(plan.conflicts.map(\.description).joined(separator: ", ")); nothing was written. "
                + "Use --on-conflict skip or --on-conflict overwrite")
        }
        let conflicts = Set(plan.conflicts)
        let toWrite = items.filter { policy == .overwrite || !conflicts.contains($0.key) }.sorted { $0.key < $1.key }
        guard !toWrite.isEmpty else { return [] }
        noticeOnce()
        progress?(ProgressEvent(phase: "writing", completed: 0, total: toWrite.count))
        if try await backend.storeAllAtomically(toWrite) {
            await recordHomeAfterFirstWrite()
            progress?(ProgressEvent(phase: "writing", completed: toWrite.count, total: toWrite.count))
            return toWrite.map(\.key)
        }
        var written: [CredentialKey] = []
        for item in toWrite {
            do {
                try await backend.store(item)
                if written.isEmpty { await recordHomeAfterFirstWrite() }
                written.append(item.key)
                progress?(ProgressEvent(phase: "writing", completed: written.count, total: toWrite.count))
            } catch let error as CredentialVaultError {
                throw CredentialVaultError(error.code,
                    "import stopped at \(item.key) after writing \(written.count) of \(toWrite.count) item(s)"
                    + (written.isEmpty ? "" : " (\(written.map(\.description).joined(separator: ", ")))") + ": \(error.message)", cause: error)
            }
        }
        return written
    }
}
