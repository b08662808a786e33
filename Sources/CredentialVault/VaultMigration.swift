import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `migrate` did or would do.
public struct MigrationReport: Sendable {
    public var plan: ImportPlan
    public var written: [CredentialKey]
    /// Items read back from the destination and found equal (secret, label, attributes).
    public var verified: [CredentialKey]
    public var deletedFromSource: [CredentialKey]
    public var dryRun: Bool
}

extension CredentialVault {
    /// Copies items (or those of `services`) from `source` into this vault under `policy`,
    /// reads every written item back and compares it, and only then, with `deleteSource`,
    /// deletes the copied items from `source`. With `dryRun` nothing is written. `progress`
    /// hears of each item in the phases "reading", "writing", "verifying" and "deleting".
    public func migrate(from source: CredentialVault, services: [String] = [], policy: ConflictPolicy,
                        dryRun: Bool, deleteSource: Bool, progress: ProgressHandler? = nil) async throws -> MigrationReport {
        guard source.selection.backend != selection.backend || source.context.directory != context.directory else {
            throw CredentialVaultError(.usage, "--from and --to are the same backend (\(selection.backend)); nothing to migrate")
        }
        progress?(ProgressEvent(phase: "reading", completed: 0, total: 0))
        let items = try await source.exportItems(services: services)
        let plan = try await importPlan(for: items)
        var report = MigrationReport(plan: plan, written: [], verified: [], deletedFromSource: [], dryRun: dryRun)
        if dryRun {
            if policy == .fail, !plan.conflicts.isEmpty {
                throw CredentialVaultError(.dataError,
                    "\(plan.conflicts.count) item(s) already exist in \(selection.backend): \(plan.conflicts.map(\.description).joined(separator: ", ")); use --on-conflict skip or overwrite")
            }
            return report
        }
        report.written = try await importItems(items, policy: policy, progress: progress)
        let byKey = Dictionary(uniqueKeysWithValues: items.map { ($0.key, $0) })
        for key in report.written {
            guard let copy = try await backend.item(for: key), let original = byKey[key],
                  copy.secret == original.secret, copy.label == original.label, copy.attributes == original.attributes else {
                throw CredentialVaultError(.cannotWrite,
                    "\(key) did not read back from \(selection.backend) as written; nothing was deleted from \(source.selection.backend)")
            }
            report.verified.append(key)
            progress?(ProgressEvent(phase: "verifying", completed: report.verified.count, total: report.written.count))
        }
        if deleteSource {
            // Only items that are now verifiably in the destination; skipped conflicts stay in the source.
            for key in report.verified {
                if try await source.backend.removeItem(for: key) { report.deletedFromSource.append(key) }
                progress?(ProgressEvent(phase: "deleting from \(source.selection.backend)", completed: report.deletedFromSource.count, total: report.verified.count))
            }
        }
        return report
    }
}
