/// Byte-level scanning for ``XMLReader``: names, attribute values, text and references.
struct Cursor {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func error(_ reason: String) -> XMLError { XMLError(offset: offset, reason: reason) }

    func starts(with literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        let pointer = literal.utf8Start
        for index in 0..<count where bytes[offset + index] != pointer[index] { return false }
        return true
    }

    /// The offset where `literal` next starts, from the current offset.
    func find(_ literal: StaticString) -> Int? {
        let count = literal.utf8CodeUnitCount
        let first = literal.utf8Start[0]
        var index = offset
        while index + count <= bytes.count {
            if bytes[index] == first {
                var match = true
                for step in 1..<count where bytes[index + step] != literal.utf8Start[step] {
                    match = false
                    break
                }
                if match { return index }
            }
            index += 1
        }
        return nil
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = offset
        while offset < bytes.count, Self.isWhitespace(bytes[offset]) { offset += 1 }
        return offset > start
    }

    func string(_ range: Range<Int>) throws(XMLError) -> String {
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
            throw XMLError(offset: range.lowerBound, reason: "invalid UTF-8")
        }
        return text
    }

    /// XML 1.0 `Char`: no C0 controls but tab, newline and carriage return.
    static func checkCharacters(_ text: String, at offset: Int) throws(XMLError) {
        for scalar in text.unicodeScalars where !isXMLCharacter(scalar) {
            throw XMLError(offset: offset, reason: "character U+\(String(scalar.value, radix: 16, uppercase: true)) is not allowed in XML")
        }
    }

    static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    /// A name: ASCII letters, digits, `-_.:` and any non-ASCII character; not starting with a digit, `-` or `.`.
    mutating func name() throws(XMLError) -> String {
        let start = offset
        while let byte = peek() {
            let isNameByte = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte >= 0x80
            guard isNameByte else { break }
            offset += 1
        }
        guard offset > start else { throw error("expected a name") }
        let first = bytes[start]
        guard !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) && first != UInt8(ascii: "-") && first != UInt8(ascii: ".") else {
            throw XMLError(offset: start, reason: "a name cannot start with '\(Character(Unicode.Scalar(first)))'")
        }
        return try string(start..<offset)
    }

    /// A quoted attribute value with references resolved and literal whitespace normalised
    /// to spaces (XML 1.0 §3.3.3).
    mutating func attributeValue() throws(XMLError) -> String {
        guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { throw error("expected a quoted value") }
        offset += 1
        var value = ""
        var runStart = offset
        while true {
            guard let byte = peek() else { throw error("unterminated attribute value") }
            if byte == quote || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || (byte < 0x20 && Self.isWhitespace(byte)) {
                value += try string(runStart..<offset)
                if byte == quote { offset += 1; break }
                if byte == UInt8(ascii: "<") { throw error("'<' in an attribute value") }
                if byte == UInt8(ascii: "&") {
                    value.unicodeScalars.append(try reference())
                } else {
                    value += " "
                    offset += 1
                }
                runStart = offset
            } else {
                offset += 1
            }
        }
        try Self.checkCharacters(value, at: runStart)
        return value
    }

    /// Character data up to the next `<`, references resolved.
    mutating func text() throws(XMLError) -> String {
        var value = ""
        var runStart = offset
        while let byte = peek(), byte != UInt8(ascii: "<") {
            if byte == UInt8(ascii: "&") {
                value += try string(runStart..<offset)
                value.unicodeScalars.append(try reference())
                runStart = offset
            } else {
                offset += 1
            }
        }
        value += try string(runStart..<offset)
        try Self.checkCharacters(value, at: runStart)
        return value
    }

    /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#NN;` `&#xHH;`; any other entity is refused.
    mutating func reference() throws(XMLError) -> Unicode.Scalar {
        let start = offset
        offset += 1
        var end = offset
        while end < bytes.count, end - offset < 12, bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { throw XMLError(offset: start, reason: "unterminated reference") }
        let body = try string(offset..<end)
        offset = end + 1
        switch body {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default:
            var value: UInt32?
            if body.hasPrefix("#x"), body.count > 2, body.dropFirst(2).allSatisfy(\.isHexDigit) {
                value = UInt32(body.dropFirst(2), radix: 16)
            } else if body.hasPrefix("#"), body.count > 1, body.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) {
                value = UInt32(body.dropFirst(), radix: 10)
            } else {
                throw XMLError(offset: start, reason: "entity &\(body); is not allowed in XMPP")
            }
            guard let value, let scalar = Unicode.Scalar(value), Self.isXMLCharacter(scalar) else {
                throw XMLError(offset: start, reason: "&\(body); is not a valid character")
            }
            return scalar
        }
    }
}
