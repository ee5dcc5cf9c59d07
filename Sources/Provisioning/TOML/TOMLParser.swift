/// A TOML 1.0 parser that keeps the line of every key and value (see ``TOMLDocument``).
///
/// It reads the whole file, and after a syntax error it skips to the next line and goes on,
/// so that one run reports every broken line rather than only the first.
public struct TOMLParser {
    /// Stop collecting after this many syntax errors; the rest is noise.
    static let maximumErrors = 25

    var bytes: [UInt8]
    var position = 0
    var line = 1
    var errors: [TOMLSyntaxError] = []
    /// The dotted key whose value is being read, for error messages.
    var currentKey: String?
    /// The name of the table the last header opened ("" at the top; nil after a broken header).
    var currentTableName: String? = ""

    let root = TableBuilder(origin: .header, line: 1)
    lazy var current: TableBuilder = root

    /// Parses `text`; returns the document and every syntax error found. The document holds
    /// whatever parsed cleanly, so callers can still check it, but must not trust it alone.
    public static func parse(_ bytes: [UInt8]) -> (document: TOMLDocument, errors: [TOMLSyntaxError]) {
        var parser = TOMLParser(bytes: bytes)
        parser.parseDocument()
        return (TOMLDocument(root: parser.root.freeze()), parser.errors)
    }

    public static func parse(_ text: String) -> (document: TOMLDocument, errors: [TOMLSyntaxError]) {
        parse(Array(text.utf8))
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Statements

    mutating func parseDocument() {
        if let badLine = Self.firstInvalidUTF8Line(bytes) {
            errors.append(.init(line: badLine, message: "the file is not valid UTF-8", expected: "UTF-8 text"))
            return
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // byte-order mark
        while position < bytes.count && errors.count < Self.maximumErrors {
            do {
                try parseStatement()
            } catch let error as TOMLSyntaxError {
                errors.append(error)
                skipRestOfLine()
            } catch {
                preconditionFailure("unexpected error \(error)")
            }
        }
    }

    /// One line's worth of TOML: blank, comment, `[table]`, `[[array]]` or `key = value`.
    mutating func parseStatement() throws {
        currentKey = nil
        skipWhitespace()
        guard let byte = peek() else { return }
        switch byte {
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"):
            break
        case UInt8(ascii: "["):
            try parseHeader()
        default:
            try parseKeyValue(into: current)
        }
        try expectEndOfLine()
    }

    mutating func parseHeader() throws {
        do {
            try parseHeaderLine()
        } catch {
            // Keys below a broken header go to a detached table: they belong to a table
            // we could not name, and reporting them as misplaced would only add noise.
            current = TableBuilder(origin: .header, line: line)
            currentTableName = nil
            throw error
        }
    }

    mutating func parseHeaderLine() throws {
        let headerLine = line
        advance()  // [
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { advance() }
        skipWhitespace()
        let path = try parseKey()
        skipWhitespace()
        let closing = isArray ? "]]" : "]"
        for _ in 0..<(isArray ? 2 : 1) {
            guard peek() == UInt8(ascii: "]") else {
                throw error("unterminated table header", expected: "'\(closing)' after [\(path.joined(separator: "."))")
            }
            advance()
        }
        current = try openTable(path, isArray: isArray, line: headerLine)
        currentTableName = path.joined(separator: ".")
    }

    /// Finds or creates the table a header names, enforcing TOML's no-redefinition rules.
    mutating func openTable(_ path: [String], isArray: Bool, line headerLine: Int) throws -> TableBuilder {
        var table = root
        let name = path.joined(separator: ".")
        for (depth, key) in path.enumerated() {
            let isLast = depth == path.count - 1
            switch table[key] {
            case nil:
                if isLast && isArray {
                    let element = TableBuilder(origin: .arrayElement, line: headerLine)
                    table.set(key, .tableArray([element], line: headerLine), keyLine: headerLine)
                    return element
                }
                let created = TableBuilder(origin: isLast ? .header : .implicit, line: headerLine)
                table.set(key, .table(created), keyLine: headerLine)
                table = created
            case .table(let existing):
                if isLast {
                    if isArray {
                        throw error("[[\(name)]] is already a table, not an array of tables", expected: "[\(name)]")
                    }
                    guard existing.origin == .implicit else {
                        throw error("table [\(name)] is defined twice (first on line \(existing.line))",
                                    expected: "each table once")
                    }
                    existing.origin = .header
                }
                table = existing
            case .tableArray(let elements, let arrayLine):
                if isLast {
                    guard isArray else {
                        throw error("[\(name)] is already an array of tables", expected: "[[\(name)]]")
                    }
                    let element = TableBuilder(origin: .arrayElement, line: headerLine)
                    table.set(key, .tableArray(elements + [element], line: arrayLine), keyLine: headerLine)
                    return element
                }
                table = elements[elements.count - 1]
            case .value(let node):
                throw error("'\(path[...depth].joined(separator: "."))' already holds a \(node.typeName) (line \(node.line))",
                            expected: "a table name not used as a key")
            }
        }
        return table
    }

    /// `a.b.c = value`, stored in `table`; dotted keys create sub-tables.
    mutating func parseKeyValue(into table: TableBuilder) throws {
        let keyLine = line
        let path = try parseKey()
        let dotted = path.joined(separator: ".")
        currentKey = table === current && currentTableName?.isEmpty == false ? "\(currentTableName!).\(dotted)" : dotted
        skipWhitespace()
        guard peek() == UInt8(ascii: "=") else {
            throw error("missing '=' after key '\(dotted)'", expected: "key = value")
        }
        advance()
        skipWhitespace()
        let value = try parseValue()
        var target = table
        for key in path.dropLast() {
            switch target[key] {
            case nil:
                let created = TableBuilder(origin: .dotted, line: keyLine)
                target.set(key, .table(created), keyLine: keyLine)
                target = created
            case .table(let existing) where existing.origin == .dotted:
                target = existing
            default:
                throw error("dotted key '\(dotted)' extends '\(key)', which is already defined",
                            expected: "a key defined once")
            }
        }
        let last = path[path.count - 1]
        if let existing = target.items[last] {
            throw error("duplicate key '\(dotted)' (first on line \(existing.keyLine))", expected: "each key once")
        }
        target.set(last, .value(value), keyLine: keyLine)
    }

    /// A key: bare (`A-Za-z0-9_-`) or quoted parts joined by dots.
    mutating func parseKey() throws -> [String] {
        var parts: [String] = []
        while true {
            skipWhitespace()
            guard let byte = peek() else { throw error("unexpected end of file", expected: "a key") }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                if bytes[position...].starts(with: [byte, byte, byte]) {
                    throw error("a key cannot be a multi-line string", expected: "a bare or quoted key")
                }
                parts.append(byte == UInt8(ascii: "\"") ? try parseBasicString() : try parseLiteralString())
            } else if Self.isBareKeyByte(byte) {
                let start = position
                while let b = peek(), Self.isBareKeyByte(b) { advance() }
                parts.append(String(decoding: bytes[start..<position], as: UTF8.self))
            } else {
                throw error("unexpected \(describe(byte))", expected: "a key (letters, digits, '_' or '-') or a [table]")
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ".") else { return parts }
            advance()
        }
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    // MARK: Cursor

    func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    mutating func advance() {
        if bytes[position] == UInt8(ascii: "\n") { line += 1 }
        position += 1
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Skips a comment, if any; control characters other than tab are not allowed in one.
    mutating func skipComment() throws {
        guard peek() == UInt8(ascii: "#") else { return }
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { break }
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                throw error("control character \(describe(byte)) in a comment", expected: "printable text")
            }
            advance()
        }
    }

    /// Consumes one line ending (`\n` or `\r\n`); returns false if there is none here.
    mutating func consumeNewline() throws -> Bool {
        if peek() == UInt8(ascii: "\n") { advance(); return true }
        if peek() == UInt8(ascii: "\r") {
            guard peek(1) == UInt8(ascii: "\n") else { throw error("carriage return without line feed", expected: "\\n or \\r\\n") }
            advance(); advance()
            return true
        }
        return false
    }

    mutating func expectEndOfLine() throws {
        skipWhitespace()
        try skipComment()
        if position >= bytes.count { return }
        guard try consumeNewline() else {
            throw error("unexpected \(describe(bytes[position])) after the value", expected: "end of line or # comment")
        }
    }

    mutating func skipRestOfLine() {
        while position < bytes.count {
            let byte = bytes[position]
            advance()
            if byte == UInt8(ascii: "\n") { return }
        }
    }

    func error(_ message: String, expected: String? = nil) -> TOMLSyntaxError {
        TOMLSyntaxError(line: line, key: currentKey, message: message, expected: expected)
    }

    func describe(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "\n"): return "end of line"
        case 0x21...0x7E: return "'\(Character(UnicodeScalar(byte)))'"
        default: return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }
    }

    /// The line of the first byte sequence that is not UTF-8, or nil.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput: return nil
            case .error: return line
            }
        }
    }
}
