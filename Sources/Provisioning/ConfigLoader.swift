/// Reads and checks a provisioning file: the single way to obtain a ``ProvisioningConfig``.
public enum ConfigLoader {
    public enum Outcome: Sendable {
        /// The file is valid; warnings may still be worth showing.
        case valid(ProvisioningConfig, warnings: [Diagnostic])
        /// The file has errors (and maybe warnings), sorted by line.
        case invalid([Diagnostic])
        /// The file itself could not be read; the reason is an OS error text.
        case unreadable(reason: String)
    }

    /// Loads `path`. Relative paths inside it are relative to its directory.
    public static func load(path: String, environment: ConfigEnvironment = .init()) -> Outcome {
        switch FileAccess.read(path) {
        case .failure(let failure):
            return .unreadable(reason: failure.reason)
        case .success(let bytes):
            return check(bytes, file: path, directory: FileAccess.directory(of: path), environment: environment)
        }
    }

    /// The `[display]` table alone, from a file that may be broken elsewhere: where, and in
    /// which language, the box shows that the file is broken. nil when the file cannot be
    /// read or its display table is itself wrong (the screen then takes ``ProvisioningConfig/Display/defaults``).
    /// The snapshot display stays what it is everywhere: for the test-pattern camera only.
    public static func display(path: String) -> ProvisioningConfig.Display? {
        guard case .success(let bytes) = FileAccess.read(path) else { return nil }
        let (document, syntaxErrors) = TOMLParser.parse(bytes)
        let reader = ConfigReader(file: path, document: document, hadSyntaxErrors: !syntaxErrors.isEmpty)
        let decoder = ConfigDecoder(reader: reader, directory: FileAccess.directory(of: path), environment: .init())
        let camera = decoder.decodeCamera()
        guard var display = decoder.decodeDisplay(camera: camera) else { return nil }
        if display.device == .snapshot && camera?.source != .testPattern { display.device = .none }
        return display
    }

    /// Checks file contents already in memory (`file` is only used in messages).
    public static func check(_ bytes: [UInt8], file: String, directory: String,
                             environment: ConfigEnvironment = .init()) -> Outcome {
        let (document, syntaxErrors) = TOMLParser.parse(bytes)
        let reader = ConfigReader(file: file, document: document, hadSyntaxErrors: !syntaxErrors.isEmpty)
        for error in syntaxErrors {
            reader.error(error.line, error.key ?? "syntax", error.message, expected: error.expected)
        }
        let config = ConfigDecoder(reader: reader, directory: directory, environment: environment).decode()
        let diagnostics = reader.diagnostics.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
        if let config, !reader.hasErrors {
            return .valid(config, warnings: diagnostics)
        }
        return .invalid(diagnostics)
    }
}

/// The schema as data: every key the provisioning file may hold.
public enum ConfigSchema {
    /// Every key as a dotted name (`camera.fps`; for `[[network.turn]]`: `network.turn.url`),
    /// found by running the decoder over an empty file so the list cannot drift from it.
    public static var allKeys: [String] {
        let reader = ConfigReader(file: "", document: TOMLDocument(root: TOMLTable(line: 1)), hadSyntaxErrors: false)
        _ = ConfigDecoder(reader: reader, directory: "", environment: .init()).decode()
        // Array-of-tables elements are only visited when present; add one empty element.
        var network = TOMLTable(line: 1)
        network.append(.init(key: "turn", keyLine: 1, node: TOMLNode(.array([TOMLNode(.table(TOMLTable(line: 1)), line: 1)]), line: 1)))
        var root = TOMLTable(line: 1)
        root.append(.init(key: "network", keyLine: 1, node: TOMLNode(.table(network), line: 1)))
        let withTURN = ConfigReader(file: "", document: TOMLDocument(root: root), hadSyntaxErrors: false)
        _ = ConfigDecoder(reader: withTURN, directory: "", environment: .init()).decode()
        return Array(Set(reader.allKnownKeys + withTURN.allKnownKeys)).sorted()
    }
}
