import XML

/// A STUN or TURN server the deployment names in its XEP-0215 answer (`urn:xmpp:extdisco:2`,
/// Prosody's mod_external_services as Jitsi configures it), with the short-lived credentials
/// Prosody computes for it (draft-uberti-behave-turn-rest: the user name is the expiry time,
/// the password an HMAC of it under the secret coturn shares). lib-jitsi-meet asks the same
/// question after every sign-in (`strophe.jingle.js getStunAndTurnCredentials`).
public struct ExternalService: Sendable, Equatable, CustomStringConvertible {
    /// "stun", "turn" or "turns".
    public var type: String
    /// "udp" or "tcp"; nil when the answer does not say.
    public var transport: String?
    public var host: String
    public var port: Int?
    public var username: String?
    public var password: String?
    /// XEP-0082 time, as the server wrote it.
    public var expires: String?

    public init(type: String, transport: String? = nil, host: String, port: Int? = nil, username: String? = nil, password: String? = nil,
                expires: String? = nil) {
        self.type = type
        self.transport = transport
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.expires = expires
    }

    /// The request: every service of the domain.
    public static func request(to domain: String) -> XMLElement {
        XMLElement("iq", namespace: Namespace.client, attributes: ["type": "get", "to": domain],
                   children: [XMLElement("services", namespace: Namespace.externalServices)])
    }

    /// The services of a result; an error or anything else gives none. Entries without a type
    /// or host, or with a port that is not one, are left out.
    public static func services(in stanza: XMLElement?) -> [ExternalService] {
        guard let stanza, stanza["type"] == "result", let services = stanza.element("services", namespace: Namespace.externalServices) else { return [] }
        return services.elements("service").compactMap { element in
            guard let type = element["type"], !type.isEmpty, let host = element["host"], !host.isEmpty else { return nil }
            var port: Int?
            if let text = element["port"] {
                guard let value = Int(text), (1...65535).contains(value) else { return nil }
                port = value
            }
            return ExternalService(type: type, transport: element["transport"], host: host, port: port,
                                   username: element["username"], password: element["password"], expires: element["expires"])
        }
    }

    /// As a TURN URI with its transport, for the log (never the credentials).
    public var description: String {
        "\(type):\(host)\(port.map { ":\($0)" } ?? "")\(transport.map { "?transport=\($0)" } ?? "")"
    }
}
