/// A malformed or forbidden XML document, with the byte offset where reading stopped.
public struct XMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public var description: String { "XML error at byte \(offset): \(reason)" }
}

/// Reads one complete XML element, as an RFC 7395 WebSocket frame carries one stanza.
///
/// It reads the subset of XML 1.0 that XMPP allows (RFC 6120 §11.1): elements, attributes,
/// text, the five predefined entities, character references and CDATA. Comments,
/// processing instructions, DTDs and other entities are refused: they are forbidden in XMPP
/// and are the classic ways to attack an XML parser (entity expansion, external entities).
/// Iterative, with a depth limit, so hostile nesting cannot exhaust the stack.
public struct XMLReader {
    public var maximumDepth = 64
    public var maximumAttributes = 128

    public init() {}

    public func parse(_ text: String) throws(XMLError) -> XMLElement {
        try parse(Array(text.utf8))
    }

    public func parse(_ bytes: [UInt8]) throws(XMLError) -> XMLElement {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(XMLError) in try parse(buffer) } }
        return try result.get()
    }

    public func parse(_ bytes: UnsafeRawBufferPointer) throws(XMLError) -> XMLElement {
        var cursor = Cursor(bytes: bytes)
        cursor.skipWhitespace()
        if cursor.starts(with: "<?xml") {
            guard let end = cursor.find("?>") else { throw cursor.error("unterminated XML declaration") }
            cursor.offset = end + 2
            cursor.skipWhitespace()
        }
        var stack: [Frame] = []
        var root: XMLElement?
        while root == nil {
            guard let byte = cursor.peek() else { throw cursor.error(stack.isEmpty ? "no element" : "document ends inside <\(stack.last!.qualifiedName)>") }
            if byte == UInt8(ascii: "<") {
                if cursor.starts(with: "</") {
                    guard let frame = stack.popLast() else { throw cursor.error("end tag without a start tag") }
                    try closeTag(frame, &cursor)
                    let element = frame.finished()
                    if stack.isEmpty { root = element } else { stack[stack.count - 1].element.children.append(.element(element)) }
                } else if cursor.starts(with: "<![CDATA[") {
                    guard !stack.isEmpty else { throw cursor.error("text outside the element") }
                    cursor.offset += 9
                    guard let end = cursor.find("]]>") else { throw cursor.error("unterminated CDATA section") }
                    let text = try cursor.string(cursor.offset..<end)
                    try Cursor.checkCharacters(text, at: cursor.offset)
                    stack[stack.count - 1].appendText(text)
                    cursor.offset = end + 3
                } else if cursor.starts(with: "<!--") {
                    throw cursor.error("comments are not allowed in XMPP")
                } else if cursor.starts(with: "<?") {
                    throw cursor.error("processing instructions are not allowed in XMPP")
                } else if cursor.starts(with: "<!") {
                    throw cursor.error("DTDs are not allowed in XMPP")
                } else {
                    guard stack.count < maximumDepth else { throw cursor.error("elements nested deeper than \(maximumDepth)") }
                    let (frame, selfClosing) = try openTag(&cursor, parents: stack)
                    if selfClosing {
                        if stack.isEmpty { root = frame.finished() } else { stack[stack.count - 1].element.children.append(.element(frame.finished())) }
                    } else {
                        stack.append(frame)
                    }
                }
            } else {
                guard !stack.isEmpty else { throw cursor.error("text outside the element") }
                let text = try cursor.text()
                stack[stack.count - 1].appendText(text)
            }
        }
        cursor.skipWhitespace()
        guard cursor.isAtEnd else { throw cursor.error("content after the element") }
        return root!
    }

    /// An element being read, with the namespace prefixes it declares.
    struct Frame {
        var element: XMLElement
        var qualifiedName: String
        var prefixes: [String: String]

        mutating func appendText(_ text: String) {
            if case .text(let previous)? = element.children.last {
                element.children[element.children.count - 1] = .text(previous + text)
            } else {
                element.children.append(.text(text))
            }
        }

        /// Whitespace between child elements is layout, not content.
        func finished() -> XMLElement {
            var element = element
            if element.children.contains(where: { if case .element = $0 { true } else { false } }) {
                element.children.removeAll {
                    if case .text(let text) = $0 { text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } } else { false }
                }
            }
            return element
        }
    }

    func openTag(_ cursor: inout Cursor, parents: [Frame]) throws(XMLError) -> (Frame, Bool) {
        cursor.offset += 1
        let qualifiedName = try cursor.name()
        var rawAttributes: [(name: String, value: String)] = []
        var prefixes: [String: String] = [:]
        var selfClosing = false
        while true {
            let hadSpace = cursor.skipWhitespace()
            guard let byte = cursor.peek() else { throw cursor.error("document ends inside <\(qualifiedName)>") }
            if byte == UInt8(ascii: ">") { cursor.offset += 1; break }
            if byte == UInt8(ascii: "/") {
                guard cursor.starts(with: "/>") else { throw cursor.error("expected '/>'") }
                cursor.offset += 2
                selfClosing = true
                break
            }
            guard hadSpace else { throw cursor.error("expected a space before an attribute") }
            let name = try cursor.name()
            cursor.skipWhitespace()
            guard cursor.peek() == UInt8(ascii: "=") else { throw cursor.error("expected '=' after attribute \(name)") }
            cursor.offset += 1
            cursor.skipWhitespace()
            let value = try cursor.attributeValue()
            if name == "xmlns" {
                prefixes[""] = value
            } else if name.hasPrefix("xmlns:") {
                let prefix = String(name.dropFirst(6))
                guard !prefix.isEmpty, !value.isEmpty else { throw cursor.error("empty namespace prefix declaration") }
                prefixes[prefix] = value
            } else {
                guard !rawAttributes.contains(where: { $0.name == name }) else { throw cursor.error("attribute \(name) appears twice") }
                rawAttributes.append((name, value))
            }
            guard rawAttributes.count + prefixes.count <= maximumAttributes else { throw cursor.error("more than \(maximumAttributes) attributes") }
        }
        func resolve(_ prefix: String) -> String? {
            if let uri = prefixes[prefix] { return uri }
            for frame in parents.reversed() { if let uri = frame.prefixes[prefix] { return uri } }
            if prefix == "xml" { return "http://www.w3.org/XML/1998/namespace" }
            return prefix.isEmpty ? "" : nil
        }
        let parts = qualifiedName.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let (prefix, localName) = parts.count == 2 ? (String(parts[0]), String(parts[1])) : ("", qualifiedName)
        guard Self.isNCName(localName), prefix.isEmpty || Self.isNCName(prefix) else {
            throw cursor.error("<\(qualifiedName)> is not a valid element name")
        }
        guard let namespace = resolve(prefix) else {
            throw cursor.error("undeclared namespace prefix in <\(qualifiedName)>")
        }
        for attribute in rawAttributes {
            let parts = attribute.name.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ Self.isNCName(String($0)) }) else {
                throw cursor.error("\(attribute.name) is not a valid attribute name")
            }
            guard parts.count == 2 else { continue }
            let attributePrefix = String(parts[0])
            guard resolve(attributePrefix) != nil else { throw cursor.error("undeclared namespace prefix in attribute \(attribute.name)") }
        }
        let element = XMLElement(name: localName, namespace: namespace, attributes: rawAttributes, children: [])
        return (Frame(element: element, qualifiedName: qualifiedName, prefixes: prefixes), selfClosing)
    }

    /// A name without a colon that does not start with a digit, `-` or `.` (Namespaces in XML §3).
    static func isNCName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        return !name.contains(":") && !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) && first != UInt8(ascii: "-") && first != UInt8(ascii: ".")
    }

    func closeTag(_ frame: Frame, _ cursor: inout Cursor) throws(XMLError) {
        cursor.offset += 2
        let name = try cursor.name()
        guard name == frame.qualifiedName else { throw cursor.error("</\(name)> closes <\(frame.qualifiedName)>") }
        cursor.skipWhitespace()
        guard cursor.peek() == UInt8(ascii: ">") else { throw cursor.error("expected '>' after </\(name)") }
        cursor.offset += 1
    }
}
