import ICE
import Session
import Wire
import XML

/// Reads Jingle IQs into ``JingleAction``s, order-independently and tolerant of what Jitsi
/// varies between versions (element order, `parameter` namespaces, unknown children,
/// several `web-socket` elements) — see ../shared/research/jitsi-protocol.md §6.
public enum JingleReader {
    public static func read(_ iq: XMLElement) throws(JingleError) -> JingleAction {
        guard let jingle = iq.element("jingle", namespace: Namespace.jingle), let header = JingleHeader(iq) else {
            throw JingleError("not a Jingle request")
        }
        switch header.action {
        case "session-initiate":
            return .sessionInitiate(try offer(jingle, header: header))
        case "source-add", "addsource":
            return .sourceAdd(try sourceUpdates(jingle) + jsonSources(jingle))
        case "source-remove", "removesource":
            return .sourceRemove(try sourceUpdates(jingle) + jsonSources(jingle))
        case "transport-info":
            let transport = jingle.elements("content").compactMap { $0.element("transport", namespace: Namespace.jingleICEUDP) }.first
            guard let transport else { throw JingleError("transport-info without an ICE-UDP transport") }
            return .transportInfo(credentials: credentials(transport), candidates: candidates(transport))
        case "session-terminate":
            let reason = jingle.element("reason")
            let condition = reason?.elements.first { $0.name != "text" && $0.name != "bridge-session" }?.name ?? "success"
            return .sessionTerminate(reason: condition, text: reason?.element("text")?.text)
        default:
            return .other(header.action)
        }
    }

    static func offer(_ jingle: XMLElement, header: JingleHeader) throws(JingleError) -> JingleOffer {
        var media: [MediaDescription] = []
        var names: [String] = []
        var data: (String, Int?)?
        var transport: XMLElement?
        for content in jingle.elements("content") {
            guard let name = content["name"] else { throw JingleError("a content without a name") }
            names.append(name)
            let contentTransport = content.element("transport", namespace: Namespace.jingleICEUDP)
            if transport == nil { transport = contentTransport }  // BUNDLE: Jicofo repeats one transport in every content
            let description = content.element("description", namespace: Namespace.jingleRTP)
            switch description?["media"] {
            case "audio": media.append(try mediaDescription(description!, kind: .audio, mid: name, senders: content["senders"]))
            case "video": media.append(try mediaDescription(description!, kind: .video, mid: name, senders: content["senders"]))
            default:
                let sctp = contentTransport?.element("sctpmap", namespace: Namespace.jingleSCTP)
                data = (name, sctp?["number"].flatMap { Int($0) })
            }
        }
        for update in try jsonSources(jingle) {
            guard let index = media.firstIndex(where: { $0.kind == update.kind }) else { continue }
            media[index].sources += update.sources
            media[index].sourceGroups += update.groups.map { ($0.semantics, $0.ssrcs) }
        }
        guard let transport else { throw JingleError("session-initiate without an ICE-UDP transport") }
        guard let ice = credentials(transport) else { throw JingleError("the transport has no ICE ufrag and pwd") }
        guard let fingerprintElement = transport.element("fingerprint", namespace: Namespace.jingleDTLS),
              let algorithm = fingerprintElement["hash"],
              let fingerprint = CertificateFingerprint(algorithm: algorithm, hex: fingerprintElement.text.filter { !$0.isWhitespace }) else {
            throw JingleError("the transport has no usable DTLS fingerprint")
        }
        let setup = fingerprintElement["setup"].flatMap(DTLSSetup.init) ?? .actpass
        let session = MediaSession(ice: ice, candidates: candidates(transport), fingerprint: fingerprint, setup: setup, media: media)
        let bridge = jingle.element("bridge-session", namespace: Namespace.jitsiFocus)
        let startMuted = jingle.element("startmuted", namespace: Namespace.jitsiStartMuted)
        let sockets = transport.elements("web-socket", namespace: Namespace.jitsiColibri).compactMap { $0["url"] }
        return JingleOffer(sid: header.sid, initiator: header.initiator, session: session, contentNames: names,
                           dataContent: data, bridgeSessionID: bridge?["id"], bridgeRegion: bridge?["region"], webSocketURLs: sockets,
                           startAudioMuted: startMuted?["audio"] == "true", startVideoMuted: startMuted?["video"] == "true")
    }

    static func credentials(_ transport: XMLElement) -> ICECredentials? {
        // RFC 8445 §5.3: at most 256 characters each (a longer one could not go into a STUN attribute).
        guard let ufrag = transport["ufrag"], let pwd = transport["pwd"], !ufrag.isEmpty, !pwd.isEmpty,
              ufrag.utf8.count <= 256, pwd.utf8.count <= 256 else { return nil }
        return ICECredentials(ufrag: ufrag, password: pwd)
    }

    /// UDP candidates with literal addresses; TCP and hostname (mDNS) candidates are skipped,
    /// as the bridge skips them (`resolve-remote-candidates = false`).
    static func candidates(_ transport: XMLElement) -> [ICECandidate] {
        transport.elements("candidate").compactMap { element in
            guard (element["protocol"] ?? "udp").lowercased() == "udp", let ip = element["ip"], let port = element["port"].flatMap({ UInt16($0) }),
                  let address = SocketAddress(host: ip, port: port), let priority = element["priority"].flatMap({ UInt32($0) }),
                  let kind = ICECandidate.Kind(rawValue: element["type"] ?? "host") else { return nil }
            var candidate = ICECandidate(foundation: element["foundation"] ?? "0", component: element["component"].flatMap { Int($0) } ?? 1,
                                         priority: priority, address: address, kind: kind)
            if let relatedIP = element["rel-addr"], let relatedPort = element["rel-port"].flatMap({ UInt16($0) }) {
                candidate.relatedAddress = SocketAddress(host: relatedIP, port: relatedPort)
            }
            return candidate.component == 1 ? candidate : nil
        }
    }

    static func direction(senders: String?) -> MediaDirection {
        // XEP-0167 `senders` is from the initiator's point of view; we are the responder.
        switch senders {
        case "initiator": return .recvonly
        case "responder": return .sendonly
        case "none": return .inactive
        default: return .sendrecv
        }
    }

    static func mediaDescription(_ description: XMLElement, kind: MediaKind, mid: String, senders: String?) throws(JingleError) -> MediaDescription {
        let shared = description.elements("rtcp-fb", namespace: Namespace.jingleRTCPFeedback).map(feedback)
        var codecs: [Codec] = []
        for payload in description.elements("payload-type") {
            guard let id = payload["id"].flatMap({ UInt8($0) }), id < 128 else { throw JingleError("a payload-type without a valid id") }
            var parameters: [String: String] = [:]
            for parameter in payload.elements("parameter") { if let name = parameter["name"] { parameters[name] = parameter["value"] ?? "" } }
            codecs.append(Codec(payloadType: id, name: payload["name"] ?? "", clockRate: payload["clockrate"].flatMap { UInt32($0) } ?? 90000,
                                channels: payload["channels"].flatMap { Int($0) }, parameters: parameters,
                                feedback: payload.elements("rtcp-fb", namespace: Namespace.jingleRTCPFeedback).map(feedback) + shared))
        }
        var extensions: [Int: String] = [:]
        for ext in description.elements("rtp-hdrext") {
            guard let id = ext["id"].flatMap({ Int($0) }), (1...255).contains(id), let uri = ext["uri"] else { continue }
            extensions[id] = uri
        }
        let (sources, groups) = try sourcesAndGroups(description)
        return MediaDescription(kind: kind, mid: mid, direction: direction(senders: senders), codecs: codecs, extensions: extensions,
                                sources: sources, sourceGroups: groups.map { ($0.semantics, $0.ssrcs) },
                                rtcpMux: true)  // Jitsi always muxes (Jicofo adds rtcp-mux itself)
    }

    static func feedback(_ element: XMLElement) -> String {
        [element["type"], element["subtype"]].compactMap { $0 }.joined(separator: " ")
    }

    static func sourcesAndGroups(_ description: XMLElement) throws(JingleError) -> ([MediaSource], [SourceGroup]) {
        var sources: [MediaSource] = []
        for element in description.elements("source", namespace: Namespace.jingleSSMA) {
            guard let ssrc = element["ssrc"].flatMap({ UInt32($0) }) else { throw JingleError("a source without a valid ssrc") }
            var source = MediaSource(ssrc: ssrc, name: element["name"], videoType: element["videoType"])
            for parameter in element.elements("parameter") {  // RTP or SSMA namespace, whichever the sender used
                switch parameter["name"] {
                case "msid": source.msid = parameter["value"]
                case "cname": source.cname = parameter["value"]
                default: break
                }
            }
            source.owner = element.element("ssrc-info", namespace: Namespace.jitsiMeet)?["owner"]
            sources.append(source)
        }
        var groups: [SourceGroup] = []
        for element in description.elements("ssrc-group", namespace: Namespace.jingleSSMA) {
            let ssrcs = element.elements("source").compactMap { $0["ssrc"].flatMap { UInt32($0) } }
            guard let semantics = element["semantics"], ssrcs.count == element.elements("source").count, !ssrcs.isEmpty else {
                throw JingleError("a malformed ssrc-group")
            }
            groups.append(SourceGroup(semantics: semantics, ssrcs: ssrcs))
        }
        return (sources, groups)
    }

    static func sourceUpdates(_ jingle: XMLElement) throws(JingleError) -> [SourceUpdate] {
        var updates: [SourceUpdate] = []
        for content in jingle.elements("content") {
            guard let description = content.element("description", namespace: Namespace.jingleRTP) else { continue }
            let kind: MediaKind
            switch description["media"] ?? content["name"] {
            case "audio": kind = .audio
            case "video": kind = .video
            default: continue
            }
            let (sources, groups) = try sourcesAndGroups(description)
            updates.append(SourceUpdate(kind: kind, sources: sources, groups: groups))
        }
        return updates
    }
}
