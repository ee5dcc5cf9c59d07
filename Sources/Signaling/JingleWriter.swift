import ICE
import Session
import XML

/// Builds the Jingle the box sends: `session-accept` as Jicofo reads it (jicofo
/// `Participant.onSessionAccept`; the shape lib-jitsi-meet's `SDP.toJingle` produces),
/// `session-terminate`, and the refusal of a browser's P2P offer.
public enum JingleWriter {
    /// Our answer to `offer`: for each audio/video content we take part in, the codecs,
    /// header extensions and our sources (every SSRC we will send, with msid, so the bridge
    /// routes it); one ICE-UDP transport with our credentials, candidates and fingerprint.
    /// An offered `data` content is accepted as lib-jitsi-meet accepts it: the same transport
    /// with an `sctpmap` for the WebRTC data channel (XEP-0343), bundled with the media.
    public static func sessionAccept(offer: JingleOffer, local: MediaSession, responder: JID) -> XMLElement {
        var jingle = XMLElement("jingle", namespace: Namespace.jingle, attributes: [
            "action": "session-accept", "sid": offer.sid,
        ])
        if let initiator = offer.initiator { jingle["initiator"] = initiator }
        jingle["responder"] = responder.description
        let accepted = local.media.map(\.mid) + [offer.dataContent?.name].compactMap { $0 }
        jingle.append(XMLElement("group", namespace: Namespace.jingleGrouping, attributes: ["semantics": "BUNDLE"],
                                 children: accepted.map { XMLElement("content", namespace: Namespace.jingleGrouping, attributes: ["name": $0]) }))
        for media in local.media {
            jingle.append(XMLElement("content", namespace: Namespace.jingle, attributes: ["creator": "initiator", "name": media.mid, "senders": "both"],
                                     children: [description(media), transport(local)]))
        }
        if let data = offer.dataContent {
            // Port 5000 on both sides is what every WebRTC stack uses (RFC 8841 default).
            let sctpmap = XMLElement("sctpmap", namespace: Namespace.jingleSCTP, attributes: [
                "number": "\(data.sctpPort ?? 5000)", "protocol": "webrtc-datachannel", "streams": "0",
            ])
            jingle.append(XMLElement("content", namespace: Namespace.jingle, attributes: ["creator": "initiator", "name": data.name],
                                     children: [transport(local).appending([sctpmap])]))
        }
        return jingle
    }

    static func description(_ media: MediaDescription) -> XMLElement {
        var description = XMLElement("description", namespace: Namespace.jingleRTP, attributes: ["media": media.kind.rawValue])
        for codec in media.codecs {
            var payload = XMLElement("payload-type", namespace: Namespace.jingleRTP, attributes: [
                "id": "\(codec.payloadType)", "name": codec.name, "clockrate": "\(codec.clockRate)",
            ])
            if let channels = codec.channels { payload["channels"] = "\(channels)" }
            for (name, value) in codec.parameters.sorted(by: { $0.key < $1.key }) {
                payload.append(XMLElement("parameter", namespace: Namespace.jingleRTP, attributes: ["name": name, "value": value]))
            }
            for feedback in codec.feedback {
                let parts = feedback.split(separator: " ", maxSplits: 1).map(String.init)
                var element = XMLElement("rtcp-fb", namespace: Namespace.jingleRTCPFeedback, attributes: ["type": parts[0]])
                if parts.count > 1 { element["subtype"] = parts[1] }
                payload.append(element)
            }
            description.append(payload)
        }
        for (id, uri) in media.extensions.sorted(by: { $0.key < $1.key }) {
            description.append(XMLElement("rtp-hdrext", namespace: Namespace.jingleHeaderExtensions, attributes: ["id": "\(id)", "uri": uri]))
        }
        description.append(XMLElement("rtcp-mux", namespace: Namespace.jingleRTP))
        description = description.appending(sourceElements(media.sources, groups: media.sourceGroups.map { SourceGroup(semantics: $0.semantics, ssrcs: $0.ssrcs) }))
        return description
    }

    /// `<source>` (with msid) and `<ssrc-group>` elements in the SSMA namespace, as
    /// lib-jitsi-meet writes them.
    public static func sourceElements(_ sources: [MediaSource], groups: [SourceGroup]) -> [XMLElement] {
        var elements: [XMLElement] = []
        for source in sources {
            var element = XMLElement("source", namespace: Namespace.jingleSSMA, attributes: ["ssrc": "\(source.ssrc)"])
            if let name = source.name { element["name"] = name }
            if let videoType = source.videoType { element["videoType"] = videoType }
            if let msid = source.msid {
                element.append(XMLElement("parameter", namespace: Namespace.jingleSSMA, attributes: ["name": "msid", "value": msid]))
            }
            elements.append(element)
        }
        for group in groups {
            elements.append(XMLElement("ssrc-group", namespace: Namespace.jingleSSMA, attributes: ["semantics": group.semantics],
                                       children: group.ssrcs.map { XMLElement("source", namespace: Namespace.jingleSSMA, attributes: ["ssrc": "\($0)"]) }))
        }
        return elements
    }

    /// Our candidates go in the accept itself: Jicofo prefers no trickle (jitsi-protocol.md
    /// §7.3), and a bridge that finds us peer-reflexively anyway ignores them.
    static func transport(_ local: MediaSession) -> XMLElement {
        var transport = XMLElement("transport", namespace: Namespace.jingleICEUDP, attributes: [
            "ufrag": local.ice.ufrag, "pwd": local.ice.password,
        ])
        transport.append(XMLElement("fingerprint", namespace: Namespace.jingleDTLS, attributes: [
            "hash": local.fingerprint.algorithm, "setup": local.setup.rawValue,
        ], text: local.fingerprint.hex))
        for (index, candidate) in local.candidates.enumerated() {
            var element = XMLElement("candidate", namespace: Namespace.jingleICEUDP, attributes: [
                "component": "\(candidate.component)", "foundation": candidate.foundation, "generation": "0", "id": "c\(index)",
                "ip": candidate.address.host, "network": "0", "port": "\(candidate.address.port)", "priority": "\(candidate.priority)",
                "protocol": "udp", "type": candidate.kind.rawValue,
            ])
            if let related = candidate.relatedAddress {
                element["rel-addr"] = related.host
                element["rel-port"] = "\(related.port)"
            }
            transport.append(element)
        }
        return transport
    }

    /// Ends a session (XEP-0166 §6.7). With `restartBridgeSession`, asks Jicofo for a new
    /// session after an ICE failure (jitsi-protocol.md §7.5).
    public static func sessionTerminate(sid: String, reason: String, text: String? = nil, restartBridgeSession: String? = nil) -> XMLElement {
        var reasonElement = XMLElement("reason", namespace: Namespace.jingle, children: [XMLElement(reason, namespace: Namespace.jingle)])
        if let text { reasonElement.append(XMLElement("text", namespace: Namespace.jingle, text: text)) }
        var jingle = XMLElement("jingle", namespace: Namespace.jingle, attributes: ["action": "session-terminate", "sid": sid],
                                children: [reasonElement])
        if let restartBridgeSession {
            jingle.append(XMLElement("bridge-session", namespace: Namespace.jitsiFocus, attributes: ["id": restartBridgeSession, "restart": "true"]))
        }
        return jingle
    }

    /// A Jingle IQ set to `to`.
    public static func iq(_ jingle: XMLElement, to: JID) -> XMLElement {
        XMLElement("iq", namespace: Namespace.client, attributes: ["to": to.description, "type": "set"], children: [jingle])
    }
}
