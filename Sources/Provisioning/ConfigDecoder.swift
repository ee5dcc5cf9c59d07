/// Turns a parsed provisioning file into a ``ProvisioningConfig``, checking every key.
/// One function per table, in the files `ConfigDecoder+*.swift`.
struct ConfigDecoder {
    let reader: ConfigReader
    /// Relative paths in the file (secrets, CA bundle) are relative to its directory.
    let directory: String
    let environment: ConfigEnvironment

    func decode() -> ProvisioningConfig? {
        let root = reader.root
        _ = reader.integer("config_version", in: root, default: nil, range: 1...Int(Int32.max),
                           expected: "config_version = \(ProvisioningConfig.supportedVersion)") { version in
            version == ProvisioningConfig.supportedVersion ? nil
                : "this firmware reads version \(ProvisioningConfig.supportedVersion), not \(version); update the firmware or the file"
        }
        let policy = districtPolicy()
        let server = decodeServer(policy: policy)
        let room = decodeRoom()
        let camera = decodeCamera()
        let audio = decodeAudio()
        let privacy = decodePrivacy(camera: camera)
        let network = decodeNetwork(policy: policy)
        let update = decodeUpdate()
        let log = decodeLog()
        let display = decodeDisplay(camera: camera)
        reader.reportUnknownKeys()
        guard !reader.hasErrors, let network, let server, let room, let camera, let audio, let privacy, let update, let log, let display else {
            return nil
        }
        return ProvisioningConfig(server: server, room: room, camera: camera, audio: audio, privacy: privacy,
                                  network: network, update: update, log: log, display: display)
    }

    /// The allow-list from the well-formed entries of `network.district_domains`, read ahead
    /// of everything that names a host (the entries themselves are checked in decodeNetwork).
    func districtPolicy() -> DistrictPolicy? {
        guard let entry = reader.document.root.entry(at: ["network", "district_domains"]),
              case .array(let elements) = entry.node.value else { return nil }
        let domains = elements.compactMap { element -> String? in
            guard case .string(let text) = element.value else { return nil }
            return NetworkNames.normalizedHost(text)
        }
        return domains.isEmpty ? nil : DistrictPolicy(domains: domains)
    }

    func decodeUpdate() -> ProvisioningConfig.Update? {
        let section = reader.section("update")
        let keys = reader.strings("authorized_keys", in: section, default: [],
                                  expected: "OpenSSH public keys such as \"ssh-ed25519 AAAA... it@district\"") { line in
            switch SSHPublicKey.parse(line) {
            case .success: return nil
            case .failure(let problem): return problem.message
            }
        }
        let allowFrom = networks("allow_from", in: section)
        let trial = reader.integer("trial_seconds", in: section, default: 300, range: 30...3600, unit: " seconds")
        guard let keys, let allowFrom, let trial else { return nil }
        return .init(authorizedKeys: keys, allowFrom: allowFrom, trialSeconds: trial)
    }

    func decodeLog() -> ProvisioningConfig.Log? {
        let section = reader.section("log")
        let names = ProvisioningConfig.Log.Level.allCases.map(\.rawValue)
        let level = reader.string("level", in: section, default: "info", expected: "one of \(names.joined(separator: ", "))") {
            ProvisioningConfig.Log.Level(rawValue: $0) == nil ? "unknown level \"\($0)\"" : nil
        }
        return level.flatMap(ProvisioningConfig.Log.Level.init(rawValue:)).map { .init(level: $0) }
    }

    func decodeDisplay(camera: ProvisioningConfig.Camera?) -> ProvisioningConfig.Display? {
        let section = reader.section("display")
        let deviceText = reader.string("device", in: section, default: "auto",
                                       expected: "\"auto\", \"none\", \"snapshot\" or a DRM device such as \"/dev/dri/card0\"") {
            ["auto", "none", "snapshot"].contains($0) ? nil : Self.devicePathProblem($0, under: "/dev/dri/")
        }
        let device: ProvisioningConfig.Display.Device? = deviceText.map {
            switch $0 {
            case "auto": .automatic
            case "none": .none
            case "snapshot": .snapshot
            default: .card(path: $0)
            }
        }
        // The snapshot writes what the screen shows, others' pictures too, into a file: only
        // for the simulated board, whose own picture is a test pattern.
        if device == .snapshot, let camera, camera.source != .testPattern, let line = section.table?["device"]?.node.line {
            reader.error(line, section.key("device"), "the snapshot display only works with camera.device = \"test-pattern\"",
                         expected: "\"auto\", \"none\" or a DRM device")
        }
        let participants = reader.integer("max_participants", in: section, default: 6, range: 1...16, unit: " videos")
        let languages = ProvisioningConfig.Display.Language.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
        let language = reader.string("language", in: section, default: "de", expected: languages) {
            ProvisioningConfig.Display.Language(rawValue: $0) == nil ? "unknown language \"\($0)\"" : nil
        }.flatMap(ProvisioningConfig.Display.Language.init(rawValue:))
        var mode: ProvisioningConfig.Display.Mode?
        let modeText = reader.string("mode", in: section, default: "", expected: "a mode such as \"1920x1080\" or \"1920x1080@60\"") {
            $0.isEmpty || ProvisioningConfig.Display.Mode($0) != nil ? nil
                : "\"\($0)\" is not WIDTHxHEIGHT[@HZ] within 320x200 to 7680x4320 at 1 to 240 Hz"
        }
        if let modeText, !modeText.isEmpty { mode = ProvisioningConfig.Display.Mode(modeText) }
        guard let participants, let language, modeText != nil, let device else { return nil }
        return .init(maxParticipants: participants, language: language, mode: mode, device: device)
    }

    // MARK: Shared checks

    /// A list of CIDR ranges.
    func networks(_ key: String, in section: ConfigReader.Section) -> [IPNetwork]? {
        reader.strings(key, in: section, default: [], expected: "address ranges such as \"192.0.2.0/24\" or \"2001:db8::/32\"") {
            IPNetwork($0) == nil ? "\"\($0)\" is not an address range" : nil
        }?.compactMap(IPNetwork.init)
    }

    /// Reports a host outside the district allow-list; true when the host is allowed.
    @discardableResult
    func checkDistrict(_ host: String, policy: DistrictPolicy?, line: Int, key: String) -> Bool {
        guard let policy else { return true }  // the allow-list itself is broken; reported there
        if policy.allows(host: host) { return true }
        reader.error(line, key, "host \(host) is outside the district allow-list",
                     expected: "a host in network.district_domains: \(policy.domains.joined(separator: ", "))")
        return false
    }

    /// A secret file named by `key`: must exist, be private and hold one line.
    func secret(_ key: String, in section: ConfigReader.Section, required: Bool) -> Secret? {
        let expected = "the path of a file holding only the secret, mode 0600"
        guard let path = reader.string(key, in: section, default: required ? nil : "", expected: expected,
                                       check: { $0.isEmpty ? "the path is empty" : nil }), !path.isEmpty else { return nil }
        switch SecretFile.load(FileAccess.resolve(path, relativeTo: directory)) {
        case .success(let secret):
            return secret
        case .failure(let problem):
            reader.error(section.table?[key]?.node.line ?? section.line, section.key(key), problem.message, expected: problem.expected)
            return nil
        }
    }

    /// An absolute path below `/dev/`, e.g. a camera or input device.
    static func devicePathProblem(_ path: String, under prefix: String) -> String? {
        guard path.hasPrefix(prefix), path.count > prefix.count else { return "\"\(path)\" is not a device path under \(prefix)" }
        return path.split(separator: "/").contains("..") ? "\"..\" is not allowed in a device path" : nil
    }
}

/// Where the checks look at the running system; tests point it at a scratch tree.
public struct ConfigEnvironment: Sendable {
    /// The Linux LED class directory, holding one entry per LED name.
    public var ledClassDirectory: String

    public init(ledClassDirectory: String = "/sys/class/leds") {
        self.ledClassDirectory = ledClassDirectory
    }
}
