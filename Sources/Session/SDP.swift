import ICE
import Wire

/// The subset of SDP (RFC 8866, with RFC 8829 JSEP conventions) that WebRTC peers exchange:
/// BUNDLEd audio and video over one ICE/DTLS transport with rtcp-mux.
public enum SDP {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missing(String)
        case invalid(line: Int, text: String)

        public var description: String {
            switch self {
            case .missing(let what): return "SDP has no \(what)"
            case .invalid(let line, let text): return "SDP line \(line) cannot be read: \(text)"
            }
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> MediaSession {
        var session = (ufrag: String?.none, password: String?.none, fingerprint: CertificateFingerprint?.none, setup: DTLSSetup?.none)
        var candidates: [ICECandidate] = []
        var media: [MediaDescription] = []
        var iceLite = false
        var current: MediaDescription?
        var rtpmaps: [UInt8: Codec] = [:]
        var order: [UInt8] = []
        /// The first m-line not rejected (port 0, RFC 3264 §6): with BUNDLE its transport is the one.
        var transportSection: Int?

        func finishMedia() {
            guard var description = current else { return }
            // A format with fmtp or rtcp-fb lines but no rtpmap is no codec the box can use.
            description.codecs = order.compactMap { rtpmaps[$0] }.filter { !$0.name.isEmpty }
            media.append(description)
            current = nil
        }

        for (index, rawLine) in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).enumerated() {
            let line = String(rawLine)
            if line.hasPrefix("m=") {
                finishMedia()
                let fields = line.dropFirst(2).split(separator: " ")
                guard fields.count >= 4 else { throw .invalid(line: index + 1, text: line) }
                let kind = MediaKind(rawValue: String(fields[0]))
                order = fields.dropFirst(3).compactMap { UInt8($0) }
                rtpmaps = [:]
                if transportSection == nil, fields[1] != "0" { transportSection = media.count }
                current = kind.map { MediaDescription(kind: $0, mid: "\(media.count)", direction: .sendrecv, codecs: [], rtcpMux: false) }
                if kind == nil { current = nil }
                continue
            }
            guard line.hasPrefix("a=") else { continue }
            let attribute = line.dropFirst(2)
            let (name, value) = attribute.firstIndex(of: ":").map { (String(attribute[..<$0]), String(attribute[attribute.index(after: $0)...])) }
                ?? (String(attribute), "")
            switch name {
            case "ice-ufrag": session.ufrag = value
            case "ice-pwd": session.password = value
            case "ice-lite": iceLite = true
            case "fingerprint":
                let parts = value.split(separator: " ")
                guard parts.count == 2, let fingerprint = CertificateFingerprint(algorithm: String(parts[0]), hex: String(parts[1])) else {
                    throw .invalid(line: index + 1, text: line)
                }
                session.fingerprint = session.fingerprint ?? fingerprint
            case "setup":
                guard let setup = DTLSSetup(rawValue: value) else { throw .invalid(line: index + 1, text: line) }
                session.setup = session.setup ?? setup
            case "candidate":
                // With BUNDLE all media share the first accepted section's transport: its
                // candidates (or the session level's) are the ones.
                guard transportSection.map({ $0 == media.count }) ?? media.isEmpty else { continue }
                if let candidate = ICECandidate(sdp: value), !candidates.contains(candidate) { candidates.append(candidate) }
            default:
                guard current != nil else { continue }
                try parseMediaAttribute(name, value, into: &current!, rtpmaps: &rtpmaps, line: index + 1, text: line)
            }
        }
        finishMedia()
        guard let ufrag = session.ufrag, let password = session.password else { throw .missing("ICE credentials") }
        guard let fingerprint = session.fingerprint else { throw .missing("DTLS fingerprint") }
        guard !media.isEmpty else { throw .missing("media section") }
        var parsed = MediaSession(ice: ICECredentials(ufrag: ufrag, password: password), candidates: candidates,
                                  fingerprint: fingerprint, setup: session.setup ?? .actpass, media: media)
        parsed.iceLite = iceLite
        return parsed
    }

    static func parseMediaAttribute(_ name: String, _ value: String, into media: inout MediaDescription,
                                    rtpmaps: inout [UInt8: Codec], line: Int, text: String) throws(ParseError) {
        switch name {
        case "mid": media.mid = value
        case "sendrecv", "sendonly", "recvonly", "inactive": media.direction = MediaDirection(rawValue: name)!
        case "rtcp-mux": media.rtcpMux = true
        case "rtpmap":
            // 111 opus/48000/2
            let parts = value.split(separator: " ", maxSplits: 1)
            let encoding = parts.count == 2 ? parts[1].split(separator: "/") : []
            guard parts.count == 2, let payloadType = UInt8(parts[0]), encoding.count >= 2, let rate = UInt32(encoding[1]) else {
                throw .invalid(line: line, text: text)
            }
            rtpmaps[payloadType] = Codec(payloadType: payloadType, name: String(encoding[0]), clockRate: rate,
                                         channels: encoding.count > 2 ? Int(encoding[2]) : nil,
                                         parameters: rtpmaps[payloadType]?.parameters ?? [:], feedback: rtpmaps[payloadType]?.feedback ?? [])
        case "fmtp":
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let payloadType = UInt8(parts[0]) else { throw .invalid(line: line, text: text) }
            var codec = rtpmaps[payloadType] ?? Codec(payloadType: payloadType, name: "", clockRate: 0)
            for pair in parts[1].split(separator: ";") {
                let keyValue = pair.split(separator: "=", maxSplits: 1)
                guard let key = keyValue.first else { continue }
                codec.parameters[key.trimmingSpaces] = keyValue.count > 1 ? keyValue[1].trimmingSpaces : ""
            }
            rtpmaps[payloadType] = codec
        case "rtcp-fb":
            let parts = value.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw .invalid(line: line, text: text) }
            let targets = parts[0] == "*" ? Array(rtpmaps.keys) : [UInt8(parts[0])].compactMap { $0 }
            for payloadType in targets {
                var codec = rtpmaps[payloadType] ?? Codec(payloadType: payloadType, name: "", clockRate: 0)
                codec.feedback.append(String(parts[1]))
                rtpmaps[payloadType] = codec
            }
        case "extmap":
            let parts = value.split(separator: " ")
            // RFC 8285 §5: ids 1–255 (1–14 in one-byte headers).
            guard parts.count >= 2, let id = parts[0].split(separator: "/").first.flatMap({ Int($0) }), (1...255).contains(id) else {
                throw .invalid(line: line, text: text)
            }
            media.extensions[id] = String(parts[1])
        case "ssrc":
            // 1234 cname:abc | 1234 msid:stream track
            let parts = value.split(separator: " ", maxSplits: 1)
            guard let ssrc = parts.first.flatMap({ UInt32($0) }) else { throw .invalid(line: line, text: text) }
            var source = media.sources.first { $0.ssrc == ssrc } ?? MediaSource(ssrc: ssrc)
            if parts.count == 2 {
                if parts[1].hasPrefix("cname:") { source.cname = String(parts[1].dropFirst(6)) }
                if parts[1].hasPrefix("msid:") { source.msid = String(parts[1].dropFirst(5)) }
            }
            media.sources.removeAll { $0.ssrc == ssrc }
            media.sources.append(source)
        case "ssrc-group":
            let parts = value.split(separator: " ")
            guard let semantics = parts.first else { throw .invalid(line: line, text: text) }
            media.sourceGroups.append((String(semantics), parts.dropFirst().compactMap { UInt32($0) }))
        default:
            break
        }
    }

    /// Writes a session description: BUNDLE over all media, rtcp-mux, candidates on the first
    /// m-line of the group. A medium without a codec is rejected (RFC 3264 §6: port 0, still
    /// one format) and left out of the group (RFC 8843 §7.3.3).
    public static func write(_ session: MediaSession, sessionID: UInt64 = 1) -> String {
        let bundled = session.media.filter { !$0.codecs.isEmpty }
        var lines = ["v=0", "o=- \(sessionID) 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
                     "a=group:BUNDLE " + bundled.map(\.mid).joined(separator: " "), "a=msid-semantic: WMS classbox"]
        if session.iceLite { lines.append("a=ice-lite") }
        let transportIndex = session.media.firstIndex { !$0.codecs.isEmpty } ?? 0
        for (index, media) in session.media.enumerated() {
            lines.append(media.codecs.isEmpty ? "m=\(media.kind.rawValue) 0 UDP/TLS/RTP/SAVPF 0"
                : "m=\(media.kind.rawValue) 9 UDP/TLS/RTP/SAVPF " + media.codecs.map { "\($0.payloadType)" }.joined(separator: " "))
            lines += ["c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:\(session.ice.ufrag)", "a=ice-pwd:\(session.ice.password)",
                      "a=fingerprint:\(session.fingerprint.algorithm) \(session.fingerprint.hex)", "a=setup:\(session.setup.rawValue)",
                      "a=mid:\(media.mid)"]
            lines += media.extensions.sorted { $0.key < $1.key }.map { "a=extmap:\($0.key) \($0.value)" }
            lines.append("a=\(media.direction.rawValue)")
            if media.rtcpMux { lines.append("a=rtcp-mux") }
            for codec in media.codecs {
                lines.append("a=rtpmap:\(codec.payloadType) \(codec.name)/\(codec.clockRate)" + (codec.channels.map { "/\($0)" } ?? ""))
                if !codec.parameters.isEmpty {
                    let parameters = codec.parameters.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }
                    lines.append("a=fmtp:\(codec.payloadType) " + parameters.joined(separator: ";"))
                }
                lines += codec.feedback.map { "a=rtcp-fb:\(codec.payloadType) \($0)" }
            }
            for group in media.sourceGroups { lines.append("a=ssrc-group:\(group.semantics) " + group.ssrcs.map(String.init).joined(separator: " ")) }
            for source in media.sources {
                if let cname = source.cname { lines.append("a=ssrc:\(source.ssrc) cname:\(cname)") }
                if let msid = source.msid { lines.append("a=ssrc:\(source.ssrc) msid:\(msid)") }
            }
            if index == transportIndex {
                lines += session.candidates.map { "a=candidate:" + $0.sdpValue }
                lines.append("a=end-of-candidates")
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
