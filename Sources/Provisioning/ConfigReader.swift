/// Reads typed values out of a ``TOMLDocument`` and collects a ``Diagnostic`` for every
/// problem instead of stopping at the first one.
///
/// Each accessor also registers its key as known, so that afterwards
/// ``reportUnknownKeys()`` can flag every key the schema never asked for, with a
/// did-you-mean. The decoding code is therefore the schema: nothing to keep in sync.
final class ConfigReader {
    /// A table of the file, or the place where it would be if it is missing.
    struct Section {
        /// How keys of this section are shown: `camera`, `network.turn[2]`.
        var displayName: String
        /// How the schema knows it: `camera`, `network.turn`.
        var schemaName: String
        var table: TOMLTable?
        /// The header line, or 1 when the table is missing.
        var line: Int

        func key(_ name: String) -> String { displayName.isEmpty ? name : "\(displayName).\(name)" }
    }

    let file: String
    let document: TOMLDocument
    /// True when the file had syntax errors: a key may then be "missing" only because its
    /// line could not be read, so missing-key errors would mislead.
    let hadSyntaxErrors: Bool
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var knownKeys: [String: [String]] = [:]
    private(set) var sectionNames: Set<String> = []

    init(file: String, document: TOMLDocument, hadSyntaxErrors: Bool) {
        self.file = file
        self.document = document
        self.hadSyntaxErrors = hadSyntaxErrors
    }

    var root: Section { Section(displayName: "", schemaName: "", table: document.root, line: 1) }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Every key the schema has asked for, as dotted names (`camera.fps`, `network.turn.url`).
    var allKnownKeys: [String] {
        knownKeys.sorted { $0.key < $1.key }.flatMap { table, keys in
            keys.filter { !sectionNames.contains(table.isEmpty ? $0 : "\(table).\($0)") }
                .map { table.isEmpty ? $0 : "\(table).\($0)" }
        }
    }

    // MARK: Reporting

    func error(_ line: Int, _ key: String, _ message: String, expected: String? = nil) {
        diagnostics.append(Diagnostic(.error, file: file, line: line, key: key, message: message, expected: expected))
    }

    func warning(_ line: Int, _ key: String, _ message: String, expected: String? = nil) {
        diagnostics.append(Diagnostic(.warning, file: file, line: line, key: key, message: message, expected: expected))
    }

    private func register(_ name: String, in section: Section) {
        if knownKeys[section.schemaName]?.contains(name) != true { knownKeys[section.schemaName, default: []].append(name) }
    }

    // MARK: Sections

    /// A sub-table `[name]` of `parent`.
    func section(_ name: String, in parent: Section? = nil) -> Section {
        let parent = parent ?? root
        register(name, in: parent)
        let schemaName = parent.schemaName.isEmpty ? name : "\(parent.schemaName).\(name)"
        sectionNames.insert(schemaName)
        var section = Section(displayName: parent.key(name), schemaName: schemaName, table: nil, line: parent.line)
        guard let entry = parent.table?[name] else { return section }
        guard case .table(let table) = entry.node.value else {
            error(entry.keyLine, section.displayName, "wrong type: found a \(entry.node.typeName)", expected: "a table [\(section.displayName)]")
            return section
        }
        section.table = table
        section.line = table.line
        return section
    }

    /// The elements of an array of tables `[[name]]` in `parent`.
    func sectionArray(_ name: String, in parent: Section) -> [Section] {
        register(name, in: parent)
        let schemaName = "\(parent.schemaName).\(name)"
        sectionNames.insert(schemaName)
        guard let entry = parent.table?[name] else { return [] }
        guard case .array(let elements) = entry.node.value else {
            error(entry.keyLine, parent.key(name), "wrong type: found a \(entry.node.typeName)", expected: "[[\(parent.key(name))]] tables")
            return []
        }
        var sections: [Section] = []
        for (index, element) in elements.enumerated() {
            let display = "\(parent.key(name))[\(index + 1)]"
            guard case .table(let table) = element.value else {
                error(element.line, display, "wrong type: found a \(element.typeName)", expected: "a table")
                continue
            }
            sections.append(Section(displayName: display, schemaName: schemaName, table: table, line: table.line))
        }
        return sections
    }

    // MARK: Values

    /// The raw entry for `key`, registering it as known.
    func entry(_ key: String, in section: Section) -> TOMLTable.Entry? {
        register(key, in: section)
        return section.table?[key]
    }

    /// Reports a missing key when it is required (no default).
    func missing(_ key: String, in section: Section, expected: String) {
        guard !hadSyntaxErrors else { return }
        error(section.line, section.key(key), "missing required key", expected: expected)
    }

    func typeMismatch(_ entry: TOMLTable.Entry, _ key: String, expected: String) {
        var found = "a \(entry.node.typeName)"
        if case .string(let text) = entry.node.value, text.utf8.count <= 40 { found += " \"\(text)\"" }
        error(entry.node.line, key, "wrong type: found \(found)", expected: expected)
    }

    /// A string value. `check` returns why a present value is wrong, or nil.
    func string(_ key: String, in section: Section, default defaultValue: String?, expected: String,
                check: (String) -> String? = { _ in nil }) -> String? {
        guard let entry = entry(key, in: section) else {
            if defaultValue == nil { missing(key, in: section, expected: expected) }
            return defaultValue
        }
        guard case .string(let text) = entry.node.value else {
            typeMismatch(entry, section.key(key), expected: expected)
            return nil
        }
        if let problem = check(text) {
            error(entry.node.line, section.key(key), problem, expected: expected)
            return nil
        }
        return text
    }

    func integer(_ key: String, in section: Section, default defaultValue: Int?, range: ClosedRange<Int>,
                 unit: String = "", expected customExpected: String? = nil, check: (Int) -> String? = { _ in nil }) -> Int? {
        let expected = customExpected ?? "an integer from \(range.lowerBound) to \(range.upperBound)\(unit)"
        guard let entry = entry(key, in: section) else {
            if defaultValue == nil { missing(key, in: section, expected: expected) }
            return defaultValue
        }
        guard case .integer(let value) = entry.node.value else {
            typeMismatch(entry, section.key(key), expected: expected)
            return nil
        }
        guard value >= Int64(range.lowerBound) && value <= Int64(range.upperBound) else {
            error(entry.node.line, section.key(key), "\(value) is out of range", expected: expected)
            return nil
        }
        if let problem = check(Int(value)) {
            error(entry.node.line, section.key(key), problem, expected: expected)
            return nil
        }
        return Int(value)
    }

    func boolean(_ key: String, in section: Section, default defaultValue: Bool) -> Bool? {
        guard let entry = entry(key, in: section) else { return defaultValue }
        guard case .boolean(let value) = entry.node.value else {
            typeMismatch(entry, section.key(key), expected: "true or false")
            return nil
        }
        return value
    }

    /// An array of strings; `check` is applied to each element and reported on its line.
    func strings(_ key: String, in section: Section, default defaultValue: [String]?, expected: String,
                 check: (String) -> String? = { _ in nil }) -> [String]? {
        guard let entry = entry(key, in: section) else {
            if defaultValue == nil { missing(key, in: section, expected: expected) }
            return defaultValue
        }
        guard case .array(let elements) = entry.node.value else {
            typeMismatch(entry, section.key(key), expected: "an array of strings: \(expected)")
            return nil
        }
        var values: [String] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            let elementKey = "\(section.key(key))[\(index + 1)]"
            guard case .string(let text) = element.value else {
                error(element.line, elementKey, "wrong type: found a \(element.typeName)", expected: expected)
                valid = false
                continue
            }
            if let problem = check(text) {
                error(element.line, elementKey, problem, expected: expected)
                valid = false
            }
            values.append(text)
        }
        return valid ? values : nil
    }
}
