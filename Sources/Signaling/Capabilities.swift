import Crypto
import Wire
import XML

/// What the box tells Jicofo it can do (XEP-0030 disco#info, XEP-0115 caps). Jicofo builds
/// its offer from these features (jicofo `OfferOptionsUtil`): only what the box really
/// implements is listed: transport-cc (the box sends feedback on what it receives, which the
/// Videobridge's estimator for the box's downlink needs), no REMB, no RED. The SCTP data channel carries the
/// bridge channel; Jicofo keeps its `data` content in the offer only for clients that also
/// take JSON-encoded sources (jicofo `JingleSession` drops it otherwise), which the box reads.
public struct Capabilities: Sendable, Equatable {
    public var identity: (category: String, type: String, name: String)
    public var features: [String]
    /// The caps node, a URI naming the software (XEP-0115 §4).
    public var node: String

    public static func == (a: Capabilities, b: Capabilities) -> Bool {
        a.identity == b.identity && a.features == b.features && a.node == b.node
    }

    public static let classbox = Capabilities(
        identity: ("client", "pc", "Classbox"),
        features: [
            Namespace.discoInfo,
            Namespace.ping,
            Namespace.jingle,
            Namespace.jingleRTP,
            Namespace.jingleICEUDP,
            Namespace.jingleDTLS,
            Namespace.jingleSCTP,
            Namespace.jingleAudio,
            Namespace.jingleVideo,
            "urn:ietf:rfc:4588",  // RTX: the box answers NACKs with retransmissions
            "urn:ietf:rfc:5761",  // rtcp-mux
            "urn:ietf:rfc:5888",  // BUNDLE grouping
            "http://jitsi.org/tcc",  // Jicofo then offers the transport-cc extension and rtcp-fb
            "http://jitsi.org/source-name",
            "http://jitsi.org/json-encoded-sources",
        ],
        node: "https://classbox.invalid/firmware")

    /// XEP-0115 §5.1 verification string: `category/type/lang/name<` then `feature<`, SHA-1, base64.
    public var ver: String {
        var text = "\(identity.category)/\(identity.type)//\(identity.name)<"
        for feature in features.sorted() { text += feature + "<" }
        return Base64.encode(Array(text.utf8).withUnsafeBytes { Digest.sha1($0) })
    }

    /// The `<c/>` element for presence.
    public var capsElement: XMLElement {
        XMLElement("c", namespace: Namespace.caps, attributes: ["hash": "sha-1", "node": node, "ver": ver])
    }

    public func has(_ feature: String) -> Bool { features.contains(feature) }

    /// The answer to a disco#info request (the `node` attribute echoed, XEP-0115 §6.2).
    public func discoResult(to request: XMLElement) -> XMLElement {
        var query = XMLElement("query", namespace: Namespace.discoInfo)
        if let node = request.element("query", namespace: Namespace.discoInfo)?["node"] { query["node"] = node }
        query.append(XMLElement("identity", namespace: Namespace.discoInfo, attributes: [
            "category": identity.category, "type": identity.type, "name": identity.name,
        ]))
        for feature in features { query.append(XMLElement("feature", namespace: Namespace.discoInfo, attributes: ["var": feature])) }
        return XMPPStream.result(to: request, children: [query])
    }
}
