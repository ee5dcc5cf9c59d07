extension ConfigDecoder {
    func decodeServer(policy: DistrictPolicy?) -> ProvisioningConfig.Server? {
        let section = reader.section("server")
        let hostExpected = "the district's Jitsi host name, e.g. \"meet.schule.example\""
        let host = reader.string("host", in: section, default: nil, expected: hostExpected) {
            NetworkNames.normalizedHost($0) == nil ? "\"\($0)\" is not a host name (no scheme, port or path)" : nil
        }.flatMap(NetworkNames.normalizedHost)
        if let host, let line = section.table?["host"]?.node.line {
            checkDistrict(host, policy: policy, line: line, key: section.key("host"))
        }
        let domainCheck: (String) -> String? = { NetworkNames.isHostName($0) ? nil : "\"\($0)\" is not a domain name" }
        let xmppDomain = reader.string("xmpp_domain", in: section, default: host ?? "", expected: "the XMPP domain, e.g. \"meet.jitsi\"", check: domainCheck)?.lowercased()
        let domain = xmppDomain ?? ""
        let mucDomain = reader.string("muc_domain", in: section, default: "conference.\(domain)",
                                      expected: "the MUC domain, e.g. \"conference.meet.schule.example\"", check: domainCheck)?.lowercased()
        let focus = reader.string("focus", in: section, default: "focus.\(domain)",
                                  expected: "the focus (Jicofo) address, e.g. \"focus.meet.schule.example\"", check: domainCheck)?.lowercased()
        let websocketURL = decodeWebSocketURL(in: section, host: host, policy: policy)
        let caBundle = decodeCABundle(in: section)
        let login = reader.string("login", in: section, default: "anonymous", expected: "\"anonymous\", \"account\" or \"token\"") {
            ProvisioningConfig.Server.Login(rawValue: $0) == nil ? "unknown login \"\($0)\"" : nil
        }.flatMap(ProvisioningConfig.Server.Login.init(rawValue:))
        let (account, password) = decodeAccount(in: section, login: login)
        let (token, claims) = decodeToken(in: section, login: login)
        guard let host, let xmppDomain, let mucDomain, let focus, let websocketURL, let caBundle, let login else { return nil }
        return .init(host: host, xmppDomain: xmppDomain, mucDomain: mucDomain, focus: focus, websocketURL: websocketURL,
                     caBundle: caBundle.isEmpty ? nil : caBundle, login: login, account: account, accountPassword: password,
                     token: token, tokenClaims: claims)
    }

    /// `token_file`: required with `login = "token"`, refused otherwise; it must hold a JWT
    /// (the server checks the rest). Its content is never part of a message.
    private func decodeToken(in section: ConfigReader.Section, login: ProvisioningConfig.Server.Login?) -> (Secret?, JitsiToken?) {
        guard login == .token else {
            if let entry = reader.entry("token_file", in: section), login != nil {
                reader.error(entry.keyLine, section.key("token_file"), "only used with login = \"token\"", expected: "no token_file for this login")
            }
            return (nil, nil)
        }
        guard let token = secret("token_file", in: section, required: true) else { return (nil, nil) }
        guard let claims = JitsiToken(token.reveal()) else {
            reader.error(section.table?["token_file"]?.node.line ?? section.line, section.key("token_file"),
                         "\(token.path) does not hold a JWT (header.payload.signature in base64url)", expected: "the token the district issued for this box")
            return (nil, nil)
        }
        return (token, claims)
    }

    private func decodeWebSocketURL(in section: ConfigReader.Section, host: String?, policy: DistrictPolicy?) -> WebSocketURL? {
        let expected = "wss://HOST[:PORT]/xmpp-websocket"
        let text = reader.string("websocket_url", in: section, default: host.map { "wss://\($0)/xmpp-websocket" } ?? "", expected: expected) {
            WebSocketURL($0) == nil ? "\"\($0)\" is not a WebSocket URL" : nil
        }
        guard let text, let url = WebSocketURL(text) else { return nil }
        guard let line = section.table?["websocket_url"]?.node.line else { return url }  // the default is derived from host
        let key = section.key("websocket_url")
        if !url.secure && !NetworkNames.isLoopback(url.host) {
            reader.error(line, key, "unencrypted ws:// is only allowed to this machine (loopback)", expected: "wss://")
            return nil
        }
        return checkDistrict(url.host, policy: policy, line: line, key: key) ? url : nil
    }

    private func decodeCABundle(in section: ConfigReader.Section) -> String? {
        let expected = "the path of a PEM file with the district's CA certificate(s)"
        guard let path = reader.string("ca_bundle", in: section, default: "", expected: expected) else { return nil }
        guard !path.isEmpty, let line = section.table?["ca_bundle"]?.node.line else { return path }
        let resolved = FileAccess.resolve(path, relativeTo: directory)
        switch FileAccess.read(resolved) {
        case .failure(let failure):
            reader.error(line, section.key("ca_bundle"), "cannot read \(resolved): \(failure.reason)", expected: expected)
            return nil
        case .success(let bytes):
            guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                reader.error(line, section.key("ca_bundle"), "\(resolved) holds no PEM certificate", expected: expected)
                return nil
            }
            return resolved
        }
    }

    /// `account` and `account_password_file`: required with `login = "account"`, refused otherwise.
    private func decodeAccount(in section: ConfigReader.Section, login: ProvisioningConfig.Server.Login?) -> (String?, Secret?) {
        guard login == .account else {
            for key in ["account", "account_password_file"] {
                if let entry = reader.entry(key, in: section), login != nil {
                    reader.error(entry.keyLine, section.key(key), "only used with login = \"account\"", expected: "no \(key) for this login")
                }
            }
            return (nil, nil)
        }
        let account = reader.string("account", in: section, default: nil, expected: "the box's XMPP account name, e.g. \"box-4b\"") { name in
            let ok = !name.isEmpty && name.utf8.count <= 64
                && name.utf8.allSatisfy { NetworkNames.isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
            return ok ? nil : "\"\(name)\" is not an account name (letters, digits, '.', '_', '-')"
        }
        return (account?.lowercased(), secret("account_password_file", in: section, required: true))
    }

    func decodeRoom() -> ProvisioningConfig.Room? {
        let section = reader.section("room")
        let name = reader.string("name", in: section, default: nil,
                                 expected: "the room name from the meeting link: lower-case letters, digits, '.', '_', '-'") { name in
            guard !name.isEmpty, name.utf8.count <= 64 else { return "a room name has 1 to 64 characters" }
            let allowed = name.utf8.allSatisfy {
                NetworkNames.isASCIIDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
            return allowed ? nil : "\"\(name)\" has characters a Jitsi room name cannot have"
        }
        let password = secret("password_file", in: section, required: true)
        let label = reader.string("label", in: section, default: nil,
                                  expected: "the name others see, a room label such as \"Klasse 4b\", never a person's name",
                                  check: Self.labelProblem)
        let organiser = reader.boolean("organiser", in: section, default: false)
        let startVideoMuted = reader.boolean("start_video_muted", in: section, default: true)
        let startAudioMuted = reader.boolean("start_audio_muted", in: section, default: false)
        if organiser == false {
            for key in ["start_video_muted", "start_audio_muted"] {
                if let entry = section.table?[key] {
                    reader.warning(entry.keyLine, section.key(key), "has no effect unless room.organiser = true",
                                   expected: "set only on the organiser's box")
                }
            }
        }
        guard let name, let password, let label, let organiser, let startVideoMuted, let startAudioMuted else { return nil }
        return .init(name: name, password: password, label: label, organiser: organiser,
                     startVideoMuted: startVideoMuted, startAudioMuted: startAudioMuted)
    }

    static func labelProblem(_ label: String) -> String? {
        if label.isEmpty || label.count > 48 { return "a label has 1 to 48 characters" }
        if label.first == " " || label.last == " " { return "the label starts or ends with a space" }
        if label.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "the label has control characters" }
        if label.contains("@") { return "the label looks like an e-mail address" }
        return nil
    }
}
