/// An XML element as XMPP uses it (RFC 6120 §11): a name in a namespace, attributes,
/// and children that are elements or text. No comments, processing instructions or DTDs
/// exist in XMPP, so none exist here.
///
/// Namespaces are resolved: `namespace` is the URI, whatever prefix the sender used.
/// Writing puts `xmlns='…'` on an element whose namespace differs from its parent's.
public struct XMLElement: Sendable, Equatable, CustomStringConvertible {
    public enum Node: Sendable, Equatable {
        case element(XMLElement)
        case text(String)
    }

    public var name: String
    public var namespace: String
    /// In document order; never contains `xmlns` declarations (they become `namespace`).
    public var attributes: [(name: String, value: String)]
    public var children: [Node]

    public init(_ name: String, namespace: String = "", attributes: KeyValuePairs<String, String> = [:], children: [XMLElement] = [],
                text: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes.map { ($0.key, $0.value) }
        self.children = children.map(Node.element) + (text.map { [.text($0)] } ?? [])
    }

    public init(name: String, namespace: String, attributes: [(name: String, value: String)], children: [Node]) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    public static func == (a: XMLElement, b: XMLElement) -> Bool {
        a.name == b.name && a.namespace == b.namespace && a.children == b.children
            && a.attributes.map(\.name) == b.attributes.map(\.name) && a.attributes.map(\.value) == b.attributes.map(\.value)
    }

    // MARK: Reading

    /// The value of an attribute (unprefixed name, or `prefix:name` as written).
    public subscript(attribute: String) -> String? {
        get { attributes.first { $0.name == attribute }?.value }
        set {
            if let index = attributes.firstIndex(where: { $0.name == attribute }) {
                if let newValue { attributes[index].value = newValue } else { attributes.remove(at: index) }
            } else if let newValue {
                attributes.append((attribute, newValue))
            }
        }
    }

    public var elements: [XMLElement] {
        children.compactMap { if case .element(let element) = $0 { element } else { nil } }
    }

    /// Child elements with this name, in `namespace` (nil: any namespace).
    public func elements(_ name: String, namespace: String? = nil) -> [XMLElement] {
        elements.filter { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }

    /// The first child element with this name, in `namespace` (nil: any namespace).
    public func element(_ name: String, namespace: String? = nil) -> XMLElement? {
        for case .element(let element) in children where element.name == name && (namespace == nil || element.namespace == namespace) {
            return element
        }
        return nil
    }

    /// The concatenated text children (not of descendants).
    public var text: String {
        children.reduce(into: "") { if case .text(let text) = $1 { $0 += text } }
    }

    // MARK: Building

    public mutating func append(_ element: XMLElement) { children.append(.element(element)) }

    public func appending(_ elements: [XMLElement]) -> XMLElement {
        var copy = self
        copy.children += elements.map(Node.element)
        return copy
    }

    // MARK: Writing

    /// The element as XML text; `xmlns` is written where the namespace changes.
    public var description: String { serialized() }

    public func serialized(parentNamespace: String? = nil) -> String {
        var output = ""
        write(to: &output, parentNamespace: parentNamespace)
        return output
    }

    func write(to output: inout String, parentNamespace: String?) {
        output += "<" + name
        if namespace != parentNamespace {
            output += " xmlns='" + XMLEscaping.attribute(namespace) + "'"
        }
        for attribute in attributes {
            output += " " + attribute.name + "='" + XMLEscaping.attribute(attribute.value) + "'"
        }
        if children.isEmpty {
            output += "/>"
            return
        }
        output += ">"
        for child in children {
            switch child {
            case .element(let element): element.write(to: &output, parentNamespace: namespace)
            case .text(let text): output += XMLEscaping.text(text)
            }
        }
        output += "</" + name + ">"
    }
}

/// The escaping XML requires of text and of attribute values in single quotes.
public enum XMLEscaping {
    public static func text(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) else { return value }
        var output = ""
        output.reserveCapacity(value.utf8.count + 16)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    public static func attribute(_ value: String) -> String {
        var output = ""
        output.reserveCapacity(value.utf8.count + 16)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "'": output += "&apos;"
            case "\"": output += "&quot;"
            case "\t": output += "&#9;"  // attribute-value normalisation would turn these into spaces
            case "\n": output += "&#10;"
            case "\r": output += "&#13;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
