import BridgeChannel
import DataChannel
import Logging
import Runtime
import SCTP
import Transport

/// The bridge channel of one call: SCTP over the call's DTLS association (RFC 8261), the
/// data channel the box opens on it as lib-jitsi-meet does, and the colibri messages on it.
///
/// The association starts when DTLS is connected (both ends send INIT, RFC 8831 §6); once
/// it is up the box opens the channel and sends, right behind the OPEN, the newest message of
/// each class it was asked to send (its receiver constraints), so a bridge never goes without
/// them. Messages from the bridge are decoded and handed to `onMessage`; malformed ones and
/// unknown classes are counted. A new call (ICE/DTLS restart, a new Jingle session) makes a
/// new link, so the channel is re-established with every transport.
///
/// An association that goes down within a call (SCTP ABORT or SHUTDOWN from the bridge) is
/// logged and counted, and not reopened: JVB allows one data channel per endpoint and never
/// forgets it (its DataChannelStack answers a second OPEN with "Data channel limit
/// exceeded."), so only a new session brings the channel back. The bridge keeps forwarding
/// by the last constraints meanwhile; the status line says the channel is not open.
///
/// Transport callbacks (DTLS records, ticks) come on the network thread; `send` may come
/// from any thread. One lock keeps the SCTP and channel state consistent; usrsctp's own
/// calls are serialised by `SCTPAssociation`.
final class BridgeChannelLink: @unchecked Sendable {
    private let transport: MediaTransport
    private let dtlsClient: Bool
    private let logger: Logger
    private let lock = Lock()
    private var association: SCTPAssociation?
    private var channel: DataChannelEndpoint
    private var inbox = BridgeChannelInbox()
    /// The newest message of each class, in the order first set: sent whenever the channel opens.
    private var latest: [BridgeChannelMessage] = []
    private var sent = 0
    private var sendFailures = 0
    private var opens = 0
    private var losses = 0
    private var lastTick: UInt64?
    /// Called with every message from the bridge the box acts on (under no lock).
    var onMessage: ((BridgeChannelMessage) -> Void)?

    private let port: UInt16

    init(transport: MediaTransport, dtlsClient: Bool, port: UInt16 = SCTPAssociation.defaultPort, logger: Logger) {
        self.transport = transport
        self.port = port
        self.dtlsClient = dtlsClient
        self.logger = logger
        channel = DataChannelEndpoint(dtlsClient: dtlsClient)
    }

    /// DTLS is connected: start the association.
    func start() {
        lock.withLock {
            guard association == nil else { return }
            do {
                let transport = self.transport
                let association = try SCTPAssociation(port: port) { packet in transport.sendApplicationData(packet) }
                try association.connect()
                self.association = association
            } catch {
                logger.error("bridge channel: \(error)", metadata: ["event": "bridge_channel.failed"])
            }
        }
    }

    /// A DTLS application data record: an SCTP packet.
    func input(_ record: [UInt8]) {
        let events = lock.withLock { record.withUnsafeBytes { association?.input($0) ?? [] } }
        handle(events)
    }

    /// The network thread's 100 ms tick: usrsctp's timers.
    func tick(now: UInt64) {
        let elapsed = lastTick.map { UInt32(min((now &- $0) / 1_000_000, 10_000)) } ?? 0
        lastTick = now
        let events = lock.withLock { association?.advanceTimers(elapsedMilliseconds: elapsed) ?? [] }
        handle(events)
    }

    /// Sends `message` now if the channel is open (or opening), else when it opens; it is
    /// also sent again whenever the channel opens anew, until a newer one of its class.
    func send(_ message: BridgeChannelMessage) {
        lock.withLock {
            if let index = latest.firstIndex(where: { $0.colibriClass == message.colibriClass }) {
                latest[index] = message
            } else {
                latest.append(message)
            }
            guard channel.state != .closed, let association else { return }
            transmit(message, on: association)
        }
    }

    /// Whether the channel is open (the bridge acknowledged the OPEN).
    var isOpen: Bool { lock.withLock { channel.state == .open } }

    /// What the channel did, for the log: opens, losses, messages each way, what was dropped.
    var summary: String {
        lock.withLock {
            var text = "opened \(opens)x, lost \(losses)x, \(sent) sent, \(inbox.received) received"
            if sendFailures > 0 { text += ", \(sendFailures) not sent" }
            if inbox.ignored > 0 { text += ", \(inbox.ignored) of unknown classes" }
            if inbox.malformed > 0 { text += ", \(inbox.malformed) malformed (last: \(inbox.lastProblem?.description ?? "?"))" }
            if inbox.binary > 0 { text += ", \(inbox.binary) binary" }
            if channel.dropped > 0 { text += ", \(channel.dropped) SCTP messages dropped (last: \(channel.lastProblem ?? "?"))" }
            return text
        }
    }

    func stop() {
        lock.withLock {
            association?.close()
            association = nil
            channel.reset()
        }
    }

    private func handle(_ events: [SCTPEvent]) {
        for event in events {
            switch event {
            case .up:
                logger.info("bridge channel: SCTP association up; opening the channel", metadata: ["event": "bridge_channel.sctp"])
                lock.withLock {
                    guard let association else { return }
                    do {
                        try association.send(channel.open())
                        for message in latest { transmit(message, on: association) }
                    } catch {
                        logger.error("bridge channel: \(error)", metadata: ["event": "bridge_channel.failed"])
                    }
                }
            case .down:
                logger.warning("bridge channel: the SCTP association is gone", metadata: ["event": "bridge_channel.closed"])
                lock.withLock {
                    channel.reset()
                    losses += 1
                }
            case .message(let message):
                deliver(message)
            }
        }
    }

    private func deliver(_ message: SCTPMessage) {
        let (event, decoded) = lock.withLock { () -> (DataChannelEvent?, BridgeChannelMessage?) in
            let (event, reply) = channel.receive(message)
            if let reply { _ = try? association?.send(reply) }
            switch event {
            case .text(let text)?: return (event, inbox.receive(text: text))
            case .binary(let bytes)?: inbox.receive(binary: bytes.count)
            case .opened?: opens += 1
            default: break
            }
            return (event, nil)
        }
        switch event {
        case .opened?:
            logger.info("bridge channel open", metadata: ["event": "bridge_channel.open"])
        case .remotelyOpened(let stream, let open)?:
            logger.info("bridge channel: the bridge opened \"\(open.label)\" on stream \(stream)")
        default:
            break
        }
        if let decoded { onMessage?(decoded) }
    }

    /// Under the lock.
    private func transmit(_ message: BridgeChannelMessage, on association: SCTPAssociation) {
        guard let packet = channel.send(text: message.json) else { return }
        do {
            if try association.send(packet) {
                sent += 1
            } else {
                sendFailures += 1
                logger.warning("bridge channel: send buffer full, \(message.colibriClass) dropped")
            }
        } catch {
            sendFailures += 1
            logger.warning("bridge channel: \(message.colibriClass) not sent: \(error)")
        }
    }
}
