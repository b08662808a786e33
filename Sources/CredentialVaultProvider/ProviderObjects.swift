import CredentialVaultCore

/// The provider's D-Bus objects: which path is what, the open transfer sessions (each tied to
/// the client that opened it) and the pending prompts, with the introspection data.
struct ProviderObjects {
    enum Object: Equatable {
        case service
        case collection
        case item(String)
        case session(String)
        case prompt(String)
    }

    static let servicePath = "/org/freedesktop/secrets"
    static let collectionPath = "/org/freedesktop/secrets/collection/login"
    static let aliasPath = "/org/freedesktop/secrets/aliases/default"
    /// At most this many sessions and prompts are kept; the oldest go first.
    static let limit = 1024

    private var sessions: [String: (sender: String, algorithm: TransferAlgorithm)] = [:]
    private var sessionOrder: [String] = []
    private var prompts: [String: [String]] = [:]
    private var counter = 0

    /// What `path` names, or nil for no object of the provider.
    func object(at path: String) -> Object? {
        switch path {
        case Self.servicePath: return .service
        case Self.collectionPath, Self.aliasPath: return .collection
        default: break
        }
        for prefix in [Self.collectionPath + "/", Self.aliasPath + "/"] where path.hasPrefix(prefix) {
            let id = String(path.dropFirst(prefix.count))
            return Self.isItemID(id) ? .item(id) : nil
        }
        if path.hasPrefix(Self.servicePath + "/session/"), sessions[path] != nil { return .session(path) }
        if path.hasPrefix(Self.servicePath + "/prompt/"), prompts[path] != nil { return .prompt(path) }
        return nil
    }

    /// 16 lowercase hex digits, as ``ProviderItems`` makes them.
    static func isItemID(_ id: String) -> Bool {
        id.utf8.count == 16 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    func itemPath(_ id: String) -> String { Self.collectionPath + "/" + id }

    mutating func openSession(_ algorithm: TransferAlgorithm, sender: String) -> String {
        counter += 1
        let path = Self.servicePath + "/session/s\(counter)"
        sessions[path] = (sender, algorithm)
        sessionOrder.append(path)
        while sessionOrder.count > Self.limit { sessions[sessionOrder.removeFirst()] = nil }
        return path
    }

    /// The session at `path`, when `sender` opened it.
    func session(_ path: String, sender: String) throws -> TransferAlgorithm {
        guard let session = sessions[path], session.sender == sender else {
            throw BusFailure(name: BusError.noSession, message: "no session \(path.escapingControls()) of this client; open one with OpenSession")
        }
        return session.algorithm
    }

    mutating func closeSession(_ path: String, sender: String) {
        guard sessions[path]?.sender == sender else { return }
        sessions[path] = nil
        sessionOrder.removeAll { $0 == path }
    }

    /// A prompt that unlocks `paths` when performed.
    mutating func newPrompt(unlocking paths: [String]) -> String {
        counter += 1
        let path = Self.servicePath + "/prompt/p\(counter)"
        if prompts.count >= Self.limit { prompts.removeAll() }
        prompts[path] = paths
        return path
    }

    /// Removes the prompt and returns what it unlocks.
    mutating func takePrompt(_ path: String) -> [String]? { prompts.removeValue(forKey: path) }

    /// The Secret Service interface an object implements (Properties calls may name none).
    static func mainInterface(of object: Object) -> String {
        switch object {
        case .service: return "org.freedesktop.Secret.Service"
        case .collection: return "org.freedesktop.Secret.Collection"
        case .item: return "org.freedesktop.Secret.Item"
        case .session: return "org.freedesktop.Secret.Session"
        case .prompt: return "org.freedesktop.Secret.Prompt"
        }
    }

    /// Appends `{sv}` for one property whose value `write` appends.
    static func property(_ body: BusBody, _ name: String, _ write: () -> Void) {
        body.open("{sv}")
        body.string(name)
        body.variant(write)
        body.close()
    }

    /// The introspection data of `object`, with its child nodes.
    static func introspection(of object: Object, children: [String]) -> String {
        let interfaces: String
        switch object {
        case .service:
            interfaces = """
              <interface name="org.freedesktop.Secret.Service">
                <method name="OpenSession"><arg name="algorithm" type="s" direction="in"/><arg name="input" type="v" direction="in"/><arg name="output" type="v" direction="out"/><arg name="result" type="o" direction="out"/></method>
                <method name="CreateCollection"><arg name="properties" type="a{sv}" direction="in"/><arg name="alias" type="s" direction="in"/><arg name="collection" type="o" direction="out"/><arg name="prompt" type="o" direction="out"/></method>
                <method name="SearchItems"><arg name="attributes" type="a{ss}" direction="in"/><arg name="unlocked" type="ao" direction="out"/><arg name="locked" type="ao" direction="out"/></method>
                <method name="Unlock"><arg name="objects" type="ao" direction="in"/><arg name="unlocked" type="ao" direction="out"/><arg name="prompt" type="o" direction="out"/></method>
                <method name="Lock"><arg name="objects" type="ao" direction="in"/><arg name="locked" type="ao" direction="out"/><arg name="Prompt" type="o" direction="out"/></method>
                <method name="GetSecrets"><arg name="items" type="ao" direction="in"/><arg name="session" type="o" direction="in"/><arg name="secrets" type="a{o(oayays)}" direction="out"/></method>
                <method name="ReadAlias"><arg name="name" type="s" direction="in"/><arg name="collection" type="o" direction="out"/></method>
                <method name="SetAlias"><arg name="name" type="s" direction="in"/><arg name="collection" type="o" direction="in"/></method>
                <property name="Collections" type="ao" access="read"/>
              </interface>
              <interface name="org.credvault.SecretService1">
                <method name="Describe"><arg name="properties" type="a{sv}" direction="out"/></method>
                <method name="Lock"/>
                <method name="Unlock"><arg name="key" type="(oayays)" direction="in"/></method>
              </interface>
            """
        case .collection:
            interfaces = """
              <interface name="org.freedesktop.Secret.Collection">
                <method name="Delete"><arg name="prompt" type="o" direction="out"/></method>
                <method name="SearchItems"><arg name="attributes" type="a{ss}" direction="in"/><arg name="results" type="ao" direction="out"/></method>
                <method name="CreateItem"><arg name="properties" type="a{sv}" direction="in"/><arg name="secret" type="(oayays)" direction="in"/><arg name="replace" type="b" direction="in"/><arg name="item" type="o" direction="out"/><arg name="prompt" type="o" direction="out"/></method>
                <signal name="ItemCreated"><arg name="item" type="o"/></signal>
                <signal name="ItemDeleted"><arg name="item" type="o"/></signal>
                <signal name="ItemChanged"><arg name="item" type="o"/></signal>
                <property name="Items" type="ao" access="read"/>
                <property name="Label" type="s" access="read"/>
                <property name="Locked" type="b" access="read"/>
                <property name="Created" type="t" access="read"/>
                <property name="Modified" type="t" access="read"/>
              </interface>
            """
        case .item:
            interfaces = """
              <interface name="org.freedesktop.Secret.Item">
                <method name="Delete"><arg name="Prompt" type="o" direction="out"/></method>
                <method name="GetSecret"><arg name="session" type="o" direction="in"/><arg name="secret" type="(oayays)" direction="out"/></method>
                <method name="SetSecret"><arg name="secret" type="(oayays)" direction="in"/></method>
                <property name="Locked" type="b" access="read"/>
                <property name="Attributes" type="a{ss}" access="readwrite"/>
                <property name="Label" type="s" access="readwrite"/>
                <property name="Created" type="t" access="read"/>
                <property name="Modified" type="t" access="read"/>
              </interface>
            """
        case .session:
            interfaces = """
              <interface name="org.freedesktop.Secret.Session"><method name="Close"/></interface>
            """
        case .prompt:
            interfaces = """
              <interface name="org.freedesktop.Secret.Prompt">
                <method name="Prompt"><arg name="window-id" type="s" direction="in"/></method>
                <method name="Dismiss"/>
                <signal name="Completed"><arg name="dismissed" type="b"/><arg name="result" type="v"/></signal>
              </interface>
            """
        }
        let standard = """
          <interface name="org.freedesktop.DBus.Introspectable"><method name="Introspect"><arg name="xml_data" type="s" direction="out"/></method></interface>
          <interface name="org.freedesktop.DBus.Properties">
            <method name="Get"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="out"/></method>
            <method name="GetAll"><arg name="interface_name" type="s" direction="in"/><arg name="properties" type="a{sv}" direction="out"/></method>
            <method name="Set"><arg name="interface_name" type="s" direction="in"/><arg name="property_name" type="s" direction="in"/><arg name="value" type="v" direction="in"/></method>
          </interface>
          <interface name="org.freedesktop.DBus.Peer"><method name="Ping"/></interface>
        """
        let nodes = children.map { "  <node name=\"\($0)\"/>\n" }.joined()
        return "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n"
            + standard + "\n" + interfaces + "\n" + nodes + "</node>\n"
    }
}

/// The D-Bus error names the provider answers with.
enum BusError {
    static let isLocked = "org.freedesktop.Secret.Error.IsLocked"
    static let noSession = "org.freedesktop.Secret.Error.NoSession"
    static let noSuchObject = "org.freedesktop.Secret.Error.NoSuchObject"
    static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
    static let notSupported = "org.freedesktop.DBus.Error.NotSupported"
    static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
    static let unknownObject = "org.freedesktop.DBus.Error.UnknownObject"
    static let unknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
    static let propertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly"
    static let failed = "org.freedesktop.DBus.Error.Failed"
}

/// A refusal sent back to the client as a D-Bus error.
struct BusFailure: Error {
    var name: String
    var message: String

    static func invalidArgs(_ message: String) -> BusFailure { BusFailure(name: BusError.invalidArgs, message: message) }
    static func unknownObject(_ path: String) -> BusFailure {
        BusFailure(name: BusError.unknownObject, message: "no object \(path.escapingControls()) here")
    }
    static func noSuchObject(_ path: String) -> BusFailure {
        BusFailure(name: BusError.noSuchObject, message: "no item \(path.escapingControls()) (deleted meanwhile?)")
    }
    static func unknownMethod(_ call: BusCall) -> BusFailure {
        BusFailure(name: BusError.unknownMethod, message: "\(call.interface).\(call.member) is not served on \(call.path.escapingControls())")
    }
    static func locked(_ context: BackendContext) -> BusFailure {
        BusFailure(name: BusError.isLocked, message: "the keyring is locked; unlock it with `\(context.app.commandName) unlock`")
    }
}
