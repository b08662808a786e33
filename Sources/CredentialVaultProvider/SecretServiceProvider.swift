import CredentialVaultCore
import CredentialVaultCrypto
import CredentialVaultSystem
import EncryptedFileBackend
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `credvault secret-service`: the freedesktop Secret Service API on the session bus
/// (`org.freedesktop.secrets`), served from the password-protected store, so that
/// `secret-tool`, Python keyring, git-credential-libsecret and every other libsecret client
/// work on a machine without a desktop keyring.
///
/// One collection (`/org/freedesktop/secrets/collection/login`, alias `default`) maps onto the
/// store. Calls are answered one at a time, in the order they arrive. Unlocking: a passphrase
/// given at start, or at any time the store's unlock cache (`credvault unlock`); a locked
/// provider answers an unlock with a prompt that ends at once as dismissed, since no person can
/// answer one here.
public final class SecretServiceProvider {
    /// Why ``run(replace:)`` returned.
    public enum Stop: Sendable, Equatable {
        /// Another program took the name over (`--replace`).
        case replaced
        /// The bus went away.
        case busClosed
    }

    static let busName = "org.freedesktop.secrets"

    private let items: ProviderItems
    private let context: BackendContext
    private let log: @Sendable (String) -> Void
    private var objects = ProviderObjects()
    private var bus: ProviderBus?
    /// Senders already checked to be this user (cvp_sender_uid), and the answer.
    private var senderChecked: [String: Bool] = [:]

    /// A provider for the store of `context`. `log` receives one line per event worth an
    /// administrator's attention (never a secret).
    public init(context: BackendContext, log: @escaping @Sendable (String) -> Void) {
        self.context = context
        self.log = log
        var cacheOnly = context
        cacheOnly.passphrasePrompt = nil
        var environment = context.environment
        for name in ["CREDENTIALS_DIRECTORY", context.app.variable("PASSPHRASE_FILE"), context.app.variable("PASSPHRASE_FD")] {
            environment[name] = nil
        }
        cacheOnly = BackendContext(app: context.app, environment: environment, directory: context.directory,
                                   configuration: context.configuration, callTimeout: context.callTimeout, lockTimeout: context.lockTimeout)
        items = ProviderItems(context: cacheOnly)
    }

    /// The store's file.
    public var storePath: String { items.path }

    /// Unlocks before serving: with `passphrase` when one is given, else from the unlock cache,
    /// else from the first passphrase source of the context (systemd credential, passphrase
    /// file, descriptor, terminal prompt). Returns where from, or nil when the provider starts
    /// locked. Later, only the unlock cache unlocks it (`credvault unlock`).
    ///
    /// - Throws: what the store refuses (a wrong passphrase: `.permissionDenied`; no store: `.notFound`).
    public func unlockAtStart(passphrase given: SecureBuffer? = nil) async throws -> String? {
        guard SecureFileSystem.exists(items.path) else {
            throw CredentialVaultError(.notFound, "there is no password-protected store at \(items.path); the provider keeps its items there. Make it with `\(context.app.commandName) password set`")
        }
        if let given {
            try items.unlock(passphrase: given)
            return "the passphrase given"
        }
        if await items.unlockFromCache() { return "the unlock cache" }
        guard UnlockSource.first(in: context) != nil else { return nil }
        let (passphrase, source) = try UnlockSource.passphrase(for: items.path, in: context)
        try items.unlock(passphrase: passphrase)
        return source.description
    }

    /// Owns `org.freedesktop.secrets` and answers calls until the name is taken over or the bus closes.
    ///
    /// - Throws: `.unavailable` (69) when the bus cannot be reached, or another program owns
    ///   the name and `replace` is false.
    public func run(replace: Bool, started: () -> Void = {}) async throws -> Stop {
        let bus: ProviderBus
        do {
            bus = try ProviderBus(name: Self.busName, replace: replace)
        } catch .nameTaken(let pid) {
            let owner = pid == 0 ? "another program" : "\(Self.programName(pid: pid)) (pid \(pid))"
            throw CredentialVaultError(.unavailable,
                "\(Self.busName) is already served on this session bus by \(owner); stop it, or take the name over with `\(context.app.commandName) secret-service --replace`")
        } catch .failed(let problem) {
            throw CredentialVaultError(.unavailable, "cannot serve \(Self.busName): \(problem). Run inside a D-Bus session (log in, or start one with dbus-run-session)")
        }
        self.bus = bus
        started()
        for await event in bus.events {
            switch event {
            case .call(let call):
                await handle(call)
            case .stopped:
                let reason: Stop = bus.stopReason == 1 ? .replaced : .busClosed
                bus.stop()
                return reason
            }
        }
        return .busClosed
    }

    /// The command name of process `pid` (/proc/PID/comm), for messages.
    static func programName(pid: UInt32) -> String {
        guard let bytes = try? SecureFileSystem.read("/proc/\(pid)/comm", rule: .authenticated, limit: 64) else { return "a program" }
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespaceAndNewlines().escapingControls()
    }

    // MARK: - Dispatch

    private func handle(_ call: BusCall) async {
        guard isSameUser(call.sender) else {
            call.fail(BusError.accessDenied, "only the session bus's own user may use this keyring")
            return
        }
        do {
            try await dispatch(call)
        } catch let failure as BusFailure {
            call.fail(failure.name, failure.message)
        } catch let error as CredentialVaultError {
            if error.code == .unavailable || error.code == .locked {
                call.fail(BusError.isLocked, "the keyring is locked; unlock it with `\(context.app.commandName) unlock`")
            } else {
                log("\(call.interface).\(call.member) on \(call.path) failed: \(error.message)")
                call.fail(BusError.failed, error.message)
            }
        } catch {
            log("\(call.interface).\(call.member) on \(call.path) failed: \(error)")
            call.fail(BusError.failed, "\(error)")
        }
    }

    private func isSameUser(_ sender: String) -> Bool {
        if let known = senderChecked[sender] { return known }
        let allowed = bus?.uid(of: sender) == SecureFileSystem.currentUser
        if senderChecked.count > 4096 { senderChecked.removeAll() }
        senderChecked[sender] = allowed
        if !allowed { log("refused a call from \(sender): not this user") }
        return allowed
    }

    private func dispatch(_ call: BusCall) async throws {
        let object = objects.object(at: call.path)
        switch (call.interface, object) {
        case ("org.freedesktop.DBus.Introspectable", _):
            guard let object else { throw BusFailure.unknownObject(call.path) }
            let children = object == .service ? ["collection", "aliases", "session", "prompt"] : object == .collection ? try await itemIDs() : []
            call.reply { $0.string(ProviderObjects.introspection(of: object, children: children)) }
        case ("org.freedesktop.DBus.Properties", let object?):
            try await properties(call, of: object)
        case ("org.freedesktop.Secret.Service", .service?):
            try await service(call)
        case ("org.freedesktop.Secret.Collection", .collection?):
            try await collection(call)
        case ("org.freedesktop.Secret.Item", .item(let id)?):
            try await item(call, id: id)
        case ("org.freedesktop.Secret.Session", .session(let path)?):
            objects.closeSession(path, sender: call.sender)
            call.reply()
        case ("org.freedesktop.Secret.Prompt", .prompt(let path)?):
            try await prompt(call, path: path)
        case ("org.credvault.SecretService1", .service?):
            if call.member == "Lock" {
                lock()
                call.reply()
            } else if call.member == "Unlock" {
                // The data key from `credvault unlock`, under the caller's transfer session.
                let sent = call.argument(0).secret
                let key = try open(sent, session: try objects.session(sent.session, sender: call.sender))
                do {
                    try items.unlock(dataKey: key.withBytes { SecureBuffer(copying: $0) })
                } catch let error as CredentialVaultError {
                    throw BusFailure(name: BusError.accessDenied, message: error.message)
                }
                log("unlocked by `\(context.app.commandName) unlock`")
                call.reply()
            } else {
                let unlocked = items.isUnlocked
                call.reply { body in
                    body.open("a{sv}")
                    ProviderObjects.property(body, "Store") { body.string(self.items.path) }
                    ProviderObjects.property(body, "Locked") { body.bool(!unlocked) }
                    ProviderObjects.property(body, "Pid") { body.uint64(UInt64(ProcessInfo.processInfo.processIdentifier)) }
                    body.close()
                }
            }
        default:
            throw BusFailure.unknownObject(call.path)
        }
    }

    // MARK: - Service

    private func service(_ call: BusCall) async throws {
        switch call.member {
        case "OpenSession":
            let algorithm = call.argument(0).string
            let input = call.argument(1).unwrapped
            let session: TransferAlgorithm
            let output: [UInt8]?
            switch algorithm {
            case TransferAlgorithm.plainName:
                (session, output) = (.plain, nil)
            case TransferAlgorithm.diffieHellmanName:
                guard input.type == "ay" else { throw BusFailure.invalidArgs("the dh-ietf1024 input is the client's public value, an ay") }
                do {
                    (session, output) = try TransferAlgorithm.agree(clientPublic: input.bytes)
                } catch let error as CredentialVaultError where error.code == .unavailable {
                    // NotSupported: clients (libsecret, SecretStorage) then ask for `plain`.
                    log(error.message)
                    throw BusFailure(name: BusError.notSupported, message: error.message)
                } catch let error as CredentialVaultError {
                    throw BusFailure.invalidArgs(error.message)
                }
            default:
                throw BusFailure(name: BusError.notSupported, message: "the algorithm \(algorithm.escapingControls()) is not supported; use plain or \(TransferAlgorithm.diffieHellmanName)")
            }
            let path = objects.openSession(session, sender: call.sender)
            call.reply { body in
                body.variant { output.map(body.bytes) ?? body.string("") }
                body.path(path)
            }
        case "SearchItems":
            let query = call.argument(0).attributes
            let found = await items.unlockFromCache() ? try await items.search(query).map { objects.itemPath($0.id) } : []
            call.reply { body in
                body.paths(found)
                body.paths([])
            }
        case "Unlock":
            let requested = call.argument(0).paths
            if await items.unlockFromCache() {
                call.reply { body in
                    body.paths(requested)
                    body.path("/")
                }
            } else {
                let prompt = objects.newPrompt(unlocking: requested)
                call.reply { body in
                    body.paths([])
                    body.path(prompt)
                }
            }
        case "Lock":
            let requested = call.argument(0).paths
            lock()
            call.reply { body in
                body.paths(requested)
                body.path("/")
            }
        case "GetSecrets":
            let requested = call.argument(0).paths
            let session = try objects.session(call.argument(1).string, sender: call.sender)
            let all = await items.unlockFromCache() ? try await items.all() : [:]
            var secrets: [(String, TransferredSecret)] = []
            for path in requested {
                guard case .item(let id)? = objects.object(at: path), let item = all[id] else { continue }
                secrets.append((path, try transfer(item, session: session, sessionPath: call.argument(1).string)))
            }
            call.reply { body in
                body.open("a{o(oayays)}")
                for (path, secret) in secrets {
                    body.open("{o(oayays)}")
                    body.path(path)
                    body.secret(secret)
                    body.close()
                }
                body.close()
            }
        case "ReadAlias":
            let alias = call.argument(0).string
            call.reply { $0.path(alias == "default" ? ProviderObjects.collectionPath : "/") }
        case "SetAlias":
            let alias = call.argument(0).string
            let target = call.argument(1).string
            guard alias == "default", objects.object(at: target) == .collection else {
                throw BusFailure(name: BusError.notSupported, message: "this keyring has one collection, the alias default; it cannot be changed")
            }
            call.reply()
        case "CreateCollection":
            let alias = call.argument(1).string
            guard alias == "default" else {
                throw BusFailure(name: BusError.notSupported,
                                 message: "this keyring (credvault) keeps one collection, the alias default (\(ProviderObjects.collectionPath)); store items there")
            }
            call.reply { body in
                body.path(ProviderObjects.collectionPath)
                body.path("/")
            }
        default:
            throw BusFailure.unknownMethod(call)
        }
    }

    /// Locks the provider: forgets the data key and every decrypted item, and removes the
    /// unlock cache's entry, so that only `credvault unlock` (or a restart with a passphrase)
    /// unlocks it again.
    func lock() {
        items.lock()
        _ = try? PasswordProtection.lock(directory: context.directory)
        log("locked")
    }

    // MARK: - Collection

    private func collection(_ call: BusCall) async throws {
        switch call.member {
        case "SearchItems":
            let query = call.argument(0).attributes
            let found = await items.unlockFromCache() ? try await items.search(query).map { objects.itemPath($0.id) } : []
            call.reply { $0.paths(found) }
        case "CreateItem":
            let properties = call.argument(0).properties
            let sent = call.argument(1).secret
            let replace = call.argument(2).bool
            let label = properties["org.freedesktop.Secret.Item.Label"]
            let attributes = properties["org.freedesktop.Secret.Item.Attributes"]
            guard label == nil || label?.type == "s", attributes == nil || attributes?.type == "a{ss}" else {
                throw BusFailure.invalidArgs("the item's Label is a string (s) and its Attributes an a{ss}")
            }
            let session = try objects.session(sent.session, sender: call.sender)
            guard await items.unlockFromCache() else { throw BusFailure.locked(context) }
            let secret = try open(sent, session: session)
            let (item, created) = try await items.create(label: label?.string ?? "", attributes: attributes?.attributes ?? [:], secret: secret,
                                                         contentType: sent.contentType, replace: replace)
            let path = objects.itemPath(item.id)
            call.reply { body in
                body.path(path)
                body.path("/")
            }
            emitItemSignal(created ? "ItemCreated" : "ItemChanged", path)
        case "Delete":
            throw BusFailure(name: BusError.notSupported,
                             message: "this keyring's one collection is the store itself; delete its items one by one, or remove the store with `\(context.app.commandName) clear`")
        default:
            throw BusFailure.unknownMethod(call)
        }
    }

    // MARK: - Item

    private func item(_ call: BusCall, id: String) async throws {
        guard await items.unlockFromCache() else { throw BusFailure.locked(context) }
        guard var item = try await items.all()[id] else { throw BusFailure.noSuchObject(call.path) }
        switch call.member {
        case "GetSecret":
            let sessionPath = call.argument(0).string
            let session = try objects.session(sessionPath, sender: call.sender)
            let secret = try transfer(item, session: session, sessionPath: sessionPath)
            call.reply { $0.secret(secret) }
        case "SetSecret":
            let sent = call.argument(0).secret
            let session = try objects.session(sent.session, sender: call.sender)
            item.secret = try open(sent, session: session)
            item.contentType = sent.contentType
            try await items.write(item)
            call.reply()
            emitItemSignal("ItemChanged", call.path)
        case "Delete":
            _ = try await items.delete(id: id)
            call.reply { $0.path("/") }
            emitItemSignal("ItemDeleted", call.path)
        default:
            throw BusFailure.unknownMethod(call)
        }
    }

    private func transfer(_ item: ProviderItem, session: TransferAlgorithm, sessionPath: String) throws -> TransferredSecret {
        let (parameters, value) = try session.seal(item.secret)
        return TransferredSecret(session: sessionPath, parameters: parameters, value: value, contentType: item.contentType)
    }

    /// The largest secret a client may store: 16 MiB, as `credvault set` takes.
    static let maximumSecretSize = 16 << 20

    private func open(_ sent: TransferredSecret, session: TransferAlgorithm) throws -> SecretBytes {
        // Checked before decrypting (at most one AES block of padding more) and after.
        let tooLarge = BusFailure.invalidArgs("the secret is larger than the \(Self.maximumSecretSize >> 20) MiB this keyring keeps")
        guard sent.value.count <= Self.maximumSecretSize + 16 else { throw tooLarge }
        let secret: SecretBytes
        do {
            secret = try session.open(parameters: sent.parameters, value: sent.value)
        } catch let error as CredentialVaultError {
            throw BusFailure.invalidArgs(error.message)
        }
        guard secret.count <= Self.maximumSecretSize else { throw tooLarge }
        return secret
    }

    private func emitItemSignal(_ member: String, _ itemPath: String) {
        bus?.emit(path: ProviderObjects.collectionPath, interface: "org.freedesktop.Secret.Collection", member: member) { $0.path(itemPath) }
    }

    private func itemIDs() async throws -> [String] {
        guard items.isUnlocked else { return [] }
        return try await items.all().keys.sorted()
    }

    // MARK: - Prompt

    /// Completes at once: unlocked when the unlock cache has the key by now, else dismissed (no
    /// person can answer a dialog here). The reply goes before the Completed signal.
    private func prompt(_ call: BusCall, path: String) async throws {
        guard let unlocking = objects.takePrompt(path) else { throw BusFailure.noSuchObject(path) }
        let unlocked = call.member == "Prompt" ? await items.unlockFromCache() : false
        call.reply()
        if !unlocked { log("an unlock prompt was dismissed: no person can answer it here; unlock with `\(context.app.commandName) unlock`") }
        bus?.emit(path: path, interface: "org.freedesktop.Secret.Prompt", member: "Completed") { body in
            body.bool(!unlocked)
            body.variant { body.paths(unlocked ? unlocking : []) }
        }
    }

    // MARK: - Properties

    private func properties(_ call: BusCall, of object: ProviderObjects.Object) async throws {
        let named = call.argument(0).string
        let interface = named.isEmpty ? ProviderObjects.mainInterface(of: object) : named
        switch call.member {
        case "Get", "GetAll":
            let values = try await propertyValues(of: object, interface: interface)
            if call.member == "GetAll" {
                call.reply { body in
                    body.open("a{sv}")
                    for (name, write) in values { ProviderObjects.property(body, name) { write(body) } }
                    body.close()
                }
            } else {
                let name = call.argument(1).string
                guard let write = values.first(where: { $0.0 == name })?.1 else {
                    throw BusFailure.invalidArgs("\(interface.escapingControls()) has no property \(name.escapingControls()) here")
                }
                call.reply { body in body.variant { write(body) } }
            }
        case "Set":
            let name = call.argument(1).string
            let value = call.argument(2).unwrapped
            guard case .item(let id) = object, interface == "org.freedesktop.Secret.Item", name == "Label" || name == "Attributes" else {
                throw BusFailure(name: BusError.propertyReadOnly, message: "\(name.escapingControls()) cannot be set here; an item's Label and Attributes can")
            }
            guard await items.unlockFromCache() else { throw BusFailure.locked(context) }
            guard var item = try await items.all()[id] else { throw BusFailure.noSuchObject(call.path) }
            if name == "Label" {
                guard value.type == "s" else { throw BusFailure.invalidArgs("Label is a string (s)") }
                item.label = value.string
            } else {
                guard value.type == "a{ss}" else { throw BusFailure.invalidArgs("Attributes is an a{ss}") }
                item.attributes = value.attributes
            }
            try await items.write(item)
            call.reply()
            emitItemSignal("ItemChanged", call.path)
        default:
            throw BusFailure.unknownMethod(call)
        }
    }

    private typealias PropertyValue = (String, (BusBody) -> Void)

    private func propertyValues(of object: ProviderObjects.Object, interface: String) async throws -> [PropertyValue] {
        switch (object, interface) {
        case (.service, "org.freedesktop.Secret.Service"):
            return [("Collections", { $0.paths([ProviderObjects.collectionPath]) })]
        case (.collection, "org.freedesktop.Secret.Collection"):
            let unlocked = await items.unlockFromCache()
            let all = unlocked ? try await items.all() : [:]
            let paths = all.keys.sorted().map(objects.itemPath)
            let created = all.values.map(\.created).min() ?? Date(timeIntervalSince1970: 0)
            let modified = all.values.map(\.modified).max() ?? created
            return [("Items", { $0.paths(paths) }), ("Label", { $0.string("Login") }), ("Locked", { $0.bool(!unlocked) }),
                    ("Created", { $0.uint64(Self.seconds(created)) }), ("Modified", { $0.uint64(Self.seconds(modified)) })]
        case (.item(let id), "org.freedesktop.Secret.Item"):
            guard await items.unlockFromCache() else {
                return [("Locked", { $0.bool(true) })]
            }
            guard let item = try await items.all()[id] else { throw BusFailure.noSuchObject(objects.itemPath(id)) }
            return [("Locked", { $0.bool(false) }), ("Attributes", { $0.attributes(item.attributes) }), ("Label", { $0.string(item.label) }),
                    ("Created", { $0.uint64(Self.seconds(item.created)) }), ("Modified", { $0.uint64(Self.seconds(item.modified)) })]
        default:
            return []
        }
    }

    private static func seconds(_ date: Date) -> UInt64 { UInt64(max(0, date.timeIntervalSince1970)) }
}
