/// An XMPP address (RFC 7622): `[local@]domain[/resource]`.
///
/// Parsing is deliberately simple: the box only compares addresses the server and Jicofo
/// produce and builds its own from the provisioning file, so no stringprep/PRECIS folding
/// beyond lower-casing the domain is needed.
public struct JID: Hashable, Sendable, CustomStringConvertible {
    public var local: String?
    public var domain: String
    public var resource: String?

    public init(local: String? = nil, domain: String, resource: String? = nil) {
        self.local = local
        self.domain = domain.lowercased()
        self.resource = resource
    }

    /// Nil for an empty domain, empty parts, or a text over 3071 bytes (§3.1).
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 3071 else { return nil }
        var rest = Substring(text)
        var resource: String?
        if let slash = rest.firstIndex(of: "/") {
            resource = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
            guard !resource!.isEmpty else { return nil }
        }
        var local: String?
        if let at = rest.firstIndex(of: "@") {
            local = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            guard !local!.isEmpty else { return nil }
        }
        guard !rest.isEmpty, !rest.contains("@") else { return nil }
        self.init(local: local, domain: String(rest), resource: resource)
    }

    /// The address without its resource.
    public var bare: JID { JID(local: local, domain: domain) }

    public func with(resource: String) -> JID { JID(local: local, domain: domain, resource: resource) }

    public var description: String {
        (local.map { $0 + "@" } ?? "") + domain + (resource.map { "/" + $0 } ?? "")
    }
}
