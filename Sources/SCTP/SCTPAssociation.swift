#if canImport(Glibc)
import Glibc
#endif
internal import CUsrSCTP
import DataChannel
import Synchronization

/// What the association reports.
public enum SCTPEvent: Sendable, Equatable {
    /// The association is up: messages can be sent.
    case up
    /// The association is gone (lost, shut down, or it never came up).
    case down
    case message(SCTPMessage)
}

public enum SCTPError: Error, Sendable, Equatable, CustomStringConvertible {
    case socket(errno: Int32)
    case connect(errno: Int32)
    case send(errno: Int32)
    /// Messages larger than this are refused (the bridge channel's are far smaller).
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .socket(let code): "SCTP socket could not be opened (errno \(code))"
        case .connect(let code): "SCTP association could not be started (errno \(code))"
        case .send(let code): "SCTP message could not be queued (errno \(code))"
        case .tooLarge(let size): "SCTP message of \(size) bytes is larger than the 64 KiB the box sends"
        }
    }
}

/// SCTP over DTLS (RFC 8261) with usrsctp in AF_CONN mode: packets come from and go to the
/// DTLS association's application data, not a socket. usrsctp runs without threads of its
/// own; its timers advance with `advanceTimers`, called by the owner's loop.
///
/// usrsctp keeps process-wide state, so every call into it is made under one lock; the
/// output callback runs inside such a call and only hands the packet to `output`, which must
/// not call back into the association (queue the packet, write it to DTLS).
/// Port 5000 on both ends (Jingle `sctp-port`, JVB `DcSctpTransport.DEFAULT_SCTP_PORT`),
/// path MTU 1200 so SCTP + DTLS + UDP + IP fit any path (research note §2.1).
public final class SCTPAssociation {
    public static let defaultPort: UInt16 = 5000
    public static let maximumMessage = 65_536

    private static let library = Mutex<Bool>(false)
    private let port: UInt16
    private let output: ([UInt8]) -> Void
    private var socket: OpaquePointer?
    private var address: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    private var partial: [UInt8] = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536 + 1024, alignment: 8)
    public private(set) var isUp = false

    /// Opens the association's socket; `output` gets every SCTP packet to be sent over DTLS.
    public init(port: UInt16 = defaultPort, streams: UInt16 = 1024, mtu: UInt32 = 1200, output: @escaping ([UInt8]) -> Void) throws(SCTPError) {
        self.port = port
        self.output = output
        var opened: OpaquePointer?
        var code: Int32 = 0
        Self.library.withLock { initialised in
            if !initialised {
                cusrsctp_init(sctpOutput)
                initialised = true
            }
            usrsctp_register_address(address)
            opened = cusrsctp_open(address, port, streams, mtu)
            code = errno
        }
        guard let opened else {
            Self.library.withLock { _ in usrsctp_deregister_address(address) }
            buffer.deallocate()
            throw .socket(errno: code)
        }
        socket = opened
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Sends INIT (both sides may; the collision is resolved by SCTP).
    public func connect() throws(SCTPError) {
        guard let socket else { return }
        let result = Self.library.withLock { _ in cusrsctp_connect(socket, address, port) }
        if result < 0 { throw .connect(errno: -result) }
    }

    /// An SCTP packet that arrived as DTLS application data. Returns what it brought.
    public func input(_ packet: UnsafeRawBufferPointer) -> [SCTPEvent] {
        guard socket != nil, let base = packet.baseAddress else { return [] }
        Self.library.withLock { _ in usrsctp_conninput(address, base, packet.count, 0) }
        return drain()
    }

    /// Lets usrsctp's timers run (retransmissions, heartbeats); returns what they brought.
    public func advanceTimers(elapsedMilliseconds: UInt32) -> [SCTPEvent] {
        Self.library.withLock { _ in cusrsctp_advance(elapsedMilliseconds) }
        return drain()
    }

    /// Queues one message. False when the send buffer is full (retry later).
    @discardableResult
    public func send(_ message: SCTPMessage) throws(SCTPError) -> Bool {
        guard let socket else { throw .send(errno: ENOTCONN) }
        guard message.bytes.count <= Self.maximumMessage else { throw .tooLarge(message.bytes.count) }
        let result = Self.library.withLock { _ in
            message.bytes.withUnsafeBytes { cusrsctp_send(socket, $0.baseAddress, $0.count, message.stream, message.payloadProtocol) }
        }
        if result == -Int(EWOULDBLOCK) { return false }
        if result < 0 { throw .send(errno: Int32(-result)) }
        return true
    }

    /// Aborts the association (SO_LINGER 0) and gives the socket back.
    public func close() {
        guard let socket else { return }
        self.socket = nil
        isUp = false
        Self.library.withLock { _ in
            usrsctp_close(socket)
            usrsctp_deregister_address(address)
        }
    }

    /// Everything the socket has now.
    private func drain() -> [SCTPEvent] {
        guard let socket else { return [] }
        var events: [SCTPEvent] = []
        while true {
            var length = 0, stream: UInt16 = 0, payloadProtocol: UInt32 = 0, complete: Int32 = 0
            let kind = Self.library.withLock { _ in
                cusrsctp_receive(socket, buffer.baseAddress, buffer.count, &length, &stream, &payloadProtocol, &complete)
            }
            switch Int(kind) {
            case Int(CUSRSCTP_DATA):
                partial += UnsafeRawBufferPointer(rebasing: buffer[0..<length])
                guard complete != 0 else { continue }
                events.append(.message(SCTPMessage(stream: stream, payloadProtocol: payloadProtocol, bytes: partial)))
                partial = []
            case Int(CUSRSCTP_UP):
                isUp = true
                events.append(.up)
            case Int(CUSRSCTP_DOWN):
                if isUp || events.isEmpty { events.append(.down) }
                isUp = false
                return events
            case Int(CUSRSCTP_NOTIFICATION):
                continue
            default:
                return events
            }
        }
    }

    fileprivate func emit(_ packet: UnsafeRawBufferPointer) {
        output(Array(packet))
    }
}

/// usrsctp's output callback: `address` is the association that was registered with it.
private func sctpOutput(_ address: UnsafeMutableRawPointer?, _ buffer: UnsafeMutableRawPointer?, _ length: Int, _ tos: UInt8,
                        _ setDF: UInt8) -> Int32 {
    guard let address, let buffer else { return -1 }
    Unmanaged<SCTPAssociation>.fromOpaque(address).takeUnretainedValue().emit(UnsafeRawBufferPointer(start: buffer, count: length))
    return 0
}
