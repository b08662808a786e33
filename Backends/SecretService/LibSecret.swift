internal import CLibSecret
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
    var description: String { message }

    /// Copies and frees `error` (g_error_free).
    init(consuming error: UnsafeMutablePointer<GError>) {
        let domain = error.pointee.domain, code = error.pointee.code
        message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        if domain == credvault_shim_io_error_domain(), code == Int32(G_IO_ERROR_CANCELLED.rawValue) {
            kind = .cancelled
        } else if domain == credvault_shim_dbus_error_domain(),
                  code == Int32(G_DBUS_ERROR_SERVICE_UNKNOWN.rawValue) || code == Int32(G_DBUS_ERROR_NAME_HAS_NO_OWNER.rawValue) {
            kind = .serviceUnknown
        } else if domain == credvault_shim_secret_error_domain(), code == Int32(SECRET_ERROR_IS_LOCKED.rawValue) {
            kind = .locked
        } else if domain == credvault_shim_secret_error_domain(), code == Int32(SECRET_ERROR_NO_SUCH_OBJECT.rawValue) {
            kind = .noSuchObject
        } else if let remote = g_dbus_error_get_remote_error(error) {
            // The daemon's own error name (g_dbus_error_get_remote_error): an item deleted by
            // another client between a search and the read of its properties.
            // gnome-keyring answers a read of a deleted item with UnknownMethod "No such secret item".
            let name = String(cString: remote)
            kind = name == "org.freedesktop.Secret.Error.NoSuchObject" || name == "org.freedesktop.DBus.Error.UnknownObject"
                || message.contains("No such secret item") ? .noSuchObject : .other
            g_free(remote)
        } else if message.contains("No such secret item") || message.contains("No such object") {
            // gnome-keyring's NoSuchObject once libsecret has stripped the remote error name.
            kind = .noSuchObject
        } else if message.contains("not provided by any .service files") {
            kind = .serviceUnknown
        } else {
            kind = .other
        }
        g_error_free(error)
    }
}

/// Owns a `GCancellable` (g_cancellable_new / g_object_unref); cancelling is thread-safe.
final class Cancellation: @unchecked Sendable {
    fileprivate let pointer: UnsafeMutablePointer<GCancellable>
    init() { pointer = g_cancellable_new() }
    /// g_cancellable_cancel
    func cancel() { g_cancellable_cancel(pointer) }
    deinit { g_object_unref(pointer) }
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
    typealias ServicePointer = UnsafeMutablePointer<SecretService>

    /// The shared service connection with a transfer session open (secret_service_get_sync).
    static func service(_ cancellation: Cancellation) throws -> ServicePointer {
        var error: UnsafeMutablePointer<GError>?
        guard let service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, cancellation.pointer, &error) else {
            throw failure(error)
        }
        return service
    }

    /// Whether the default collection exists and is locked (secret_collection_for_alias_sync,
    /// secret_collection_get_locked); unlocks it when `unlock` is true (secret_service_unlock_sync).
    static func defaultCollectionState(unlock: Bool, _ cancellation: Cancellation) throws -> KeyringState {
        let service = try service(cancellation)
        defer { g_object_unref(service) }
        var error: UnsafeMutablePointer<GError>?
        switch credvault_shim_default_collection_state(service, cancellation.pointer, &error) {
        case -2: throw failure(error)
        case -1: return .noDefaultCollection
        case 0: return .unlocked
        default: break
        }
        guard unlock else { return .locked }
        guard let collection = secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_NONE, cancellation.pointer, &error) else {
            if let error { throw LibSecretFailure(consuming: error) }
            return .noDefaultCollection
        }
        defer { g_object_unref(collection) }
        let objects = credvault_shim_list_of(collection)
        defer { g_list_free(objects) }
        var unlocked: UnsafeMutablePointer<GList>?
        let count = secret_service_unlock_sync(service, objects, cancellation.pointer, &unlocked, &error)
        credvault_shim_object_list_free(unlocked)
        if let error { throw LibSecretFailure(consuming: error) }
        return count > 0 ? .unlocked : .locked
    }

    /// Creates or replaces the item with exactly `attributes` in the default collection
    /// (secret_collection_for_alias_sync, secret_item_create_sync with REPLACE), then deletes
    /// any other item with the same `service` and `username` (secret_service_search_sync,
    /// secret_item_delete_sync), so one key never has two items.
    static func store(attributes: [String: String], label: String, secret: [UInt8], contentType: String,
                      _ cancellation: Cancellation) throws {
        let service = try service(cancellation)
        defer { g_object_unref(service) }
        var error: UnsafeMutablePointer<GError>?
        guard let collection = secret_collection_for_alias_sync(service, "default", SECRET_COLLECTION_NONE, cancellation.pointer, &error) else {
            throw error.map { LibSecretFailure(consuming: $0) } ?? LibSecretFailure(kind: .noSuchObject, message: "the keyring has no default collection")
        }
        defer { g_object_unref(collection) }
        let table = makeTable(attributes)
        defer { g_hash_table_unref(table) }
        // secret_value_new copies the bytes.
        var padded = secret
        padded.append(0)
        let value = padded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                secret_value_new(chars.baseAddress!, gssize(secret.count), contentType)
            }
        }
        padded.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) }
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        guard let item = secret_item_create_sync(collection, nil, table, label, value, SECRET_ITEM_CREATE_REPLACE, cancellation.pointer, &error) else {
            throw failure(error)
        }
        defer { g_object_unref(item) }
        let newPath = String(cString: g_dbus_proxy_get_object_path(UnsafeMutableRawPointer(item).assumingMemoryBound(to: GDBusProxy.self)))
        let others = try search(service, ["service": attributes["service"]!, "username": attributes["username"]!], all: true, loadSecrets: false, cancellation)
        defer { credvault_shim_object_list_free(others) }
        var node = others
        while let current = node {
            if let pointer = current.pointee.data {
                let other = pointer.assumingMemoryBound(to: SecretItem.self)
                let otherPath = String(cString: g_dbus_proxy_get_object_path(pointer.assumingMemoryBound(to: GDBusProxy.self)))
                if otherPath != newPath {
                    if secret_item_delete_sync(other, cancellation.pointer, &error) == 0 { throw failure(error) }
                }
            }
            node = current.pointee.next
        }
    }

    /// The items matching `attributes` (any schema), newest first, with their secrets when
    /// `loadSecrets` (locked items come back without one).
    ///
    /// One secret_service_search_sync loads every item's properties in parallel. When another
    /// client deletes a found item before its properties are read, that whole search fails
    /// (NoSuchObject); then the search is redone path by path
    /// (secret_service_search_for_dbus_paths_sync, secret_item_new_for_dbus_path_sync),
    /// skipping items that vanished. Found by the soak test.
    static func items(matching attributes: [String: String], all: Bool, loadSecrets: Bool,
                      _ cancellation: Cancellation) throws -> [KeyringItem] {
        let service = try service(cancellation)
        defer { g_object_unref(service) }
        do {
            let list = try search(service, attributes, all: all, loadSecrets: loadSecrets, cancellation)
            defer { credvault_shim_object_list_free(list) }
            var result: [KeyringItem] = []
            var node = list
            while let current = node {
                if let pointer = current.pointee.data {
                    result.append(read(pointer.assumingMemoryBound(to: SecretItem.self)))
                }
                node = current.pointee.next
            }
            return result.sorted { $0.modified > $1.modified }
        } catch let failure as LibSecretFailure where failure.kind == .noSuchObject {
            return try itemsOneByOne(service, attributes, all: all, loadSecrets: loadSecrets, cancellation)
        }
    }

    /// The slower, tolerant form of ``items(matching:all:loadSecrets:_:)``: paths first, then
    /// each item on its own; an item deleted in between is skipped.
    private static func itemsOneByOne(_ service: ServicePointer, _ attributes: [String: String], all: Bool, loadSecrets: Bool,
                                      _ cancellation: Cancellation) throws -> [KeyringItem] {
        let table = makeTable(attributes)
        defer { g_hash_table_unref(table) }
        var unlocked: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?
        var locked: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?
        var error: UnsafeMutablePointer<GError>?
        guard secret_service_search_for_dbus_paths_sync(service, nil, table, cancellation.pointer, &unlocked, &locked, &error) != 0 else {
            throw failure(error)
        }
        defer { g_strfreev(unlocked); g_strfreev(locked) }
        var paths = strings(unlocked).map { ($0, true) }
        if all || paths.isEmpty { paths += strings(locked).map { ($0, false) } }
        var result: [KeyringItem] = []
        for (path, isUnlocked) in paths {
            let flags = loadSecrets && isUnlocked ? SECRET_ITEM_LOAD_SECRET : SECRET_ITEM_NONE
            var itemError: UnsafeMutablePointer<GError>?
            guard let item = secret_item_new_for_dbus_path_sync(service, path, flags, cancellation.pointer, &itemError) else {
                let failure = failure(itemError)
                if failure.kind == .noSuchObject { continue } // deleted since the search
                throw failure
            }
            defer { g_object_unref(item) }
            result.append(read(item))
            if !all && isUnlocked { break }
        }
        return result.sorted { $0.modified > $1.modified }
    }

    /// The strings of a NULL-terminated gchar** (not freed here).
    private static func strings(_ vector: UnsafeMutablePointer<UnsafeMutablePointer<gchar>?>?) -> [String] {
        guard let vector else { return [] }
        var result: [String] = []
        var index = 0
        while let string = vector[index] { result.append(String(cString: string)); index += 1 }
        return result
    }

    /// The secret of the first item matching `attributes`, or nil (secret_service_lookup_sync:
    /// SearchItems then GetSecrets, with no item proxies).
    static func lookup(matching attributes: [String: String], _ cancellation: Cancellation) throws -> [UInt8]? {
        let service = try service(cancellation)
        defer { g_object_unref(service) }
        let table = makeTable(attributes)
        defer { g_hash_table_unref(table) }
        var error: UnsafeMutablePointer<GError>?
        guard let value = secret_service_lookup_sync(service, credvault_shim_schema(), table, cancellation.pointer, &error) else {
            if let error { throw LibSecretFailure(consuming: error) }
            return nil
        }
        defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
        var length: gsize = 0
        guard let bytes = secret_value_get(value, &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: Int(length)))
    }

    /// Deletes every item matching `attributes` (secret_service_clear_sync) under our schema,
    /// or under none (`anySchema`: the attributes alone decide); returns whether any was.
    static func clear(matching attributes: [String: String], anySchema: Bool = false, _ cancellation: Cancellation) throws -> Bool {
        let service = try service(cancellation)
        defer { g_object_unref(service) }
        let table = makeTable(attributes)
        defer { g_hash_table_unref(table) }
        var error: UnsafeMutablePointer<GError>?
        let removed = secret_service_clear_sync(service, anySchema ? nil : credvault_shim_schema(), table, cancellation.pointer, &error)
        if let error { throw LibSecretFailure(consuming: error) }
        return removed != 0
    }

    // MARK: - Helpers

    private static func search(_ service: ServicePointer, _ attributes: [String: String], all: Bool, loadSecrets: Bool,
                               _ cancellation: Cancellation) throws -> UnsafeMutablePointer<GList>? {
        let table = makeTable(attributes)
        defer { g_hash_table_unref(table) }
        var flags = SECRET_SEARCH_NONE.rawValue
        if all { flags |= SECRET_SEARCH_ALL.rawValue }
        if loadSecrets { flags |= SECRET_SEARCH_LOAD_SECRETS.rawValue }
        var error: UnsafeMutablePointer<GError>?
        let list = secret_service_search_sync(service, nil, table, SecretSearchFlags(flags), cancellation.pointer, &error)
        if let error { throw LibSecretFailure(consuming: error) }
        return list
    }

    /// Label, attributes, timestamps and (if loaded) secret of one item (secret_item_get_*).
    private static func read(_ item: UnsafeMutablePointer<SecretItem>) -> KeyringItem {
        let labelPointer = secret_item_get_label(item)
        let label = labelPointer.map { String(cString: $0) } ?? ""
        g_free(labelPointer)
        var attributes: [String: String] = [:]
        if let table = secret_item_get_attributes(item) {
            let keys = credvault_shim_attributes_keys(table)
            var node = keys
            while let current = node {
                if let keyPointer = current.pointee.data?.assumingMemoryBound(to: CChar.self),
                   let valuePointer = credvault_shim_attributes_get(table, keyPointer) {
                    attributes[String(cString: keyPointer)] = String(cString: valuePointer)
                }
                node = current.pointee.next
            }
            g_list_free(keys)
            g_hash_table_unref(table)
        }
        var secret: [UInt8]?
        if let value = secret_item_get_secret(item) {
            var length: gsize = 0
            if let bytes = secret_value_get(value, &length) {
                secret = Array(UnsafeRawBufferPointer(start: bytes, count: Int(length)))
            } else {
                secret = []
            }
            secret_value_unref(UnsafeMutableRawPointer(value))
        }
        return KeyringItem(label: label, attributes: attributes, secret: secret,
                           created: UInt64(secret_item_get_created(item)), modified: UInt64(secret_item_get_modified(item)))
    }

    private static func makeTable(_ attributes: [String: String]) -> OpaquePointer {
        let table = credvault_shim_attributes_new()!
        for (key, value) in attributes { credvault_shim_attributes_set(table, key, value) }
        return table
    }

    private static func failure(_ error: UnsafeMutablePointer<GError>?) -> LibSecretFailure {
        error.map { LibSecretFailure(consuming: $0) } ?? LibSecretFailure(kind: .other, message: "libsecret reported failure without a reason")
    }
}

extension LibSecretFailure {
    init(kind: Kind, message: String) { self.kind = kind; self.message = message }
}
