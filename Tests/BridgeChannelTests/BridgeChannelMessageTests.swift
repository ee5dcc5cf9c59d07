import JSON
import Testing
@testable import BridgeChannel

/// Messages as JVB writes and reads them (`message/BridgeChannelMessage.kt`), with our own
/// endpoint ids and values.
@Suite struct BridgeChannelMessageTests {
    @Test func theBridgesMessagesAreRead() throws {
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"ServerHello","version":"2.3-test"}"#) == .serverHello(version: "2.3-test"))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"ServerHello"}"#) == .serverHello(version: nil))
        // JVB writes this one by hand, with blanks after the commas.
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"SenderSourceConstraints", "sourceName":"c1a55b0x-v0", "maxHeight":180}"#)
                == .senderSourceConstraints(sourceName: "c1a55b0x-v0", maxHeight: 180))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"aa11","previousSpeakers":["bb22","cc33"],"silence":false}"#)
                == .dominantSpeakerChange(DominantSpeakerChange(dominantSpeakerEndpoint: "aa11", previousSpeakers: ["bb22", "cc33"])))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"aa11"}"#)
                == .dominantSpeakerChange(DominantSpeakerChange(dominantSpeakerEndpoint: "aa11")))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"ForwardedSources","forwardedSources":["aa11-v0","bb22-v1"]}"#)
                == .forwardedSources(["aa11-v0", "bb22-v1"]))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"LastNEndpointsChangeEvent","lastNEndpoints":["aa11"]}"#) == .lastNEndpointsChange(["aa11"]))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"bb22","active":"false"}"#)
                == .endpointConnectivityStatus(endpoint: "bb22", active: false))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"ConnectionStats","estimatedDownlinkBandwidth":2500000}"#)
                == .connectionStats(estimatedDownlinkBandwidth: 2_500_000))
        #expect(try BridgeChannelMessage(json: #"{"colibriClass":"EndpointStats","from":"aa11","connectionQuality":100}"#) == .other(colibriClass: "EndpointStats"))
    }

    @Test func theBoxsConstraintsAreWrittenAsJVBReadsThem() throws {
        let constraints = ReceiverVideoConstraints(lastN: 4, selectedSources: ["aa11-v0"], onStageSources: ["aa11-v0"],
                                                   defaultConstraints: VideoConstraints(maxHeight: 180),
                                                   constraints: [("aa11-v0", VideoConstraints(maxHeight: 720, maxFrameRate: 30))])
        let text = BridgeChannelMessage.receiverVideoConstraints(constraints).json
        #expect(text == #"{"colibriClass":"ReceiverVideoConstraints","lastN":4,"selectedSources":["aa11-v0"],"onStageSources":["aa11-v0"],"defaultConstraints":{"maxHeight":180},"constraints":{"aa11-v0":{"maxHeight":720,"maxFrameRate":30}}}"#)
        // Omitted fields stay omitted: the bridge keeps their earlier values.
        #expect(BridgeChannelMessage.receiverVideoConstraints(ReceiverVideoConstraints(lastN: -1)).json == #"{"colibriClass":"ReceiverVideoConstraints","lastN":-1}"#)
        #expect(BridgeChannelMessage.sourceVideoType(sourceName: "box-v0", videoType: .camera).json
                == #"{"colibriClass":"SourceVideoTypeMessage","videoType":"camera","sourceName":"box-v0"}"#)
        #expect(BridgeChannelMessage.clientHello.json == #"{"colibriClass":"ClientHello"}"#)
    }

    @Test func everyTypedMessageRoundTrips() throws {
        let messages: [BridgeChannelMessage] = [
            .clientHello, .serverHello(version: "1"), .serverHello(version: nil),
            .receiverVideoConstraints(ReceiverVideoConstraints(lastN: 6, selectedSources: [], onStageSources: ["x-v0"],
                                                               defaultConstraints: VideoConstraints(maxHeight: 0),
                                                               constraints: [("x-v0", VideoConstraints(maxHeight: -1, maxFrameRate: 15.5)),
                                                                             ("y-v0", VideoConstraints(maxHeight: 360))],
                                                               assumedBandwidthBps: -1)),
            .sourceVideoType(sourceName: "s", videoType: .desktop), .lastNChanged(lastN: 3),
            .dominantSpeakerChange(DominantSpeakerChange(dominantSpeakerEndpoint: "a", previousSpeakers: ["b"], silence: true)),
            .forwardedSources([]), .lastNEndpointsChange(["q"]), .senderSourceConstraints(sourceName: "b-v0", maxHeight: 0),
            .endpointConnectivityStatus(endpoint: "e\"1", active: true), .connectionStats(estimatedDownlinkBandwidth: 0),
        ]
        for message in messages {
            #expect(try BridgeChannelMessage(json: message.json) == message, "\(message.json)")
        }
    }

    @Test func whatCannotBeAMessageSaysWhy() {
        #expect(throws: BridgeChannelError.malformedJSON) { try BridgeChannelMessage(json: "{\"colibriClass\":") }
        #expect(throws: BridgeChannelError.malformedJSON) { try BridgeChannelMessage(json: "") }
        #expect(throws: BridgeChannelError.notAMessage) { try BridgeChannelMessage(json: "[1,2]") }
        #expect(throws: BridgeChannelError.notAMessage) { try BridgeChannelMessage(json: #"{"class":"ServerHello"}"#) }
        #expect(throws: BridgeChannelError.notAMessage) { try BridgeChannelMessage(json: #"{"colibriClass":7}"#) }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "SenderSourceConstraints", field: "maxHeight")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"SenderSourceConstraints","sourceName":"a","maxHeight":"180"}"#)
        }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "SenderSourceConstraints", field: "maxHeight")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"SenderSourceConstraints","sourceName":"a","maxHeight":180.5}"#)
        }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "ForwardedSources", field: "forwardedSources")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"ForwardedSources","forwardedSources":["a",1]}"#)
        }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "ReceiverVideoConstraints", field: "constraints.a.maxHeight")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"ReceiverVideoConstraints","constraints":{"a":{"maxFrameRate":30}}}"#)
        }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "EndpointConnectivityStatusChangeEvent", field: "active")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a","active":"yes"}"#)
        }
        #expect(throws: BridgeChannelError.invalidField(colibriClass: "SourceVideoTypeMessage", field: "videoType")) {
            try BridgeChannelMessage(json: #"{"colibriClass":"SourceVideoTypeMessage","videoType":"hologram","sourceName":"a"}"#)
        }
    }

    @Test func everyTruncatedPrefixIsDroppedCleanly() {
        let text = BridgeChannelMessage.receiverVideoConstraints(ReceiverVideoConstraints(
            lastN: 2, onStageSources: ["aa11-v0"], defaultConstraints: VideoConstraints(maxHeight: 180),
            constraints: [("aa11-v0", VideoConstraints(maxHeight: 720))])).json
        let bytes = Array(text.utf8)
        for length in 0..<bytes.count {
            let prefix = String(decoding: bytes[0..<length], as: UTF8.self)
            #expect(throws: BridgeChannelError.self) { try BridgeChannelMessage(json: prefix) }
        }
    }

    @Test func theInboxDropsAndCountsWhatItCannotUse() {
        var inbox = BridgeChannelInbox()
        #expect(inbox.receive(text: #"{"colibriClass":"ForwardedSources","forwardedSources":["a-v0"]}"#) == .forwardedSources(["a-v0"]))
        #expect(inbox.receive(text: #"{"colibriClass":"EndpointMessage","to":"","from":"a"}"#) == nil)
        #expect(inbox.receive(text: "not json") == nil)
        #expect(inbox.receive(text: #"{"colibriClass":"ForwardedSources"}"#) == nil)
        inbox.receive(binary: 8)
        #expect(inbox.received == 5 && inbox.ignored == 1 && inbox.malformed == 2 && inbox.binary == 1)
        #expect(inbox.lastProblem == .invalidField(colibriClass: "ForwardedSources", field: "forwardedSources"))
    }
}
