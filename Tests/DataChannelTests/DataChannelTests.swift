import Testing
@testable import DataChannel

/// DCEP (RFC 8832) and the channel the box opens towards the bridge.
@Suite struct DataChannelMessageTests {
    /// RFC 8832 §5.1 laid out by hand: lib-jitsi-meet's bridge channel OPEN is 12 + 16 + 34 bytes.
    @Test func theBridgeChannelOpenIsLaidOutAsRFC8832Says() throws {
        let open = DataChannelOpen(label: "JVB data channel", protocol: "http://jitsi.org/protocols/colibri")
        let bytes = DataChannelMessage.open(open).bytes
        #expect(bytes.count == 62)
        #expect(Array(bytes[0..<12]) == [0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0x00, 16, 0x00, 34])
        #expect(String(decoding: bytes[12..<28], as: UTF8.self) == "JVB data channel")
        #expect(String(decoding: bytes[28...], as: UTF8.self) == "http://jitsi.org/protocols/colibri")
        #expect(try bytes.withUnsafeBytes { try DataChannelMessage(parsing: $0) } == .open(open))
        #expect(DataChannelMessage.ack.bytes == [0x02])
    }

    @Test func otherChannelTypesAndPrioritiesRoundTrip() throws {
        let open = DataChannelOpen(channelType: .partialReliableTimedUnordered, priority: 1024, reliabilityParameter: 0x0102_0304,
                                   label: "Klasse 4b ✓", protocol: "")
        let bytes = DataChannelMessage.open(open).bytes
        #expect(Array(bytes[0..<8]) == [0x03, 0x82, 0x04, 0x00, 0x01, 0x02, 0x03, 0x04])
        #expect(try bytes.withUnsafeBytes { try DataChannelMessage(parsing: $0) } == .open(open))
    }

    @Test func everyTruncatedPrefixAndBadFieldIsRefused() {
        let bytes = DataChannelMessage.open(DataChannelOpen(label: "a", protocol: "bc")).bytes
        for length in 0..<bytes.count {
            #expect(throws: DataChannelError.truncated) { try bytes[0..<length].withUnsafeBytes { try DataChannelMessage(parsing: $0) } }
        }
        #expect(throws: DataChannelError.unknownMessageType(0x07)) { try [UInt8(7)].withUnsafeBytes { try DataChannelMessage(parsing: $0) } }
        var badType = bytes
        badType[1] = 0x05
        #expect(throws: DataChannelError.unknownChannelType(0x05)) { try badType.withUnsafeBytes { try DataChannelMessage(parsing: $0) } }
        var badText = bytes
        badText[12] = 0xFF
        #expect(throws: DataChannelError.invalidText) { try badText.withUnsafeBytes { try DataChannelMessage(parsing: $0) } }
    }
}

@Suite struct DataChannelEndpointTests {
    @Test func theBoxOpensOnStreamZeroAndMaySendBeforeTheAck() {
        var channel = DataChannelEndpoint(dtlsClient: true)
        #expect(channel.send(text: "early") == nil, "nothing before the OPEN")
        let open = channel.open()
        #expect(open.stream == 0 && open.payloadProtocol == 50 && open.bytes.count == 62)
        #expect(channel.state == .opening)
        #expect(channel.send(text: "{}") == SCTPMessage(stream: 0, payloadProtocol: 51, bytes: Array("{}".utf8)))
        let (event, reply) = channel.receive(SCTPMessage(stream: 0, payloadProtocol: 50, bytes: [0x02]))
        #expect(event == .opened && reply == nil && channel.state == .open)
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 51, bytes: Array(#"{"colibriClass":"ServerHello"}"#.utf8))).event
                == .text(#"{"colibriClass":"ServerHello"}"#))
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 53, bytes: [1, 2, 3])).event == .binary([1, 2, 3]))
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 56, bytes: [0])).event == .text(""))
        #expect(channel.send(text: "") == SCTPMessage(stream: 0, payloadProtocol: 56, bytes: [0]))
        #expect(channel.send(binary: []) == SCTPMessage(stream: 0, payloadProtocol: 57, bytes: [0]))
        #expect(channel.dropped == 0)
    }

    @Test func aDTLSServerTakesAnOddStream() {
        var channel = DataChannelEndpoint(dtlsClient: false)
        #expect(channel.open().stream == 1)
    }

    @Test func aChannelTheOtherSideOpensIsAcknowledgedOnItsStream() {
        var channel = DataChannelEndpoint(dtlsClient: true)
        let open = DataChannelOpen(label: "bridge", protocol: "")
        let (event, reply) = channel.receive(SCTPMessage(stream: 3, payloadProtocol: 50, bytes: DataChannelMessage.open(open).bytes))
        #expect(event == .remotelyOpened(stream: 3, open))
        #expect(reply == SCTPMessage(stream: 3, payloadProtocol: 50, bytes: [0x02]))
        #expect(channel.receive(SCTPMessage(stream: 3, payloadProtocol: 51, bytes: Array("hi".utf8))).event == .text("hi"))
        // Our own parity is ours to choose: an OPEN there is refused.
        #expect(channel.receive(SCTPMessage(stream: 2, payloadProtocol: 50, bytes: DataChannelMessage.open(open).bytes)).reply == nil)
        #expect(channel.dropped == 1)
    }

    @Test func whatDoesNotBelongIsDroppedAndCounted() {
        var channel = DataChannelEndpoint(dtlsClient: true)
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 51, bytes: [0x41])).event == nil, "not open yet")
        _ = channel.open()
        #expect(channel.receive(SCTPMessage(stream: 4, payloadProtocol: 51, bytes: [0x41])).event == nil, "no channel there")
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 99, bytes: [0x41])).event == nil, "unknown PPID")
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 51, bytes: [0xC3, 0x28])).event == nil, "not UTF-8")
        #expect(channel.receive(SCTPMessage(stream: 0, payloadProtocol: 50, bytes: [0x03, 0x00])).event == nil, "truncated OPEN")
        #expect(channel.receive(SCTPMessage(stream: 2, payloadProtocol: 50, bytes: [0x02])).event == nil, "ACK on another stream")
        #expect(channel.dropped == 6 && channel.state == .opening)
    }

    @Test func afterTheAssociationIsLostTheChannelOpensAgain() {
        var channel = DataChannelEndpoint(dtlsClient: true)
        _ = channel.open()
        _ = channel.receive(SCTPMessage(stream: 0, payloadProtocol: 50, bytes: [0x02]))
        channel.reset()
        #expect(channel.state == .closed && channel.send(text: "x") == nil)
        #expect(channel.open().bytes.first == 0x03 && channel.state == .opening)
    }
}
