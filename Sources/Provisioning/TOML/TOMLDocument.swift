/// A parsed TOML document that remembers, for every key and value, the line it came from.
///
/// Off-the-shelf TOML libraries give values without positions, but every provisioning error
/// must name `FILE:LINE`, so the parser (``TOMLParser``) keeps them. TOML 1.0 is supported
/// except for date and time values, which the provisioning file never uses; they are
/// reported as errors.
public struct TOMLDocument: Sendable, Equatable {
    /// The root table; its `line` is 1.
    public var root: TOMLTable
}

/// A value with the 1-based line on which it starts.
public struct TOMLNode: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        case array([TOMLNode])
        case table(TOMLTable)
    }

    public var value: Value
    public var line: Int

    public init(_ value: Value, line: Int) {
        self.value = value
        self.line = line
    }

    /// The TOML name of the value's type, as used in error messages.
    public var typeName: String {
        switch value {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .array: return "array"
        case .table: return "table"
        }
    }
}

/// A table: keys in the order they appear, with the line of each key.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        /// The line on which the key was written (for a table: its header).
        public var keyLine: Int
        public var node: TOMLNode
    }

    /// Line of the table's header, or of the first key that created it.
    public var line: Int
    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init(line: Int) {
        self.line = line
    }

    public subscript(key: String) -> Entry? {
        index[key].map { entries[$0] }
    }

    public var keys: [String] { entries.map(\.key) }

    mutating func append(_ entry: Entry) {
        index[entry.key] = entries.count
        entries.append(entry)
    }

    /// Looks up a dotted path of keys (`["server", "host"]`) through nested tables.
    public func entry(at path: [String]) -> Entry? {
        guard let first = path.first, let entry = self[first] else { return nil }
        if path.count == 1 { return entry }
        guard case .table(let table) = entry.node.value else { return nil }
        return table.entry(at: Array(path.dropFirst()))
    }
}

/// A syntax error in a TOML file.
public struct TOMLSyntaxError: Error, Sendable, Equatable {
    public var line: Int
    /// The dotted key being read when the error occurred, if any.
    public var key: String?
    public var message: String
    public var expected: String?

    public init(line: Int, key: String? = nil, message: String, expected: String? = nil) {
        self.line = line
        self.key = key
        self.message = message
        self.expected = expected
    }
}
