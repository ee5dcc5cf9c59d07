#if canImport(Glibc)
import Glibc
#endif

/// What the box remembers about its last update, on the data partition so it survives the
/// reboot into the new slot (and a power cut): one `key=value` per line.
public struct UpdateRecord: Equatable, Sendable {
    public enum State: String, Sendable {
        /// RAUC is writing the other slot.
        case installing
        /// Written and made primary; the new slot is on trial until its health check passes.
        case installed
        /// The new slot came up healthy and was marked good.
        case good
        /// The new slot did not come up healthy; the box went back to the previous one.
        case rolledBack = "rolled-back"
        /// The bundle was refused (signature, board, version); the running system is untouched.
        case refused
        /// The install failed; the running system is untouched.
        case failed
    }

    public var state: State
    public var version: String
    /// The slot (RAUC bootname, `A` or `B`) the update went to.
    public var slot: String
    public var previousVersion: String
    public var previousSlot: String
    /// Wall-clock time of the last change, seconds since 1970.
    public var time: Int
    public var message: String

    public init(state: State, version: String, slot: String, previousVersion: String, previousSlot: String, time: Int, message: String) {
        (self.state, self.version, self.slot, self.previousVersion, self.previousSlot, self.time, self.message)
            = (state, version, slot, previousVersion, previousSlot, time, message)
    }

    public var serialized: String {
        let fields = [("state", state.rawValue), ("version", version), ("slot", slot), ("previous_version", previousVersion),
                      ("previous_slot", previousSlot), ("time", String(time)), ("message", message)]
        return fields.map { "\($0)=\($1.replacingNewlines)\n" }.joined()
    }

    public init?(parsing text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let state = fields["state"].flatMap(State.init(rawValue:)), let version = fields["version"], let slot = fields["slot"] else {
            return nil
        }
        self.init(state: state, version: version, slot: slot, previousVersion: fields["previous_version"] ?? "",
                  previousSlot: fields["previous_slot"] ?? "", time: fields["time"].flatMap { Int($0) } ?? 0, message: fields["message"] ?? "")
    }

    /// Reads the record; nil when there is none (or it cannot be read).
    public static func load(from path: String) -> UpdateRecord? {
        DurableFile.contents(of: path).flatMap { UpdateRecord(parsing: String(decoding: $0, as: UTF8.self)) }
    }

    /// Writes the record atomically (temporary file, fsync, rename, fsync of the directory):
    /// after a power cut the old or the new record is there, never half of one.
    public func store(at path: String) throws(UpdateError) {
        try DurableFile.replace(path, with: Array(serialized.utf8), mode: 0o644)
    }
}

extension String {
    var replacingNewlines: String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
    var nonEmpty: String? { isEmpty ? nil : self }
}
