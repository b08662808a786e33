internal import CSecretServiceLoader
import CredentialVaultCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by GLib or libsecret, copied out of its `GError` (which is freed).
struct LibSecretFailure: Error, CustomStringConvertible {
    enum Kind { case cancelled, serviceUnknown, locked, noSuchObject, other }
    let kind: Kind
    let message: String
    /// For `.locked`: the items that must be unlocked (through the service's dialog) first.
    var lockedPaths: [String] = []
    var description: String { message }

    /// Copies and frees `error` (g_error_free).
    init(consuming error: UnsafeMutablePointer<cvs_GError>) {
        let domain = error.pointee.domain, code = error.pointee.code
        message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        if domain == cvs_io_error_domain(), code == Int32(CVS_G_IO_ERROR_CANCELLED) {
            kind = .cancelled
        } else if domain == cvs_dbus_error_domain(),
                  code == Int32(CVS_G_DBUS_ERROR_SERVICE_UNKNOWN) || code == Int32(CVS_G_DBUS_ERROR_NAME_HAS_NO_OWNER) {
            kind = .serviceUnknown
        } else if domain == cvs_secret_error_domain(), code == Int32(CVS_SECRET_ERROR_IS_LOCKED) {
            kind = .locked
        } else if domain == cvs_secret_error_domain(), code == Int32(CVS_SECRET_ERROR_NO_SUCH_OBJECT) {
            kind = .noSuchObject
        } else if let remote = cvs_g_dbus_error_get_remote_error(error) {
            // The daemon's own error name (g_dbus_error_get_remote_error): an item deleted by
            // another client between a search and the read of its properties.
            // gnome-keyring answers a read of a deleted item with UnknownMethod "No such secret item".
            let name = String(cString: remote)
            kind = name == "org.freedesktop.Secret.Error.NoSuchObject" || name == "org.freedesktop.DBus.Error.UnknownObject"
                || message.contains("No such secret item") ? .noSuchObject : .other
            cvs_g_free(remote)
        } else if message.contains("No such secret item") || message.contains("No such object") {
            // gnome-keyring's NoSuchObject once libsecret has stripped the remote error name.
            kind = .noSuchObject
        } else if message.contains("not provided by any .service files") {
            kind = .serviceUnknown
        } else {
            kind = .other
        }
        cvs_g_error_free(error)
    }
}

/// Owns a `GCancellable` (g_cancellable_new / g_object_unref); cancelling is thread-safe.
/// Carries the call's deadline, which each D-Bus answer renews (``answered()``), and why it
/// was cancelled, if it was.
final class Cancellation: @unchecked Sendable {
    /// Why a call was cancelled.
    enum Reason: Sendable { case deadline, interrupted }
    fileprivate let pointer: OpaquePointer
    private let deadline: RenewableDeadline?
    private let lock = NSLock()
    private var cancelledFor: Reason?
    init(deadline: RenewableDeadline? = nil) {
        pointer = cvs_g_cancellable_new()
        self.deadline = deadline
    }
    /// Records that the service answered a call: the next call gets a whole interval.
    func answered() { deadline?.renew() }
    private var connection: OpaquePointer?

    /// g_cancellable_cancel; the first reason given is kept. When a prompt is under way
    /// (``prompting(on:)``), cancelling makes libsecret send Prompt.Dismiss from this thread;
    /// the connection is then flushed so the Dismiss reaches the service before this returns
    /// (libsecret 0.20.5 may never complete the call it cancelled, so its return is no signal).
    func cancel(_ reason: Reason = .deadline) {
        lock.lock()
        if cancelledFor == nil { cancelledFor = reason }
        let prompt = connection
        lock.unlock()
        cvs_g_cancellable_cancel(pointer)
        if let prompt { cvs_flush_connection(UnsafeMutableRawPointer(prompt)) }
    }

    /// Records the service whose prompt a cancellation must dismiss. `service` is libsecret's
    /// shared SecretService, which lives as long as the process.
    func prompting(on service: OpaquePointer) {
        lock.lock()
        connection = service
        lock.unlock()
    }
    /// Why the call was cancelled, or nil.
    var reason: Reason? {
        lock.lock()
        defer { lock.unlock() }
        return cancelledFor
    }
    deinit { unrefObject(pointer) }
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

/// The synchronous libsecret calls the backend makes. Each runs on a thread of its own
/// (see `SecretServiceBackend.call`) and honours `cancellation`. All C calls are here.
enum LibSecret {
    typealias ServicePointer = OpaquePointer

    /// Loads libsecret-1.so.0 the first time it is needed (cvs_load: dlopen and dlsym), so
    /// runs that never touch the keyring do not load GLib. Nil when loaded, else why not.
    static let loadProblem: String? = {
        var problem: UnsafePointer<CChar>?
        guard cvs_load(&problem) == 0 else { return nil }
        return "libsecret could not be loaded (\(problem.map { String(cString: $0) } ?? "unknown reason")); install it (Debian: apt install libsecret-1-0) or choose another backend"
    }()

    /// The shared service connection with a transfer session open (secret_service_get_sync).
    static func service(_ cancellation: Cancellation) throws -> ServicePointer {
        var error: UnsafeMutablePointer<cvs_GError>?
        guard let service = cvs_secret_service_get_sync(Int32(CVS_SECRET_SERVICE_OPEN_SESSION), cancellation.pointer, &error) else {
            throw failure(error)
        }
        return service
    }

    /// Whether the default collection exists and is locked, asked while the transfer session is
    /// negotiated (cvs_open_service_with_default_collection_state). Never shows a dialog.
    static func defaultCollectionState(_ cancellation: Cancellation) throws -> KeyringState {
        var error: UnsafeMutablePointer<cvs_GError>?
        var opened: OpaquePointer?
        let state = cvs_open_service_with_default_collection_state(&opened, cancellation.pointer, &error)
        guard let service = opened else { throw failure(error) }
        defer { unrefObject(service) }
        switch state {
        case -1: return .noDefaultCollection
        case 0: return .unlocked
        default: return .locked
        }
    }

    /// The process id of the provider that owns org.freedesktop.secrets (cvs_provider_pid).
    static func providerPID(_ cancellation: Cancellation) throws -> Int32 {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        var error: UnsafeMutablePointer<cvs_GError>?
        let pid = cvs_provider_pid(UnsafeMutableRawPointer(service), cancellation.pointer, &error)
        guard pid > 0 else { throw failure(error) }
        return pid
    }

    /// Unlocks `paths` (items that need the person's confirmation, as KeePassXC's access
    /// dialog asks) through the service's dialog and waits for the person
    /// (secret_service_unlock_dbus_paths_sync). Cancelling `cancellation` dismisses the dialog
    /// as for ``unlockDefaultCollection(_:)``. Returns `.locked` when it was dismissed.
    static func unlockItems(_ paths: [String], _ cancellation: Cancellation) throws -> KeyringState {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        var error: UnsafeMutablePointer<cvs_GError>?
        var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        cancellation.prompting(on: service)
        let duplicates = paths.map { strdup($0) }
        defer { duplicates.forEach { free($0) } }
        var vector: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) } + [nil]
        let count = vector.withUnsafeMutableBufferPointer { buffer in
            cvs_secret_service_unlock_dbus_paths_sync(service, buffer.baseAddress, cancellation.pointer, &unlocked, &error)
        }
        cvs_g_strfreev(unlocked)
        if let error { throw LibSecretFailure(consuming: error) }
        return count >= paths.count ? .unlocked : .locked
    }

    /// Unlocks the default collection through the service's dialog and waits for the person
    /// (secret_collection_for_alias_sync, then secret_service_unlock_sync, which calls
    /// Prompt.Prompt and waits for Prompt.Completed). Cancelling `cancellation` makes libsecret
    /// dismiss the dialog (Prompt.Dismiss) and wait for it to close. Returns the state after
    /// the dialog: `.locked` when it was dismissed (by the person, or by the cancellation).
    static func unlockDefaultCollection(_ cancellation: Cancellation) throws -> KeyringState {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        var error: UnsafeMutablePointer<cvs_GError>?
        guard let collection = cvs_secret_collection_for_alias_sync(service, "default", Int32(CVS_SECRET_COLLECTION_NONE), cancellation.pointer, &error) else {
            if let error { throw LibSecretFailure(consuming: error) }
            return .noDefaultCollection
        }
        defer { unrefObject(collection) }
        let objects = cvs_list_of(UnsafeMutableRawPointer(collection))
        defer { cvs_g_list_free(objects) }
        var unlocked: UnsafeMutablePointer<cvs_GList>?
        cancellation.prompting(on: service)
        let count = cvs_secret_service_unlock_sync(service, objects, cancellation.pointer, &unlocked, &error)
        cvs_object_list_free(unlocked)
        if let error { throw LibSecretFailure(consuming: error) }
        return count > 0 ? .unlocked : .locked
    }

    /// Stores the item with exactly `attributes`. When items with the same `service` and
    /// `username` exist (any schema, any program), the first one is updated in place
    /// (secret_item_set_secret_sync, secret_item_set_label_sync, secret_item_set_attributes_sync)
    /// and the others are deleted (secret_item_delete_sync), so one key never has two items;
    /// else a new item is created in the default collection (secret_collection_for_alias_sync,
    /// secret_item_create_sync with REPLACE). Updating in place is what KeePassXC accepts from a new client
    /// without its access dialog (a CreateItem that replaces opens it).
    static func store(attributes: [String: String], label: String, secret: [UInt8], contentType: String,
                      _ cancellation: Cancellation) throws {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        cancellation.answered()
        var error: UnsafeMutablePointer<cvs_GError>?
        let table = makeTable(attributes)
        defer { cvs_g_hash_table_unref(table) }
        // secret_value_new copies the bytes.
        var padded = secret
        padded.append(0)
        let value = padded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                cvs_secret_value_new(chars.baseAddress!, secret.count, contentType)
            }
        }
        padded.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
        defer { cvs_secret_value_unref(UnsafeMutableRawPointer(value)) }

        let (unlockedPaths, lockedPaths) = try searchPaths(service, ["service": attributes["service"]!, "username": attributes["username"]!], cancellation)
        if !lockedPaths.isEmpty && unlockedPaths.isEmpty {
            throw LibSecretFailure(kind: .locked, message: "the keyring item to replace is locked", paths: lockedPaths)
        }
        if let existing = unlockedPaths.first {
            guard let item = cvs_secret_item_new_for_dbus_path_sync(service, existing, Int32(CVS_SECRET_ITEM_NONE), cancellation.pointer, &error) else {
                throw failure(error)
            }
            defer { unrefObject(item) }
            cancellation.answered()
            guard cvs_secret_item_set_secret_sync(item, value, cancellation.pointer, &error) != 0 else { throw failure(error) }
            cancellation.answered()
            guard cvs_secret_item_set_label_sync(item, label, cancellation.pointer, &error) != 0 else { throw failure(error) }
            cancellation.answered()
            guard cvs_secret_item_set_attributes_sync(item, nil, table, cancellation.pointer, &error) != 0 else { throw failure(error) }
            cancellation.answered()
        } else {
            guard let collection = cvs_secret_collection_for_alias_sync(service, "default", Int32(CVS_SECRET_COLLECTION_NONE), cancellation.pointer, &error) else {
                throw error.map { LibSecretFailure(consuming: $0) } ?? LibSecretFailure(kind: .noSuchObject, message: "the keyring has no default collection")
            }
            defer { unrefObject(collection) }
            cancellation.answered()
            // REPLACE: a writer that raced this one to create the same item is replaced, not doubled.
            guard let item = cvs_secret_item_create_sync(collection, nil, table, label, value, Int32(CVS_SECRET_ITEM_CREATE_REPLACE), cancellation.pointer, &error) else {
                throw failure(error)
            }
            unrefObject(item)
            cancellation.answered()
        }
        for other in unlockedPaths.dropFirst() {
            guard let item = cvs_secret_item_new_for_dbus_path_sync(service, other, Int32(CVS_SECRET_ITEM_NONE), cancellation.pointer, &error) else {
                let failure = failure(error)
                if failure.kind == .noSuchObject { continue } // another client deleted it meanwhile
                throw failure
            }
            defer { unrefObject(item) }
            if cvs_secret_item_delete_sync(item, cancellation.pointer, &error) == 0 { throw failure(error) }
            cancellation.answered()
        }
    }

    /// The object paths of the items matching `attributes` (any schema), unlocked and locked
    /// (secret_service_search_for_dbus_paths_sync).
    private static func searchPaths(_ service: ServicePointer, _ attributes: [String: String],
                                    _ cancellation: Cancellation) throws -> (unlocked: [String], locked: [String]) {
        let table = makeTable(attributes)
        defer { cvs_g_hash_table_unref(table) }
        var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var locked: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var error: UnsafeMutablePointer<cvs_GError>?
        guard cvs_secret_service_search_for_dbus_paths_sync(service, nil, table, cancellation.pointer, &unlocked, &locked, &error) != 0 else {
            throw failure(error)
        }
        defer { cvs_g_strfreev(unlocked); cvs_g_strfreev(locked) }
        cancellation.answered()
        return (strings(unlocked), strings(locked))
    }

    /// Every item of the default collection, read from its Items property, not from a search:
    /// KeePassXC answers a search with no attributes with nothing (secret_collection_for_alias_sync
    /// with SECRET_COLLECTION_LOAD_ITEMS, secret_collection_get_items).
    static func collectionItems(_ cancellation: Cancellation) throws -> [KeyringItem] {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        cancellation.answered()
        var error: UnsafeMutablePointer<cvs_GError>?
        guard let collection = cvs_secret_collection_for_alias_sync(service, "default", Int32(CVS_SECRET_COLLECTION_LOAD_ITEMS), cancellation.pointer, &error) else {
            if let error { throw LibSecretFailure(consuming: error) }
            return []
        }
        defer { unrefObject(collection) }
        cancellation.answered()
        let list = cvs_secret_collection_get_items(collection)
        defer { cvs_object_list_free(list) }
        var result: [KeyringItem] = []
        var node = list
        while let current = node {
            if let pointer = current.pointee.data { result.append(read(OpaquePointer(pointer))) }
            node = current.pointee.next
        }
        return result.sorted { $0.modified > $1.modified }
    }

    /// The items matching `attributes` (any schema), newest first, with their secrets when
    /// `loadSecrets` (locked items come back without one).
    ///
    /// For one item (`all` false), one secret_service_search_sync reads it. For every match
    /// (`all`, as `list` asks), the search is done path by path
    /// (secret_service_search_for_dbus_paths_sync, then secret_item_new_for_dbus_path_sync for
    /// each): each answer renews the call's deadline, so a long list on a busy daemon is not
    /// mistaken for a wedged one, and an item another client deletes in between is skipped
    /// (one secret_service_search_sync fails whole with NoSuchObject then). Both found by the
    /// soak test.
    static func items(matching attributes: [String: String], all: Bool, loadSecrets: Bool,
                      _ cancellation: Cancellation) throws -> [KeyringItem] {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        cancellation.answered()
        if all { return try itemsPathByPath(service, attributes, all: true, loadSecrets: loadSecrets, cancellation) }
        do {
            let list = try search(service, attributes, all: false, loadSecrets: loadSecrets, cancellation)
            defer { cvs_object_list_free(list) }
            var result: [KeyringItem] = []
            var node = list
            while let current = node {
                if let pointer = current.pointee.data {
                    result.append(read(OpaquePointer(pointer)))
                }
                node = current.pointee.next
            }
            return result.sorted { $0.modified > $1.modified }
        } catch let failure as LibSecretFailure where failure.kind == .noSuchObject {
            return try itemsPathByPath(service, attributes, all: false, loadSecrets: loadSecrets, cancellation)
        }
    }

    /// Paths first, then each item on its own, renewing the deadline after every answer; an
    /// item deleted in between is skipped.
    private static func itemsPathByPath(_ service: ServicePointer, _ attributes: [String: String], all: Bool, loadSecrets: Bool,
                                        _ cancellation: Cancellation) throws -> [KeyringItem] {
        let table = makeTable(attributes)
        defer { cvs_g_hash_table_unref(table) }
        var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var locked: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var error: UnsafeMutablePointer<cvs_GError>?
        guard cvs_secret_service_search_for_dbus_paths_sync(service, nil, table, cancellation.pointer, &unlocked, &locked, &error) != 0 else {
            throw failure(error)
        }
        defer { cvs_g_strfreev(unlocked); cvs_g_strfreev(locked) }
        cancellation.answered()
        var paths = strings(unlocked).map { ($0, true) }
        if all || paths.isEmpty { paths += strings(locked).map { ($0, false) } }
        var result: [KeyringItem] = []
        for (path, isUnlocked) in paths {
            let flags = Int32(loadSecrets && isUnlocked ? CVS_SECRET_ITEM_LOAD_SECRET : CVS_SECRET_ITEM_NONE)
            var itemError: UnsafeMutablePointer<cvs_GError>?
            guard let item = cvs_secret_item_new_for_dbus_path_sync(service, path, flags, cancellation.pointer, &itemError) else {
                let failure = failure(itemError)
                if failure.kind == .noSuchObject { cancellation.answered(); continue } // deleted since the search
                throw failure
            }
            defer { unrefObject(item) }
            cancellation.answered()
            result.append(read(item))
            if !all && isUnlocked { break }
        }
        return result.sorted { $0.modified > $1.modified }
    }

    /// The strings of a NULL-terminated gchar** (not freed here).
    private static func strings(_ vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard let vector else { return [] }
        var result: [String] = []
        var index = 0
        while let string = vector[index] { result.append(String(cString: string)); index += 1 }
        return result
    }

    /// The secret of the newest item matching `attributes` (any schema), or nil, and how many
    /// items matched. One match costs what secret_service_lookup_sync does (SearchItems, then
    /// GetSecrets: secret_service_search_for_dbus_paths_sync, then
    /// secret_service_get_secret_for_dbus_path_sync); with several (another program wrote the
    /// same service and username under its own attributes), each one's Modified property is read
    /// (secret_item_new_for_dbus_path_sync) and the newest wins. Only locked matches: `.locked`.
    static func newestSecret(matching attributes: [String: String], _ cancellation: Cancellation) throws -> (secret: [UInt8]?, matches: Int) {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        cancellation.answered()
        let (paths, locked) = try searchPaths(service, attributes, cancellation)
        var error: UnsafeMutablePointer<cvs_GError>?
        guard var chosen = paths.first else {
            if !locked.isEmpty { throw LibSecretFailure(kind: .locked, message: "the matching keyring item is locked", paths: locked) }
            return (nil, 0)
        }
        if paths.count > 1 {
            var newest: UInt64 = 0
            for path in paths {
                var itemError: UnsafeMutablePointer<cvs_GError>?
                guard let item = cvs_secret_item_new_for_dbus_path_sync(service, path, Int32(CVS_SECRET_ITEM_NONE), cancellation.pointer, &itemError) else {
                    let failure = failure(itemError)
                    if failure.kind == .noSuchObject { cancellation.answered(); continue } // deleted since the search
                    throw failure
                }
                cancellation.answered()
                let modified = cvs_secret_item_get_modified(item)
                unrefObject(item)
                if modified >= newest { newest = modified; chosen = path }
            }
        }
        guard let value = cvs_secret_service_get_secret_for_dbus_path_sync(service, chosen, cancellation.pointer, &error) else {
            if let error {
                let failure = LibSecretFailure(consuming: error)
                if failure.kind == .noSuchObject { return (nil, 0) } // deleted by another client meanwhile
                throw failure
            }
            return (nil, 0)
        }
        defer { cvs_secret_value_unref(UnsafeMutableRawPointer(value)) }
        var length = 0
        guard let bytes = cvs_secret_value_get(value, &length) else { return ([], paths.count) }
        return (Array(UnsafeRawBufferPointer(start: bytes, count: length)), paths.count)
    }

    /// Deletes every item matching `attributes` (any schema; secret_item_delete_sync on each
    /// path secret_service_search_for_dbus_paths_sync found) and returns how many there were.
    /// Matches that are all locked for this client are not "none": `.locked` with their paths.
    static func delete(matching attributes: [String: String], _ cancellation: Cancellation) throws -> Int {
        let service = try service(cancellation)
        defer { unrefObject(service) }
        cancellation.answered()
        let (unlocked, locked) = try searchPaths(service, attributes, cancellation)
        if unlocked.isEmpty && !locked.isEmpty {
            throw LibSecretFailure(kind: .locked, message: "the keyring item to delete is locked", paths: locked)
        }
        var deleted = 0
        var error: UnsafeMutablePointer<cvs_GError>?
        for path in unlocked {
            guard let item = cvs_secret_item_new_for_dbus_path_sync(service, path, Int32(CVS_SECRET_ITEM_NONE), cancellation.pointer, &error) else {
                let failure = failure(error)
                if failure.kind == .noSuchObject { continue } // another client deleted it meanwhile
                throw failure
            }
            defer { unrefObject(item) }
            cancellation.answered()
            if cvs_secret_item_delete_sync(item, cancellation.pointer, &error) == 0 {
                let failure = failure(error)
                if failure.kind == .noSuchObject { continue }
                throw failure
            }
            cancellation.answered()
            deleted += 1
        }
        return deleted
    }

    // MARK: - Helpers

    private static func search(_ service: ServicePointer, _ attributes: [String: String], all: Bool, loadSecrets: Bool,
                               _ cancellation: Cancellation) throws -> UnsafeMutablePointer<cvs_GList>? {
        let table = makeTable(attributes)
        defer { cvs_g_hash_table_unref(table) }
        var flags = Int32(CVS_SECRET_SEARCH_NONE)
        if all { flags |= Int32(CVS_SECRET_SEARCH_ALL) }
        if loadSecrets { flags |= Int32(CVS_SECRET_SEARCH_LOAD_SECRETS) }
        var error: UnsafeMutablePointer<cvs_GError>?
        let list = cvs_secret_service_search_sync(service, nil, table, flags, cancellation.pointer, &error)
        if let error { throw LibSecretFailure(consuming: error) }
        return list
    }

    /// Label, attributes, timestamps and (if loaded) secret of one item (secret_item_get_*).
    private static func read(_ item: OpaquePointer) -> KeyringItem {
        let labelPointer = cvs_secret_item_get_label(item)
        let label = labelPointer.map { String(cString: $0) } ?? ""
        cvs_g_free(labelPointer)
        var attributes: [String: String] = [:]
        if let table = cvs_secret_item_get_attributes(item) {
            let keys = cvs_attributes_keys(table)
            var node = keys
            while let current = node {
                if let keyPointer = current.pointee.data?.assumingMemoryBound(to: CChar.self),
                   let valuePointer = cvs_attributes_get(table, keyPointer) {
                    attributes[String(cString: keyPointer)] = String(cString: valuePointer)
                }
                node = current.pointee.next
            }
            cvs_g_list_free(keys)
            cvs_g_hash_table_unref(table)
        }
        var secret: [UInt8]?
        if let value = cvs_secret_item_get_secret(item) {
            var length = 0
            if let bytes = cvs_secret_value_get(value, &length) {
                secret = Array(UnsafeRawBufferPointer(start: bytes, count: length))
            } else {
                secret = []
            }
            cvs_secret_value_unref(UnsafeMutableRawPointer(value))
        }
        return KeyringItem(label: label, attributes: attributes, secret: secret,
                           created: cvs_secret_item_get_created(item), modified: cvs_secret_item_get_modified(item))
    }

    private static func makeTable(_ attributes: [String: String]) -> OpaquePointer {
        let table = cvs_attributes_new()!
        for (key, value) in attributes { cvs_attributes_set(table, key, value) }
        return table
    }

    private static func failure(_ error: UnsafeMutablePointer<cvs_GError>?) -> LibSecretFailure {
        error.map { LibSecretFailure(consuming: $0) } ?? LibSecretFailure(kind: .other, message: "libsecret reported failure without a reason")
    }
}

extension LibSecretFailure {
    init(kind: Kind, message: String, paths: [String] = []) { self.kind = kind; self.message = message; self.lockedPaths = paths }
}

/// Releases a GObject (g_object_unref).
private func unrefObject(_ object: OpaquePointer) { cvs_g_object_unref(UnsafeMutableRawPointer(object)) }
