import Crypto
import Wire

/// Why a WebSocket could not be opened or was closed abnormally, in words for the log.
public struct WebSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The opening handshake of a WebSocket client (RFC 6455 §4.1), without I/O.
public struct WebSocketHandshake: Sendable {
    public let host: String
    public let port: Int
    public let secure: Bool
    /// Path and query, e.g. `/xmpp-websocket?room=klasse-4b`.
    public let resource: String
    public let subprotocol: String
    /// Base64 of 16 random bytes (§4.1, item 7).
    public let key: String

    public init(host: String, port: Int, secure: Bool, resource: String, subprotocol: String, key: String = Base64.encode(Digest.randomBytes(16))) {
        self.host = host
        self.port = port
        self.secure = secure
        self.resource = resource
        self.subprotocol = subprotocol
        self.key = key
    }

    /// The HTTP/1.1 upgrade request.
    public var request: [UInt8] {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let defaultPort = secure ? 443 : 80
        let hostHeader = port == defaultPort ? hostPart : "\(hostPart):\(port)"
        let lines = [
            "GET \(resource) HTTP/1.1",
            "Host: \(hostHeader)",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: \(key)",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: \(subprotocol)",
            "User-Agent: classbox",
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// What the server must answer in Sec-WebSocket-Accept (§4.2.2, item 5.4).
    public var expectedAccept: String {
        Base64.encode(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8).withUnsafeBytes { Digest.sha1($0) })
    }

    public enum Progress: Equatable {
        /// The response header is not complete yet.
        case needMoreBytes
        /// The socket is a WebSocket; `consumed` bytes were the HTTP response, the rest are frames.
        case upgraded(consumed: Int)
    }

    /// Reads the server's response (§4.2.2, §4.1 "the client MUST validate").
    public func readResponse(_ bytes: [UInt8]) throws(WebSocketError) -> Progress {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual(terminator) }) else {
            if bytes.count > 16384 { throw WebSocketError("the server's HTTP response header is larger than 16 KiB") }
            return .needMoreBytes
        }
        guard let header = String(validating: bytes[0..<end], as: UTF8.self) else { throw WebSocketError("the server's HTTP response is not text") }
        var lines = header.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let status = lines.removeFirst()
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else {
            throw WebSocketError("the server did not answer HTTP (\"\(status.prefix(60))\")")
        }
        guard code == 101 else {
            let reason = parts.count > 2 ? " \(parts[2])" : ""
            throw WebSocketError("the server answered HTTP \(code)\(reason) instead of switching to WebSocket: check websocket_url")
        }
        var fields: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw WebSocketError("malformed HTTP header line \"\(line.prefix(60))\"") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            fields[name] = fields[name].map { $0 + ", " + value } ?? value
        }
        guard fields["upgrade"]?.lowercased() == "websocket" else { throw WebSocketError("the server's 101 response lacks Upgrade: websocket") }
        guard fields["connection"]?.lowercased().split(separator: ",").contains(where: { $0.trimmingSpaces == "upgrade" }) == true else {
            throw WebSocketError("the server's 101 response lacks Connection: Upgrade")
        }
        guard fields["sec-websocket-accept"] == expectedAccept else { throw WebSocketError("the server's Sec-WebSocket-Accept does not match our key") }
        guard fields["sec-websocket-extensions"] == nil else { throw WebSocketError("the server chose an extension we did not offer") }
        guard fields["sec-websocket-protocol"] == subprotocol else {
            throw WebSocketError("the server did not agree to the \"\(subprotocol)\" subprotocol (RFC 7395 requires it)")
        }
        return .upgraded(consumed: end + 4)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
