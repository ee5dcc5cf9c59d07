import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// A school whose firewall lets no UDP out but to the district's TURN server: the NAT
    /// network of ``NATLink`` with a forward filter on its router that drops everything
    /// from the inside except UDP to coturn's port (and what answers it). The peer (aiortc)
    /// sits next to coturn outside; the box must allocate a relayed candidate with the
    /// provisioned credentials, and every packet of the call must go through the relay.
    @Suite(.serialized, .enabled(if: NATLink.available, "needs root, iproute2, nftables, coturn and aiortc (make deps installs them)"))
    struct LockedDownSchoolTests {
        /// coturn with long-term credentials in the outside namespace: on UDP 3478, or (with
        /// `certificates`) only TLS on 443 — `no-tcp` leaves no plain listener, so a box that
        /// gets through has spoken TLS.
        static func turnServer(_ link: NATLink, directory: String, certificates: TestCertificates? = nil) throws -> SpawnedProcess {
            let listeners = certificates.map { ["--tls-listening-port", "443", "--no-tcp", "--no-udp", "--cert", $0.serverCertificate, "--pkey", $0.serverKey] }
                ?? ["--listening-port", "3478", "--no-tls", "--no-tcp"]
            return try SpawnedProcess(ExternalProcess.which("ip")!, [
                "netns", "exec", link.outside, ExternalProcess.which("turnserver")!, "-n", "--no-cli", "--no-dtls",
                "--listening-ip", link.outsideAddress, "--relay-ip", link.outsideAddress,
                "--min-port", "49152", "--max-port", "49200", "--lt-cred-mech", "--user", "klasse4b:geheim", "--realm", "schule.example",
                "--fingerprint", "--log-file", "stdout", "--simple-log", "--db", "\(directory)/turndb", "--pidfile", "\(directory)/turn.pid",
            ] + listeners, environment: ProcessInfo.processInfo.environment)
        }

        /// The school's router forwards UDP from the inside to coturn's port (counted), the
        /// answers to what went out, and nothing else (counted as it is dropped).
        static func firewall(_ link: NATLink, open: String = "udp dport 3478") throws {
            for rule in ["add table inet school",
                         "add chain inet school forward { type filter hook forward priority 0; policy drop; }",
                         "add rule inet school forward iifname cbxr\(link.id) ip daddr \(link.outsideAddress) \(open) counter accept",
                         "add rule inet school forward ct state established,related accept",
                         "add rule inet school forward counter drop"] {
                try LossyLink.run(["ip", "netns", "exec", link.router, "nft", rule])
            }
        }

        static func scratch() throws -> String {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coturn-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return directory
        }

        /// The sim board's file, in the school: no loopback candidates, the TURN server
        /// provisioned (and inside the district's domains), its password in a 0600 file.
        static func config(_ link: NATLink, password: String, url: String? = nil, caBundle: String? = nil) throws -> String {
            var replacements = [
                "loopback = true": "",
                // Half the sim board's 720p: what is proven is the path, and aiortc decodes in Python on the same two cores.
                "width = 1280\nheight = 720": "width = 640\nheight = 360",
                "district_domains = [\"localhost\",": "district_domains = [\"\(link.outsideAddress)\", \"localhost\",",
            ]
            if let caBundle { replacements["[room]"] = "ca_bundle = \"\(caBundle)\"\n\n[room]" }
            let config = try ExternalProcess.simConfig(appending: """

                [[network.turn]]
                url = "\(url ?? "turn:\(link.outsideAddress):3478")"
                username = "klasse4b"
                password_file = "turn-password"
                """, replacing: replacements)
            let secret = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("turn-password").path
            FileManager.default.createFile(atPath: secret, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
            return config
        }

        /// "udp": only UDP to coturn's 3478 is open; "tls": only TCP to coturn's 443, where it
        /// speaks nothing but TLS (the school that lets only HTTPS out).
        @Test(arguments: ["udp", "tls"]) func onlyTheRelayGetsThroughAndMediaFlowsThroughIt(way: String) throws {
            let link = NATLink()
            defer { link.down() }
            try link.up()
            try Self.firewall(link, open: way == "tls" ? "tcp dport 443" : "udp dport 3478")
            let directory = try Self.scratch()
            let certificates = way == "tls" ? try TestCertificates(names: ["IP:\(link.outsideAddress)"]) : nil
            let turn = try Self.turnServer(link, directory: directory, certificates: certificates)
            defer { turn.signal(SIGTERM); _ = turn.wait(timeout: 5) }
            Thread.sleep(forTimeInterval: 0.5)
            let config = try Self.config(link, password: "geheim", url: way == "tls" ? "turns:\(link.outsideAddress):443" : nil,
                                         caBundle: certificates?.caCertificate)
            let run = try AiortcPeer.run(boxRole: "offer", seconds: 8, environment: ["CLASSBOX_PEER_ADDRESS": link.outsideAddress],
                                         wrap: ["ip", "netns", "exec", link.inside],
                                         peerWrap: [ExternalProcess.which("ip")!, "netns", "exec", link.outside], config: config)
            let candidates = run.offer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("a=candidate:") }
            let relay = candidates.first { $0.contains("typ relay") }
            #expect(relay?.contains(" \(link.outsideAddress) ") == true && relay?.contains("raddr \(link.routerOutsideAddress)") == true,
                    "the offer names the relayed address on coturn, and the school's outside address coturn saw: \(candidates)")
            try run.expectMediaFlowed()
            let rules = try LossyLink.run(["ip", "netns", "exec", link.router, "nft", "list", "chain", "inet", "school", "forward"])
            let counts = rules.split(whereSeparator: \.isNewline).compactMap { line -> (String, Int)? in
                guard let range = line.range(of: "packets ") else { return nil }
                return (line.contains("dport") ? "turn" : "dropped", Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0)
            }
            let toTURN = counts.first { $0.0 == "turn" }?.1 ?? 0, dropped = counts.first { $0.0 == "dropped" }?.1 ?? 0
            #expect(toTURN > 300, "eight seconds of audio and video went to coturn: \(rules)")
            #expect(dropped > 0, "the box's direct checks were dropped by the school's firewall: \(rules)")
            print("locked-down school (\(way)): \(relay ?? "no relay candidate"); \(toTURN) packets to TURN, \(dropped) dropped")
        }

        @Test func aWrongTURNPasswordIsOneLineAndNoMediaGetsOut() throws {
            let link = NATLink()
            defer { link.down() }
            try link.up()
            try Self.firewall(link)
            let directory = try Self.scratch()
            let turn = try Self.turnServer(link, directory: directory)
            defer { turn.signal(SIGTERM); _ = turn.wait(timeout: 5) }
            Thread.sleep(forTimeInterval: 0.5)
            let run = try AiortcPeer.run(boxRole: "offer", seconds: 3, environment: ["CLASSBOX_PEER_ADDRESS": link.outsideAddress],
                                         wrap: ["ip", "netns", "exec", link.inside],
                                         peerWrap: [ExternalProcess.which("ip")!, "netns", "exec", link.outside],
                                         config: try Self.config(link, password: "falsch"), peerMustSucceed: false)
            let lines = run.boxLog.split(whereSeparator: \.isNewline).filter { $0.contains("refused the user name or password") }
            #expect(lines.count == 1 && !run.boxLog.contains("falsch"), "one line, no secret: \(run.boxLog.suffix(1500))")
            #expect(!run.offer.contains("typ relay") && run.box["state"] as? String != "connected", "box: \(run.box)")
            #expect((run.peer["numbers"] as? [Any] ?? []).isEmpty, "no frame reached the peer: \(run.peer)")
        }
    }
}
