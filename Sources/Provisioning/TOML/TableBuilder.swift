/// The mutable tree the parser builds while reading; frozen into ``TOMLTable`` at the end.
///
/// TOML's rules on redefinition depend on *how* a table came to exist, so each table
/// records its origin (TOML 1.0, "Table" and "Array of Tables").
final class TableBuilder {
    enum Origin {
        /// Created as the parent of a header (`[a.b]` creates `a`); may still get a header.
        case implicit
        /// Opened by its own `[header]`.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`).
        case dotted
        /// An element of an array of tables (`[[a]]`).
        case arrayElement
    }

    enum Item {
        case value(TOMLNode)
        case table(TableBuilder)
        /// Only arrays made with `[[name]]` can be extended; a literal array is a `value`.
        case tableArray([TableBuilder], line: Int)
    }

    var origin: Origin
    let line: Int
    private(set) var order: [String] = []
    private(set) var items: [String: (item: Item, keyLine: Int)] = [:]

    init(origin: Origin, line: Int) {
        self.origin = origin
        self.line = line
    }

    subscript(key: String) -> Item? {
        items[key]?.item
    }

    func set(_ key: String, _ item: Item, keyLine: Int) {
        if items[key] == nil { order.append(key) }
        items[key] = (item, keyLine)
    }

    func freeze() -> TOMLTable {
        var table = TOMLTable(line: line)
        for key in order {
            guard let (item, keyLine) = items[key] else { continue }
            let node: TOMLNode
            switch item {
            case .value(let value):
                node = value
            case .table(let builder):
                node = TOMLNode(.table(builder.freeze()), line: builder.line)
            case .tableArray(let builders, let line):
                let elements = builders.map { TOMLNode(.table($0.freeze()), line: $0.line) }
                node = TOMLNode(.array(elements), line: line)
            }
            table.append(.init(key: key, keyLine: keyLine, node: node))
        }
        return table
    }
}
