import CKeyringBoundary
import CredentialVaultCore

/// What the provider's bus connection delivers: a method call, or the end (the name was taken
/// over by another program, or the bus went away).
enum BusEvent: Sendable {
    case call(BusCall)
    case stopped
}

/// The provider's connection to the session bus, owning a well-known name (cvp_start), and
/// every method call addressed to it, in order, on ``events``. The one place, with
/// ``BusCall``, ``BusValue`` and ``BusBody``, where the provider touches C pointers.
final class ProviderBus: @unchecked Sendable {
    /// Why the name could not be had.
    enum StartFailure: Error {
        case failed(String)
        case nameTaken(ownerPID: UInt32)
    }

    let events: AsyncStream<BusEvent>
    private let raw: OpaquePointer
    private let receiver: Unmanaged<Receiver>

    private final class Receiver: @unchecked Sendable {
        let continuation: AsyncStream<BusEvent>.Continuation
        init(_ continuation: AsyncStream<BusEvent>.Continuation) { self.continuation = continuation }
    }

    /// Connects and asks for `name` (cvp_start), replacing its owner when `replace`.
    init(name: String, replace: Bool) throws(StartFailure) {
        let (events, continuation) = AsyncStream.makeStream(of: BusEvent.self)
        let receiver = Unmanaged.passRetained(Receiver(continuation))
        var provider: OpaquePointer?
        var owner: UInt32 = 0
        var problem = [CChar](repeating: 0, count: 512)
        let result = cvp_start(name, replace ? 1 : 0, { context, call in
            guard let context else { return }
            let receiver = Unmanaged<Receiver>.fromOpaque(context).takeUnretainedValue()
            if let call {
                receiver.continuation.yield(.call(BusCall(call)))
            } else {
                receiver.continuation.yield(.stopped)
            }
        }, receiver.toOpaque(), &provider, &owner, &problem, problem.count)
        switch result {
        case CVP_STARTED:
            guard let provider else { fallthrough }
            self.raw = provider
            self.events = events
            self.receiver = receiver
        case CVP_NAME_TAKEN:
            receiver.release()
            throw .nameTaken(ownerPID: owner)
        default:
            receiver.release()
            throw .failed(String(decoding: problem.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// 1 when the name was taken over, 2 when the bus closed (cvp_stop_reason).
    var stopReason: Int32 { cvp_stop_reason(raw) }

    /// Releases the name and closes the connection (cvp_stop).
    func stop() { cvp_stop(raw) }

    /// The uid behind a unique bus name (cvp_sender_uid), or nil when the bus does not say.
    func uid(of sender: String) -> UInt32? {
        let uid = cvp_sender_uid(raw, sender)
        return uid < 0 ? nil : UInt32(uid)
    }

    /// Emits a signal (cvp_emit) whose arguments `build` appends.
    func emit(path: String, interface: String, member: String, _ build: (BusBody) -> Void) {
        guard let body = cvp_body_new() else { return }
        build(BusBody(raw: body))
        cvp_emit(raw, path, interface, member, body)
    }
}

/// One method call (cvp_call), answered exactly once, by ``reply(_:)`` or ``fail(_:_:)``.
final class BusCall: @unchecked Sendable {
    private let raw: OpaquePointer
    let sender: String
    let path: String
    let interface: String
    let member: String

    init(_ raw: OpaquePointer) {
        self.raw = raw
        sender = cvp_call_sender(raw).map { String(cString: $0) } ?? ""
        path = cvp_call_path(raw).map { String(cString: $0) } ?? "/"
        interface = String(cString: cvp_call_interface(raw))
        member = String(cString: cvp_call_member(raw))
    }

    /// The `index`-th argument; its type is the one the method's signature gives (checked by provider.c).
    func argument(_ index: Int) -> BusValue { BusValue(call: raw, raw: cvp_call_argument(raw, index)) }

    /// Sends the reply whose out arguments `build` appends (cvp_call_return). False when they
    /// did not have the method's signature (a Failed error was sent instead).
    @discardableResult
    func reply(_ build: (BusBody) -> Void = { _ in }) -> Bool {
        build(BusBody(raw: cvp_call_reply(raw)))
        return cvp_call_return(raw) == 1
    }

    /// Sends the D-Bus error `name` (cvp_call_fail).
    func fail(_ name: String, _ message: String) { cvp_call_fail(raw, name, message) }
}

/// A value inside a call's arguments (cvp_value), valid while the call is unanswered.
struct BusValue {
    fileprivate let call: OpaquePointer
    fileprivate let raw: OpaquePointer?

    var type: String { raw.map { String(cString: cvp_value_type($0)) } ?? "" }
    var string: String { raw.map { String(cString: cvp_value_string($0)) } ?? "" }
    var bool: Bool { raw.map { cvp_value_bool($0) != 0 } ?? false }
    var count: Int { raw.map { cvp_value_count($0) } ?? 0 }

    var bytes: [UInt8] {
        guard let raw else { return [] }
        var count = 0
        guard let bytes = cvp_value_bytes(raw, &count), count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: count))
    }

    func child(_ index: Int) -> BusValue { BusValue(call: call, raw: raw.flatMap { cvp_value_child(call, $0, index) }) }
    /// What a variant holds.
    var unwrapped: BusValue { BusValue(call: call, raw: raw.flatMap { cvp_value_unwrap(call, $0) }) }

    /// An `ao`.
    var paths: [String] { (0..<count).map { child($0).string } }
    /// An `a{ss}`; of a key given twice, the last wins.
    var attributes: [String: String] {
        var result: [String: String] = [:]
        for index in 0..<count {
            let entry = child(index)
            result[entry.child(0).string] = entry.child(1).string
        }
        return result
    }
    /// An `a{sv}`, its values still in their variants' contents.
    var properties: [String: BusValue] {
        var result: [String: BusValue] = [:]
        for index in 0..<count {
            let entry = child(index)
            result[entry.child(0).string] = entry.child(1).unwrapped
        }
        return result
    }
    /// A `(oayays)` secret.
    var secret: TransferredSecret {
        TransferredSecret(session: child(0).string, parameters: child(1).bytes, value: child(2).bytes, contentType: child(3).string)
    }
}

/// A secret as it crosses the bus: its session, the algorithm's parameters, the value
/// (encrypted under the session's key, or plain) and its content type.
struct TransferredSecret {
    var session: String
    var parameters: [UInt8]
    var value: [UInt8]
    var contentType: String
}

/// A body being built (cvp_body): a reply's out arguments or a signal's.
struct BusBody {
    fileprivate let raw: OpaquePointer

    func open(_ type: String) { cvp_body_open(raw, type) }
    func close() { cvp_body_close(raw) }
    func string(_ text: String) { cvp_body_string(raw, text) }
    func path(_ path: String) { cvp_body_path(raw, path) }
    func bool(_ value: Bool) { cvp_body_bool(raw, value ? 1 : 0) }
    func uint64(_ value: UInt64) { cvp_body_uint64(raw, value) }
    func bytes(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { cvp_body_bytes(raw, $0.baseAddress, $0.count) } }

    /// An `ao`.
    func paths(_ paths: [String]) {
        open("ao")
        paths.forEach(path)
        close()
    }

    /// An `a{ss}`, in key order.
    func attributes(_ attributes: [String: String]) {
        open("a{ss}")
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            open("{ss}")
            string(key)
            string(value)
            close()
        }
        close()
    }

    /// A `(oayays)` secret.
    func secret(_ secret: TransferredSecret) {
        open("(oayays)")
        path(secret.session)
        bytes(secret.parameters)
        bytes(secret.value)
        string(secret.contentType)
        close()
    }

    /// A `v` holding what `build` appends.
    func variant(_ build: () -> Void) {
        open("v")
        build()
        close()
    }
}
