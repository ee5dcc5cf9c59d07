import JSON
import Runtime

/// The update engine, RAUC, through its command line: bundle checks, install, slot status
/// and the bootloader's good/bad marks. Signatures, compatibility and dm-verity are RAUC's
/// work; this only passes on what it says.
public struct RAUC: Sendable {
    public var executable = "/usr/bin/rauc"

    public init() {}

    /// What a bundle's signed manifest says.
    public struct BundleInfo: Equatable, Sendable {
        public var compatible: String
        public var version: String
    }

    /// One slot as `rauc status` shows it.
    public struct Slot: Equatable, Sendable {
        public var name: String
        public var bootname: String
        public var state: String
        public var bootStatus: String
        public var bundleVersion: String?
    }

    public struct Status: Equatable, Sendable {
        public var compatible: String
        public var booted: String
        public var primary: String
        public var slots: [Slot]
    }

    /// Checks the bundle's signature against the box's keyring and reads its manifest.
    public func info(bundle: String) throws(UpdateError) -> BundleInfo {
        let text = try run(["info", "--output-format=json", bundle], doing: "checking the bundle")
        guard let json = lastJSON(in: text), let compatible = json["compatible"]?.stringValue, let version = json["version"]?.stringValue else {
            throw .failed("RAUC did not describe the bundle: \(text.suffix(300))")
        }
        return BundleInfo(compatible: compatible, version: version)
    }

    public func status() throws(UpdateError) -> Status {
        // --detailed: RAUC 1.8 includes each slot's installed bundle only then.
        let text = try run(["status", "--detailed", "--output-format=json"], doing: "reading the slot status")
        guard let json = lastJSON(in: text) else { throw .failed("RAUC did not describe the slots: \(text.suffix(300))") }
        var slots: [Slot] = []
        for entry in json["slots"]?.arrayValue ?? [] {
            for (name, slot) in entry.members ?? [] {
                slots.append(Slot(name: name, bootname: slot["bootname"]?.stringValue ?? "", state: slot["state"]?.stringValue ?? "",
                                  bootStatus: slot["boot_status"]?.stringValue ?? "",
                                  bundleVersion: slot["slot_status"]?["bundle"]?["version"]?.stringValue))
            }
        }
        return Status(compatible: json["compatible"]?.stringValue ?? "", booted: json["booted"]?.stringValue ?? "",
                      primary: json["boot_primary"]?.stringValue ?? "", slots: slots.sorted { $0.name < $1.name })
    }

    /// Installs into the other slot; `progress` gets RAUC's progress lines as they come.
    public func install(bundle: String, progress: (String) -> Void) throws(UpdateError) {
        var last: [String] = []
        let exit: ChildProcess.Exit
        do {
            exit = try ChildProcess.run(executable, ["install", bundle]) { line in
                last = Array((last + [line]).suffix(8))
                progress(line)
            }
        } catch {
            throw .failed(error.description)
        }
        guard exit.succeeded else { throw .failed("RAUC could not install the bundle: \(Self.essence(of: last))") }
    }

    /// `rauc status mark-good|mark-bad|mark-active booted|other`.
    public func mark(_ mark: String, _ slot: String) throws(UpdateError) {
        _ = try run(["status", mark, slot], doing: "\(mark) \(slot)")
    }

    private func run(_ arguments: [String], doing what: String) throws(UpdateError) -> String {
        var lines: [String] = []
        let exit: ChildProcess.Exit
        do {
            exit = try ChildProcess.run(executable, arguments) { lines.append($0) }
        } catch {
            throw .failed("\(what) failed: \(error)")
        }
        guard exit.succeeded else { throw .failed("\(what) failed: \(Self.essence(of: lines))") }
        return lines.joined(separator: "\n")
    }

    /// RAUC's error lines without its timestamped progress messages, for a person to read.
    static func essence(of lines: [String]) -> String {
        let errors = lines.filter { !$0.hasPrefix("rauc-Message:") && !$0.trimmingPrefixWhitespace.isEmpty }
        return (errors.isEmpty ? lines : errors).suffix(4).joined(separator: " / ")
    }

    /// RAUC may print log lines before the JSON document; the document is the last line that parses.
    private func lastJSON(in text: String) -> JSONValue? {
        for line in text.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let value = JSONValue(parsing: String(line)) { return value }
        }
        return nil
    }
}

extension String {
    var trimmingPrefixWhitespace: Substring { drop { $0.isWhitespace } }
}
