import Foundation
import Testing
import Wire
@testable import WebSocket

/// RFC 6455 framing, with the examples of §5.7 and every way a server can break the protocol.
struct WebSocketSessionTests {
    func session(maximum: Int = 1 << 20) -> WebSocketSession {
        WebSocketSession(maximumMessageSize: maximum, maskKey: { [0x37, 0xfa, 0x21, 0x3d] })
    }

    @Test func rfcExamplesAreRead() {
        var client = session()
        // §5.7: a single-frame unmasked text message, then the same message in two fragments.
        #expect(client.receive([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == [.text("Hello")])
        #expect(client.receive([0x01, 0x03, 0x48, 0x65, 0x6c]) == [])
        #expect(client.receive([0x80, 0x02, 0x6c, 0x6f]) == [.text("Hello")])
        // An unmasked ping is answered with a masked pong carrying the same body.
        #expect(client.receive([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == [])
        #expect(client.takeOutgoing() == [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
    }

    @Test func ourFramesAreMaskedAsTheRFCShows() {
        var client = session()
        client.send(text: "Hello")
        // §5.7: "A single-frame masked text message".
        #expect(client.takeOutgoing() == [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
        client.send(text: String(repeating: "a", count: 256))
        #expect(Array(client.takeOutgoing().prefix(4)) == [0x81, 0xFE, 0x01, 0x00], "16-bit length")
        client.send(text: String(repeating: "a", count: 65536))
        #expect(Array(client.takeOutgoing().prefix(10)) == [0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0], "64-bit length")
    }

    @Test func framesSplitAcrossReadsAndLongLengthsAreReassembled() {
        var client = session()
        let body = Array(repeating: UInt8(ascii: "x"), count: 70000)
        let frame: [UInt8] = [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70] + body
        var events: [WebSocketSession.Event] = []
        var offset = 0
        while offset < frame.count {
            let end = min(frame.count, offset + 997)
            events += client.receive(frame[offset..<end])
            offset = end
        }
        #expect(events == [.text(String(repeating: "x", count: 70000))])
        let short: [UInt8] = [0x82, 126, 0x01, 0x00] + Array(repeating: 7, count: 256) + [0x81, 0x01, 0x41]
        #expect(client.receive(short) == [.binary(Array(repeating: 7, count: 256)), .text("A")])
    }

    @Test func controlFramesMayArriveBetweenFragments() {
        var client = session()
        #expect(client.receive([0x01, 0x02, 0x3C, 0x61] + [0x89, 0x00] + [0x80, 0x03, 0x2F, 0x3E, 0x20]) == [.text("<a/> ")])
        #expect(client.takeOutgoing().first == 0x8a, "the ping in the middle was answered")
    }

    @Test func theClosingHandshakeIsEchoedOrAwaited() {
        var server = session()
        #expect(server.receive([0x88, 0x05, 0x03, 0xE9] + Array("bye".utf8)) == [.closed(code: 1001, reason: "bye")])
        let echo = server.takeOutgoing()
        #expect(Array(echo.prefix(2)) == [0x88, 0x82], "our close echoes the status code")
        #expect(server.state == .closed)

        var ours = session()
        ours.close(code: 1000)
        #expect(ours.state == .closing && ours.takeOutgoing().count == 8)
        #expect(ours.receive([0x81, 0x01, 0x41]) == [], "data after our close is discarded")
        #expect(ours.receive([0x88, 0x02, 0x03, 0xE8]) == [.closed(code: 1000, reason: "")])
        #expect(!ours.hasOutgoing, "no second close frame")
    }

    @Test(arguments: [
        ([0x91, 0x00] as [UInt8], 1002 as UInt16, "reserved bits set without a negotiated extension"),
        ([0x83, 0x00], 1002, "unknown opcode 3"),
        ([0x81, 0x81, 1, 2, 3, 4, 0x41], 1002, "the server masked a frame"),
        ([0x09, 0x00], 1002, "a control frame is fragmented or longer than 125 bytes"),
        ([0x89, 126, 0, 126] + Array(repeating: 0, count: 126), 1002, "a control frame is fragmented or longer than 125 bytes"),
        ([0x80, 0x01, 0x41], 1002, "a continuation frame without a message"),
        ([0x01, 0x01, 0x41, 0x81, 0x01, 0x41], 1002, "a new message started inside a fragmented one"),
        ([0x81, 0x02, 0xC3, 0x28], 1007, "a text message is not valid UTF-8"),
        ([0x88, 0x01, 0x03], 1002, "a close frame with a one-byte body"),
        ([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1], 1002, "a payload length has its top bit set"),
        ([0x81, 126, 0x04, 0x01], 1009, "a message is larger than 1024 bytes"),
    ])
    func protocolViolationsFailTheConnection(bytes: [UInt8], code: UInt16, reason: String) {
        var client = session(maximum: 1024)
        #expect(client.receive(bytes) == [.closed(code: code, reason: reason)])
        #expect(client.state == .closed)
        let close = client.takeOutgoing()
        #expect(close.count >= 8 && close[0] == 0x88, "the server is told why")
        #expect(client.receive([0x81, 0x01, 0x41]) == [], "nothing is read after failing")
    }

    @Test func theHandshakeIsCheckedAsTheRFCRequires() throws {
        // §1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" is answered with "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        let handshake = WebSocketHandshake(host: "meet.example", port: 443, secure: true, resource: "/xmpp-websocket?room=klasse-4b",
                                           subprotocol: "xmpp", key: "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(handshake.expectedAccept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let request = String(decoding: handshake.request, as: UTF8.self)
        #expect(request.hasPrefix("GET /xmpp-websocket?room=klasse-4b HTTP/1.1\r\nHost: meet.example\r\n"))
        #expect(request.contains("Sec-WebSocket-Protocol: xmpp\r\n") && request.hasSuffix("\r\n\r\n"))
        let good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
        let bytes = Array(good.utf8) + [0x81, 0x00]
        #expect(try handshake.readResponse(Array(bytes.prefix(40))) == .needMoreBytes)
        #expect(try handshake.readResponse(bytes) == .upgraded(consumed: good.utf8.count))
        let refusals = [
            ("HTTP/1.1 404 Not Found\r\n\r\n", "the server answered HTTP 404 Not Found instead of switching to WebSocket: check websocket_url"),
            (good.replacingOccurrences(of: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", with: "AAAA"), "the server's Sec-WebSocket-Accept does not match our key"),
            (good.replacingOccurrences(of: "Sec-WebSocket-Protocol: xmpp\r\n", with: ""),
             "the server did not agree to the \"xmpp\" subprotocol (RFC 7395 requires it)"),
            (good.replacingOccurrences(of: "Upgrade: WebSocket\r\n", with: ""), "the server's 101 response lacks Upgrade: websocket"),
        ]
        for (response, reason) in refusals {
            #expect(throws: WebSocketError(reason)) { try handshake.readResponse(Array(response.utf8)) }
        }
    }

    @Test func base64MatchesRFC4648() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        for bad in ["Zg=", "Zm9v!A==", "Z=g=", "Zg==Zg=="] { #expect(Base64.decode(bad) == nil, "\(bad)") }
        #expect(Base64.decode("=") == [], "SASL's empty response")
    }
}
