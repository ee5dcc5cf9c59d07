extension ConfigReader {
    /// Reports every key in the file that no accessor asked for, with a suggestion:
    /// the nearest known key of the same table, or the table where that key belongs.
    func reportUnknownKeys() {
        walk(document.root, schemaName: "", displayName: "")
    }

    private func walk(_ table: TOMLTable, schemaName: String, displayName: String) {
        let known = knownKeys[schemaName] ?? []
        for entry in table.entries {
            let display = displayName.isEmpty ? entry.key : "\(displayName).\(entry.key)"
            guard known.contains(entry.key) else {
                reportUnknown(entry, display: display, schemaName: schemaName, known: known)
                continue
            }
            let childSchema = schemaName.isEmpty ? entry.key : "\(schemaName).\(entry.key)"
            guard sectionNames.contains(childSchema) else { continue }
            switch entry.node.value {
            case .table(let child):
                walk(child, schemaName: childSchema, displayName: display)
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    if case .table(let child) = element.value {
                        walk(child, schemaName: childSchema, displayName: "\(display)[\(index + 1)]")
                    }
                }
            default:
                break
            }
        }
    }

    private func reportUnknown(_ entry: TOMLTable.Entry, display: String, schemaName: String, known: [String]) {
        let isTable: Bool
        if case .table = entry.node.value { isTable = true } else { isTable = false }
        let what = isTable && schemaName.isEmpty ? "unknown table [\(entry.key)]" : "unknown key"
        var message = what
        if let nearest = Suggestion.nearest(to: entry.key, among: known) {
            let spelled = sectionNames.contains(schemaName.isEmpty ? nearest : "\(schemaName).\(nearest)") ? "[\(nearest)]" : "'\(nearest)'"
            message += "; did you mean \(spelled)?"
        } else if let home = knownKeys.first(where: { $0.key != schemaName && $0.value.contains(entry.key) })?.key {
            message += "; did you mean '\(entry.key)' in [\(home)]?"
        }
        let listed = known.map { sectionNames.contains(schemaName.isEmpty ? $0 : "\(schemaName).\($0)") ? "[\($0)]" : $0 }
        let place = schemaName.isEmpty ? "the top level" : "[\(schemaName)]"
        error(entry.keyLine, display, message, expected: "\(place) has: \(listed.joined(separator: ", "))")
    }
}

/// "Did you mean" by edit distance.
enum Suggestion {
    /// The known word closest to `word`, if it is close enough to be a likely typo.
    static func nearest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        let scored = candidates.map { (candidate: $0, distance: distance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        let limit = max(1, min(3, word.count / 3))
        return best.distance <= limit ? best.candidate : nil
    }

    /// Damerau–Levenshtein distance (optimal string alignment): a swap of two neighbouring
    /// letters, the commonest typo, counts as one edit.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
