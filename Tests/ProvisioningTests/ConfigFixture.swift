import Foundation
import Testing
@testable import Provisioning

/// A provisioning file in a scratch directory, built from sections so each test changes
/// only what it is about. Secret files are written with the mode the test asks for.
struct ConfigFixture {
    let directory: String
    /// Sections in file order; "" is the top level.
    var sections: [(name: String, lines: [String])]
    var environment: ConfigEnvironment

    /// The smallest valid file: every required key, nothing else, no warnings.
    init() {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("classbox-config-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = ConfigEnvironment(ledClassDirectory: directory + "/leds")
        sections = [
            ("", ["config_version = 1"]),
            ("server", ["host = \"meet.schule.example\""]),
            ("room", ["name = \"klasse-4b\"", "password_file = \"room-password\"", "label = \"Klasse 4b\""]),
            ("camera", ["device = \"test-pattern\""]),
            ("privacy", ["switch = \"simulated\""]),
            ("network", ["district_domains = [\"schule.example\"]"]),
        ]
        writeSecret("room-password", "geheim-4b")
    }

    var path: String { directory + "/classbox.toml" }

    var text: String {
        sections.map { section in
            (section.name.isEmpty ? [] : [section.name.hasPrefix("[") ? section.name : "[\(section.name)]"]) + section.lines
        }.flatMap { $0 }.joined(separator: "\n") + "\n"
    }

    /// Replaces the lines of a section, adding the section at the end if it is new.
    mutating func set(_ name: String, _ lines: String...) {
        if let index = sections.firstIndex(where: { $0.name == name }) {
            sections[index].lines = lines
        } else {
            sections.append((name, lines))
        }
    }

    /// Adds lines to a section (creating it at the end when missing).
    mutating func add(_ name: String, _ lines: String...) {
        if let index = sections.firstIndex(where: { $0.name == name }) {
            sections[index].lines += lines
        } else {
            sections.append((name, lines))
        }
    }

    mutating func remove(_ name: String) {
        sections.removeAll { $0.name == name }
    }

    /// Removes the line of `section` that starts with `prefix`.
    mutating func drop(_ name: String, keyPrefix prefix: String) {
        guard let index = sections.firstIndex(where: { $0.name == name }) else { return }
        sections[index].lines.removeAll { $0.hasPrefix(prefix) }
    }

    func writeSecret(_ name: String, _ contents: String, mode: Int = 0o600) {
        let file = directory + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(contents.utf8))
        chmod(file, mode_t(mode))
    }

    func makeLED(_ name: String) {
        try! FileManager.default.createDirectory(atPath: environment.ledClassDirectory + "/" + name, withIntermediateDirectories: true)
    }

    func load() -> ConfigLoader.Outcome {
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return ConfigLoader.load(path: path, environment: environment)
    }

    /// The 1-based line of the first line containing `marker`.
    func line(of marker: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains(marker) }) else {
            Issue.record("marker \(marker) is not in the file", sourceLocation: sourceLocation)
            return -1
        }
        return index + 1
    }

    func valid(sourceLocation: SourceLocation = #_sourceLocation) -> ProvisioningConfig? {
        switch load() {
        case .valid(let config, let warnings):
            #expect(warnings.isEmpty, "unexpected warnings: \(warnings)", sourceLocation: sourceLocation)
            return config
        case .invalid(let diagnostics):
            Issue.record("invalid: \(diagnostics.map(\.description).joined(separator: "\n"))", sourceLocation: sourceLocation)
            return nil
        case .unreadable(let reason):
            Issue.record("unreadable: \(reason)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Every diagnostic of an invalid file (errors and warnings).
    func problems(sourceLocation: SourceLocation = #_sourceLocation) -> [Diagnostic] {
        switch load() {
        case .invalid(let diagnostics): return diagnostics
        case .valid(_, let warnings):
            Issue.record("the file was accepted; warnings: \(warnings)", sourceLocation: sourceLocation)
            return warnings
        case .unreadable(let reason):
            Issue.record("unreadable: \(reason)", sourceLocation: sourceLocation)
            return []
        }
    }

    func warnings(sourceLocation: SourceLocation = #_sourceLocation) -> [Diagnostic] {
        switch load() {
        case .valid(_, let warnings): return warnings
        case .invalid(let diagnostics):
            Issue.record("invalid: \(diagnostics.map(\.description).joined(separator: "\n"))", sourceLocation: sourceLocation)
            return []
        case .unreadable(let reason):
            Issue.record("unreadable: \(reason)", sourceLocation: sourceLocation)
            return []
        }
    }

    /// Expects exactly one error, on `line`, for `key`, whose message contains `message`.
    func expectSingleError(line: Int, key: String, message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let errors = problems(sourceLocation: sourceLocation).filter { $0.severity == .error }
        #expect(errors.count == 1, "\(errors.map(\.description))", sourceLocation: sourceLocation)
        guard let error = errors.first else { return }
        #expect(error.file == path, sourceLocation: sourceLocation)
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.key == key, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(message), "\(error)", sourceLocation: sourceLocation)
        #expect(error.expected?.isEmpty == false, "every error says what was expected: \(error)", sourceLocation: sourceLocation)
    }
}
