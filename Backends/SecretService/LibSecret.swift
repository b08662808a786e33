internal import CKeyringBoundary
import CredentialVaultCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A failure reported by the keyring boundary (CKeyringBoundary), copied out of its call.
struct LibSecretFailure: Error, CustomStringConvertible {
    enum Kind { case cancelled, serviceUnknown, locked, noSuchObject, other }
    let kind: Kind
    let message: String
    /// For `.locked`: the items that must be unlocked (through the service's dialog) first.
    var lockedPaths: [String] = []
    var description: String { message }

    init(kind: Kind, message: String, paths: [String] = []) {
        self.kind = kind
        self.message = message
        self.lockedPaths = paths
    }

    /// The last failure of `call` (cvk_call_error, cvk_call_message, cvk_call_locked_path).
    fileprivate init(_ call: OpaquePointer) {
        switch cvk_call_error(call) {
        case CVK_ERROR_CANCELLED: kind = .cancelled
        case CVK_ERROR_SERVICE_UNKNOWN: kind = .serviceUnknown
        case CVK_ERROR_LOCKED: kind = .locked
        case CVK_ERROR_NO_SUCH_OBJECT: kind = .noSuchObject
        default: kind = .other
        }
        message = String(cString: cvk_call_message(call))
        lockedPaths = (0..<cvk_call_locked_count(call)).compactMap { cvk_call_locked_path(call, $0).map { String(cString: $0) } }
    }
}

/// One operation against the Secret Service: its `cvk_call` (cvk_call_new / cvk_call_free),
/// which cancellation reaches from any thread. Carries the operation's deadline, which each
/// answer from the service renews, and why it was cancelled, if it was.
final class Cancellation: @unchecked Sendable {
    /// Why a call was cancelled.
    enum Reason: Sendable { case deadline, interrupted }
    fileprivate let call: OpaquePointer
    private let deadline: RenewableDeadline?
    private let cancelledFor = Mutex<Reason?>(nil)

    /// Only after the library loaded (``LibSecret/loadProblem`` is nil).
    init(deadline: RenewableDeadline? = nil) {
        self.deadline = deadline
        // After each answer the boundary renews the deadline, which this object keeps alive.
        if let deadline {
            call = cvk_call_new({ context in
                Unmanaged<RenewableDeadline>.fromOpaque(context!).takeUnretainedValue().renew()
            }, Unmanaged.passUnretained(deadline).toOpaque())!
        } else {
            call = cvk_call_new(nil, nil)!
        }
    }

    /// cvk_call_cancel (which also dismisses a dialog under way); the first reason given is kept.
    func cancel(_ reason: Reason = .deadline) {
        cancelledFor.withLock { if $0 == nil { $0 = reason } }
        cvk_call_cancel(call)
    }

    /// Why the call was cancelled, or nil.
    var reason: Reason? {
        cancelledFor.withLock { $0 }
    }

    /// The call's last failure.
    fileprivate var failure: LibSecretFailure { LibSecretFailure(call) }

    deinit { cvk_call_free(call) }
}

/// What the probe found on the bus.
enum KeyringState: Sendable {
    case unlocked
    case locked
    case noDefaultCollection
}

/// An item as read from the Secret Service.
struct KeyringItem: Sendable {
    var label: String
    var attributes: [String: String]
    var secret: [UInt8]?
    var created: UInt64
    var modified: UInt64
}

/// The keyring backend's calls into the boundary (Sources/CKeyringBoundary). Each runs on a
/// thread of its own (see `SecretServiceBackend.call`) and honours its cancellation. All C
/// calls of the backend are here.
enum LibSecret {
    /// Loads libsecret the first time it is needed (cvk_load), so runs that never touch the
    /// keyring do not load GLib. Nil when loaded, else why not.
    static let loadProblem: String? = {
        var problem: UnsafePointer<CChar>?
        guard cvk_load(&problem) == 0 else { return nil }
        return "libsecret could not be loaded (\(problem.map { String(cString: $0) } ?? "unknown reason")); install it (Debian: apt install libsecret-1-0) or choose another backend"
    }()

    /// Starts the first state query in the background (cvk_prefetch).
    static func prefetch() { cvk_prefetch() }

    /// Whether the default collection exists and is locked (cvk_collection_state). Never shows a dialog.
    static func defaultCollectionState(_ cancellation: Cancellation) throws -> KeyringState {
        switch cvk_collection_state(cancellation.call) {
        case CVK_STATE_UNLOCKED: return .unlocked
        case CVK_STATE_LOCKED: return .locked
        case CVK_STATE_NO_DEFAULT_COLLECTION: return .noDefaultCollection
        default: throw cancellation.failure
        }
    }

    /// Unlocks the default collection through the service's dialog and waits for the person
    /// (cvk_unlock_collection); cancelling dismisses the dialog. `.locked` when it was dismissed.
    static func unlockDefaultCollection(_ cancellation: Cancellation) throws -> KeyringState {
        try dialogOutcome(cvk_unlock_collection(cancellation.call), cancellation)
    }

    /// Unlocks `paths` (items that need the person's confirmation, as KeePassXC's access dialog
    /// asks) through the service's dialog (cvk_unlock_items). `.locked` when it was dismissed.
    static func unlockItems(_ paths: [String], _ cancellation: Cancellation) throws -> KeyringState {
        let copies = paths.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let vector = copies.map { UnsafePointer<CChar>($0) }
        let outcome = vector.withUnsafeBufferPointer { cvk_unlock_items(cancellation.call, $0.baseAddress, $0.count) }
        return try dialogOutcome(outcome, cancellation)
    }

    private static func dialogOutcome(_ outcome: Int32, _ cancellation: Cancellation) throws -> KeyringState {
        switch outcome {
        case 1: return .unlocked
        case 0: return .locked
        default: throw cancellation.failure
        }
    }

    /// The provider's process id (cvk_provider_pid).
    static func providerPID(_ cancellation: Cancellation) throws -> Int32 {
        let pid = cvk_provider_pid(cancellation.call)
        guard pid > 0 else { throw cancellation.failure }
        return pid
    }

    /// The store served, and whether it is locked, when the owner of org.freedesktop.secrets is
    /// credvault's own provider; nil for another program or none (cvk_credvault_provider).
    static func credvaultProvider(_ cancellation: Cancellation) throws -> (store: String, locked: Bool)? {
        var store: UnsafeMutablePointer<CChar>?
        var locked: Int32 = 0
        switch cvk_credvault_provider(cancellation.call, &store, &locked) {
        case 1:
            defer { free(store) }
            return (store.map { String(cString: $0) } ?? "", locked != 0)
        case 0: return nil
        default: throw cancellation.failure
        }
    }

    /// Locks credvault's own provider; false when the owner of org.freedesktop.secrets is
    /// another program or none (cvk_credvault_provider_lock).
    static func lockCredvaultProvider(_ cancellation: Cancellation) throws -> Bool {
        switch cvk_credvault_provider_lock(cancellation.call) {
        case 1: return true
        case 0: return false
        default: throw cancellation.failure
        }
    }

    /// Hands the store's data key to credvault's provider (cvk_credvault_provider_unlock).
    static func unlockCredvaultProvider(dataKey: SecretBytes, _ cancellation: Cancellation) throws {
        let result = dataKey.withBytes { cvk_credvault_provider_unlock(cancellation.call, $0, $0.count) }
        guard result == 1 else { throw cancellation.failure }
    }

    /// The secret of the newest item matching `attributes`, or nil, and how many items matched
    /// (cvk_newest_secret). Only locked matches: `.locked` with their paths.
    static func newestSecret(matching attributes: [String: String], _ cancellation: Cancellation) throws -> (secret: [UInt8]?, matches: Int) {
        var secret: UnsafeMutablePointer<UInt8>?
        var length = 0
        var matches = 0
        let found = withAttributes(attributes) { cvk_newest_secret(cancellation.call, $0, &secret, &length, &matches) }
        defer { cvk_secret_free(secret, length) }
        switch found {
        case 1: return (Array(UnsafeBufferPointer(start: secret, count: length)), matches)
        case 0: return (nil, matches)
        default: throw cancellation.failure
        }
    }

    /// Stores the item with exactly `attributes`, in place over the first item with the same
    /// `service` and `username`, deleting any other (cvk_store).
    static func store(attributes: [String: String], label: String, secret: [UInt8], contentType: String,
                      _ cancellation: Cancellation) throws {
        let key = ["service": attributes["service"]!, "username": attributes["username"]!]
        let result = withAttributes(key) { keyTable in
            withAttributes(attributes) { table in
                secret.withUnsafeBufferPointer { bytes in
                    cvk_store(cancellation.call, keyTable, table, label, bytes.baseAddress, bytes.count, contentType)
                }
            }
        }
        if result != 0 { throw cancellation.failure }
    }

    /// The items matching `attributes` (any schema), newest first, with their secrets when
    /// `loadSecrets` (locked items come back without one); with no attribute, every item of
    /// the default collection (cvk_list).
    static func items(matching attributes: [String: String], all: Bool, loadSecrets: Bool,
                      _ cancellation: Cancellation) throws -> [KeyringItem] {
        var list = cvk_items()
        let result = withAttributes(attributes) { cvk_list(cancellation.call, $0, all ? 1 : 0, loadSecrets ? 1 : 0, &list) }
        defer { cvk_items_free(&list) }
        guard result == 0 else { throw cancellation.failure }
        return (0..<list.count).map { index in
            let item = list.items[index]
            var attributes: [String: String] = [:]
            for position in 0..<item.attribute_count {
                attributes[String(cString: item.keys[position]!)] = String(cString: item.values[position]!)
            }
            return KeyringItem(label: String(cString: item.label), attributes: attributes,
                               secret: item.secret.map { Array(UnsafeBufferPointer(start: $0, count: item.secret_length)) },
                               created: item.created, modified: item.modified)
        }
    }

    /// Deletes every item matching `attributes` and returns how many there were (cvk_delete).
    static func delete(matching attributes: [String: String], _ cancellation: Cancellation) throws -> Int {
        let deleted = withAttributes(attributes) { cvk_delete(cancellation.call, $0) }
        guard deleted >= 0 else { throw cancellation.failure }
        return deleted
    }

    /// Passes `attributes` as the boundary's two parallel arrays of C strings.
    private static func withAttributes<T>(_ attributes: [String: String], _ body: (cvk_attributes) -> T) -> T {
        let pairs = attributes.sorted { $0.key < $1.key }
        let keys = pairs.map { strdup($0.key) }, values = pairs.map { strdup($0.value) }
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        let keyPointers = keys.map { UnsafePointer<CChar>($0) }, valuePointers = values.map { UnsafePointer<CChar>($0) }
        return keyPointers.withUnsafeBufferPointer { k in
            valuePointers.withUnsafeBufferPointer { v in
                body(cvk_attributes(keys: k.baseAddress, values: v.baseAddress, count: pairs.count))
            }
        }
    }
}
