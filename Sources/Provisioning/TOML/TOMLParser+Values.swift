extension TOMLParser {
    /// Any TOML value, starting at the cursor.
    mutating func parseValue() throws -> TOMLNode {
        let valueLine = line
        guard let byte = peek(), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r"), byte != UInt8(ascii: "#") else {
            throw error("missing value", expected: "a string, number, boolean, array or inline table")
        }
        switch byte {
        case UInt8(ascii: "\""):
            if bytes[position...].starts(with: Array("\"\"\"".utf8)) {
                return TOMLNode(.string(try parseMultilineString(quote: byte)), line: valueLine)
            }
            return TOMLNode(.string(try parseBasicString()), line: valueLine)
        case UInt8(ascii: "'"):
            if bytes[position...].starts(with: Array("'''".utf8)) {
                return TOMLNode(.string(try parseMultilineString(quote: byte)), line: valueLine)
            }
            return TOMLNode(.string(try parseLiteralString()), line: valueLine)
        case UInt8(ascii: "["):
            return TOMLNode(.array(try parseArray()), line: valueLine)
        case UInt8(ascii: "{"):
            return TOMLNode(.table(try parseInlineTable()), line: valueLine)
        default:
            return TOMLNode(try parseScalarToken(), line: valueLine)
        }
    }

    // MARK: Strings

    /// `"..."` with escapes; no line breaks.
    mutating func parseBasicString() throws -> String {
        advance()  // "
        var scalars = String.UnicodeScalarView()
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error("unterminated string", expected: "a closing '\"' on the same line")
            }
            if byte == UInt8(ascii: "\"") { advance(); return String(scalars) }
            if byte == UInt8(ascii: "\\") {
                scalars.append(try parseEscape())
            } else {
                scalars.append(try nextScalar())
            }
        }
    }

    /// `'...'`: no escapes, no line breaks.
    mutating func parseLiteralString() throws -> String {
        advance()  // '
        var scalars = String.UnicodeScalarView()
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") else {
                throw error("unterminated string", expected: "a closing \"'\" on the same line")
            }
            if byte == UInt8(ascii: "'") { advance(); return String(scalars) }
            scalars.append(try nextScalar())
        }
    }

    /// `"""..."""` or `'''...'''`. A line break right after the opening quotes is dropped;
    /// in the basic form a backslash at the end of a line joins it to the next.
    mutating func parseMultilineString(quote: UInt8) throws -> String {
        let isBasic = quote == UInt8(ascii: "\"")
        let openingLine = line
        position += 3
        _ = try consumeNewline()
        var scalars = String.UnicodeScalarView()
        while true {
            guard let byte = peek() else {
                throw TOMLSyntaxError(line: openingLine, key: currentKey, message: "unterminated multi-line string",
                                      expected: "closing \(isBasic ? "\"\"\"" : "'''")")
            }
            if byte == quote && peek(1) == quote && peek(2) == quote {
                var run = 0
                while peek(run) == quote { run += 1 }
                guard run <= 5 else { throw error("too many quotes at the end of a multi-line string", expected: "at most 5") }
                for _ in 0..<(run - 3) { scalars.append(UnicodeScalar(quote)) }
                position += run
                return String(scalars)
            }
            if try consumeNewline() {
                scalars.append("\n")
            } else if isBasic && byte == UInt8(ascii: "\\") && isLineEndingBackslash() {
                advance()
                while let b = peek(), b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                    if b == UInt8(ascii: "\r") { guard try consumeNewline() else { break } } else { advance() }
                }
            } else if isBasic && byte == UInt8(ascii: "\\") {
                scalars.append(try parseEscape())
            } else {
                scalars.append(try nextScalar())
            }
        }
    }

    /// True when the backslash at the cursor is followed only by whitespace up to the line end.
    func isLineEndingBackslash() -> Bool {
        var offset = 1
        while let b = peek(offset), b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { offset += 1 }
        return peek(offset) == UInt8(ascii: "\n") || (peek(offset) == UInt8(ascii: "\r") && peek(offset + 1) == UInt8(ascii: "\n"))
    }

    mutating func parseEscape() throws -> UnicodeScalar {
        advance()  // backslash
        guard let byte = peek() else { throw error("unterminated escape", expected: "an escape such as \\n") }
        advance()
        switch byte {
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = byte == UInt8(ascii: "u") ? 4 : 8
            guard position + digits <= bytes.count,
                  let value = UInt32(String(decoding: bytes[position..<(position + digits)], as: UTF8.self), radix: 16),
                  bytes[position..<(position + digits)].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }),
                  let scalar = UnicodeScalar(value) else {
                throw error("invalid unicode escape", expected: "\\u followed by 4 or \\U by 8 hex digits of a valid code point")
            }
            position += digits
            return scalar
        default:
            throw error("invalid escape \\\(describe(byte))", expected: "one of \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX")
        }
    }

    /// The next UTF-8 scalar (the file was validated up front); control characters other
    /// than tab are rejected, as TOML requires.
    mutating func nextScalar() throws -> UnicodeScalar {
        let byte = bytes[position]
        if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
            throw error("control character \(describe(byte)) in a string", expected: "an escape such as \\t or \\u0001")
        }
        let length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4
        let scalar = String(decoding: bytes[position..<min(position + length, bytes.count)], as: UTF8.self).unicodeScalars.first!
        position += length
        return scalar
    }

    // MARK: Arrays and inline tables

    /// `[v, v, ...]` over any number of lines, with comments and a trailing comma allowed.
    mutating func parseArray() throws -> [TOMLNode] {
        let openingLine = line
        advance()  // [
        var elements: [TOMLNode] = []
        while true {
            try skipArrayFiller(openingLine: openingLine)
            if peek() == UInt8(ascii: "]") { advance(); return elements }
            elements.append(try parseValue())
            try skipArrayFiller(openingLine: openingLine)
            switch peek() {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "]"): advance(); return elements
            default: throw error("missing ',' or ']' in array", expected: "',' between elements and ']' at the end")
            }
        }
    }

    mutating func skipArrayFiller(openingLine: Int) throws {
        while true {
            skipWhitespace()
            try skipComment()
            if position >= bytes.count {
                throw TOMLSyntaxError(line: openingLine, key: currentKey, message: "unterminated array", expected: "a closing ']'")
            }
            if !(try consumeNewline()) { return }
        }
    }

    /// `{ k = v, k = v }` on one line; the table is closed once written.
    mutating func parseInlineTable() throws -> TOMLTable {
        let builder = TableBuilder(origin: .dotted, line: line)
        let outerKey = currentKey
        advance()  // {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { advance(); return builder.freeze() }
        while true {
            skipWhitespace()
            try parseKeyValue(into: builder)
            currentKey = outerKey
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "}"): advance(); return builder.freeze()
            default: throw error("missing ',' or '}' in inline table", expected: "an inline table on one line: { key = value, ... }")
            }
        }
    }

    // MARK: Numbers, booleans, dates

    mutating func parseScalarToken() throws -> TOMLNode.Value {
        let start = position
        while let byte = peek(), Self.isScalarTokenByte(byte) { advance() }
        let token = String(decoding: bytes[start..<position], as: UTF8.self)
        if token.isEmpty {
            throw error("unexpected \(describe(bytes[position]))", expected: "a string, number, boolean, array or inline table")
        }
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.looksLikeDate(token) {
            throw error("dates and times are not used in the provisioning file", expected: "a string, number or boolean")
        }
        let integer: Int64?
        do {
            integer = try TOMLNumber.integer(token)
        } catch {
            throw self.error("integer \(token) does not fit in 64 bits", expected: "a whole number between -2^63 and 2^63-1")
        }
        if let integer { return .integer(integer) }
        if let float = TOMLNumber.float(token) { return .float(float) }
        let hint = token.first.map { $0.isLetter } == true ? "; text must be quoted, e.g. \"\(token)\"" : ""
        throw error("invalid value '\(token)'\(hint)", expected: "a string, number, boolean, array or inline table")
    }

    static func isScalarTokenByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    static func looksLikeDate(_ token: String) -> Bool {
        let utf8 = Array(token.utf8)
        let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if utf8.count >= 5 && utf8[0..<4].allSatisfy(isDigit) && utf8[4] == UInt8(ascii: "-") { return true }
        return utf8.count >= 3 && utf8[0..<2].allSatisfy(isDigit) && utf8[2] == UInt8(ascii: ":")
    }
}
