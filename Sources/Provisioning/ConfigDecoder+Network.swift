extension ConfigDecoder {
    func decodeNetwork(policy: DistrictPolicy?) -> ProvisioningConfig.Network? {
        let section = reader.section("network")
        let domainsExpected = "the district's own domains or addresses, e.g. [\"schule.example\"]"
        let domains = reader.strings("district_domains", in: section, default: nil, expected: domainsExpected) { domain in
            guard let host = NetworkNames.normalizedHost(domain) else { return "\"\(domain)\" is not a domain name or address" }
            if NetworkNames.ipAddress(host) == nil && !host.contains(".") && host != "localhost" {
                return "\"\(domain)\" is a whole top-level domain"
            }
            return nil
        }?.compactMap(NetworkNames.normalizedHost)
        if let domains, domains.isEmpty, let line = section.table?["district_domains"]?.node.line {
            reader.error(line, section.key("district_domains"), "the allow-list is empty", expected: domainsExpected)
        }
        let mediaNetworks = networks("media_networks", in: section)
        let stun = decodeSTUN(in: section, policy: policy)
        let turn = reader.sectionArray("turn", in: section).map { decodeTURN($0, policy: policy) }
        let ntp = decodeNTP(in: section, policy: policy)
        let ipv6 = reader.boolean("ipv6", in: section, default: true)
        let interfaces = reader.strings("interfaces", in: section, default: [], expected: "network interface names such as \"eth0\"") { name in
            let ok = !name.isEmpty && name.utf8.count <= 15
                && name.utf8.allSatisfy { NetworkNames.isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
            return ok ? nil : "\"\(name)\" is not an interface name"
        }
        let loopback = reader.boolean("loopback", in: section, default: false)
        let turnFromServer = reader.boolean("turn_from_server", in: section, default: false)
        guard let domains, !domains.isEmpty, let mediaNetworks, let stun, let ntp, let ipv6, let interfaces, let loopback, let turnFromServer,
              turn.allSatisfy({ $0 != nil }) else { return nil }
        return .init(districtDomains: domains, mediaNetworks: mediaNetworks, stun: stun, turn: turn.compactMap { $0 }, ntp: ntp,
                     turnFromServer: turnFromServer, ipv6: ipv6, interfaces: interfaces, loopback: loopback)
    }

    private func decodeSTUN(in section: ConfigReader.Section, policy: DistrictPolicy?) -> [HostPort]? {
        guard let texts = reader.strings("stun", in: section, default: [], expected: "district STUN servers such as \"stun:turn.schule.example:3478\"",
                                         check: { HostPort.stun($0) == nil ? "\"\($0)\" is not a stun: URI" : nil }) else { return nil }
        var servers: [HostPort] = []
        var valid = true
        for (index, text) in texts.enumerated() {
            guard let server = HostPort.stun(text) else { continue }
            let line = elementLine(of: "stun", at: index, in: section)
            valid = checkDistrict(server.host, policy: policy, line: line, key: "\(section.key("stun"))[\(index + 1)]") && valid
            servers.append(server)
        }
        return valid ? servers : nil
    }

    /// `ntp`: the district's NTP servers, each a host inside the allow-list (no public pool).
    private func decodeNTP(in section: ConfigReader.Section, policy: DistrictPolicy?) -> [String]? {
        guard let hosts = reader.strings("ntp", in: section, default: [], expected: "the district's NTP servers such as \"ntp.schule.example\"",
                                         check: { NetworkNames.normalizedHost($0) == nil ? "\"\($0)\" is not a host name or address" : nil }) else { return nil }
        var valid = true
        let normalized = hosts.compactMap(NetworkNames.normalizedHost)
        for (index, host) in normalized.enumerated() {
            valid = checkDistrict(host, policy: policy, line: elementLine(of: "ntp", at: index, in: section), key: "\(section.key("ntp"))[\(index + 1)]") && valid
        }
        return valid ? normalized : nil
    }

    private func decodeTURN(_ section: ConfigReader.Section, policy: DistrictPolicy?) -> ProvisioningConfig.TURNServer? {
        let url = reader.string("url", in: section, default: nil, expected: "turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT]") {
            TURNURL($0) == nil ? "\"\($0)\" is not a TURN URI" : nil
        }.flatMap(TURNURL.init)
        var allowed = true
        if let url, let line = section.table?["url"]?.node.line {
            allowed = checkDistrict(url.host, policy: policy, line: line, key: section.key("url"))
        }
        let username = reader.string("username", in: section, default: nil, expected: "the TURN user name the district gave this box") {
            $0.isEmpty || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "the user name is empty or has control characters" : nil
        }
        let password = secret("password_file", in: section, required: true)
        guard allowed, let url, let username, let password else { return nil }
        return .init(url: url, username: username, password: password)
    }

    private func elementLine(of key: String, at index: Int, in section: ConfigReader.Section) -> Int {
        guard let entry = section.table?[key], case .array(let elements) = entry.node.value, index < elements.count else {
            return section.line
        }
        return elements[index].line
    }
}
