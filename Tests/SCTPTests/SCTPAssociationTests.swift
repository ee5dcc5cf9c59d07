import DataChannel
import Testing
@testable import SCTP

/// Two usrsctp associations of this process joined back to back, as the box and the bridge
/// are over DTLS: packets queued by one are fed to the other.
@Suite(.serialized) struct SCTPAssociationTests {
    final class Wire {
        var toBridge: [[UInt8]] = []
        var toBox: [[UInt8]] = []
        var packets = 0
    }

    /// Moves packets both ways until nothing is in flight; returns what each side got.
    static func pump(_ wire: Wire, box: SCTPAssociation, bridge: SCTPAssociation) -> (box: [SCTPEvent], bridge: [SCTPEvent]) {
        var boxEvents: [SCTPEvent] = [], bridgeEvents: [SCTPEvent] = []
        var rounds = 0
        while (!wire.toBridge.isEmpty || !wire.toBox.isEmpty) && rounds < 1000 {
            rounds += 1
            let forBridge = wire.toBridge, forBox = wire.toBox
            wire.toBridge = []
            wire.toBox = []
            wire.packets += forBridge.count + forBox.count
            for packet in forBridge { bridgeEvents += packet.withUnsafeBytes { bridge.input($0) } }
            for packet in forBox { boxEvents += packet.withUnsafeBytes { box.input($0) } }
        }
        return (boxEvents, bridgeEvents)
    }

    @Test func theBoxOpensTheBridgeChannelAndBothSidesTalk() throws {
        let wire = Wire()
        let box = try SCTPAssociation { wire.toBridge.append($0) }
        let bridge = try SCTPAssociation { wire.toBox.append($0) }
        try box.connect()
        try bridge.connect()
        let up = Self.pump(wire, box: box, bridge: bridge)
        #expect(up.box.contains(.up) && up.bridge.contains(.up), "association: \(up)")
        #expect(box.isUp && bridge.isUp)

        var boxChannel = DataChannelEndpoint(dtlsClient: true)
        var bridgeChannel = DataChannelEndpoint(dtlsClient: false)
        try box.send(boxChannel.open())
        // The first message follows the OPEN at once, on the same ordered stream.
        let constraints = #"{"colibriClass":"ReceiverVideoConstraints","lastN":4}"#
        try box.send(try #require(boxChannel.send(text: constraints)))
        var opened = Self.pump(wire, box: box, bridge: bridge)
        var heard: [DataChannelEvent] = []
        for case .message(let message) in opened.bridge {
            let (event, reply) = bridgeChannel.receive(message)
            if let event { heard.append(event) }
            if let reply { try bridge.send(reply) }
        }
        #expect(heard.count == 2)
        #expect(heard.first.map { if case .remotelyOpened(stream: 0, let open) = $0 { open.label == "JVB data channel" } else { false } } == true)
        #expect(heard.last == .text(constraints))

        // The bridge's ACK and answers come back on stream 0.
        try bridge.send(SCTPMessage(stream: 0, payloadProtocol: 51, bytes: Array(#"{"colibriClass":"ServerHello"}"#.utf8)))
        let large = [UInt8]((0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try bridge.send(SCTPMessage(stream: 0, payloadProtocol: 53, bytes: large))
        opened = Self.pump(wire, box: box, bridge: bridge)
        var got: [DataChannelEvent] = []
        for case .message(let message) in opened.box {
            if let event = boxChannel.receive(message).event { got.append(event) }
        }
        #expect(got == [.opened, .text(#"{"colibriClass":"ServerHello"}"#), .binary(large)], "a 40 kB message reassembled: \(got.count) events")
        #expect(boxChannel.state == .open && boxChannel.dropped == 0)
        print("sctp: association up, channel opened and 3 messages each way in \(wire.packets) packets")
    }

    @Test func aClosedPeerIsReportedDown() throws {
        let wire = Wire()
        let box = try SCTPAssociation { wire.toBridge.append($0) }
        let bridge = try SCTPAssociation { wire.toBox.append($0) }
        try box.connect()
        try bridge.connect()
        _ = Self.pump(wire, box: box, bridge: bridge)
        #expect(box.isUp)
        bridge.close()  // SO_LINGER 0: an ABORT goes out
        let after = Self.pump(wire, box: box, bridge: bridge)
        #expect(after.box.contains(.down) && !box.isUp)
        #expect(throws: SCTPError.tooLarge(70_000)) { try box.send(SCTPMessage(stream: 0, payloadProtocol: 53, bytes: [UInt8](repeating: 0, count: 70_000))) }
    }
}
