import ClassboxTestSupport
import Foundation
import Testing

/// A school network behind a NAT, in three network namespaces of the test's own: the box
/// on the inside, a router that masquerades, and outside it the district's STUN server
/// (coturn, the real one) and the peer (aiortc). The box must learn its outside address from
/// the configured STUN server, signal it as a server-reflexive candidate, and get media through.
struct NATLink {
    let id = String(UUID().uuidString.prefix(6)).lowercased()
    let octet = Int.random(in: 1...250)
    var inside: String { "cbx-in-\(id)" }
    var router: String { "cbx-nat-\(id)" }
    var outside: String { "cbx-out-\(id)" }
    var boxAddress: String { "10.98.\(octet).2" }
    var routerInsideAddress: String { "10.98.\(octet).1" }
    var routerOutsideAddress: String { "10.97.\(octet).1" }
    var outsideAddress: String { "10.97.\(octet).2" }

    static var available: Bool { LossyLink.available && ExternalProcess.which("turnserver") != nil }

    func up() throws {
        let a = "cbxi\(id)", b = "cbxr\(id)", c = "cbxs\(id)", d = "cbxo\(id)"
        for command in [
            ["ip", "netns", "add", inside], ["ip", "netns", "add", router], ["ip", "netns", "add", outside],
            ["ip", "link", "add", a, "type", "veth", "peer", "name", b],
            ["ip", "link", "add", c, "type", "veth", "peer", "name", d],
            ["ip", "link", "set", a, "netns", inside], ["ip", "link", "set", b, "netns", router],
            ["ip", "link", "set", c, "netns", router], ["ip", "link", "set", d, "netns", outside],
            ["ip", "-n", inside, "addr", "add", "\(boxAddress)/24", "dev", a],
            ["ip", "-n", router, "addr", "add", "\(routerInsideAddress)/24", "dev", b],
            ["ip", "-n", router, "addr", "add", "\(routerOutsideAddress)/24", "dev", c],
            ["ip", "-n", outside, "addr", "add", "\(outsideAddress)/24", "dev", d],
            ["ip", "-n", inside, "link", "set", a, "up"], ["ip", "-n", router, "link", "set", b, "up"],
            ["ip", "-n", router, "link", "set", c, "up"], ["ip", "-n", outside, "link", "set", d, "up"],
            ["ip", "-n", inside, "link", "set", "lo", "up"], ["ip", "-n", outside, "link", "set", "lo", "up"],
            // The inside reaches the world through the router; the outside has no route back in.
            ["ip", "-n", inside, "route", "add", "default", "via", routerInsideAddress],
            ["ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
            ["ip", "netns", "exec", router, "nft", "add", "table", "ip", "nat"],
            ["ip", "netns", "exec", router, "nft", "add chain ip nat post { type nat hook postrouting priority 100; }"],
            ["ip", "netns", "exec", router, "nft", "add rule ip nat post oifname \(c) masquerade"],
        ] {
            try LossyLink.run(command)
        }
    }

    func down() {
        for namespace in [inside, router, outside] { _ = try? LossyLink.run(["ip", "netns", "delete", namespace]) }
    }
}

extension RealPeers {
    @Suite(.serialized, .enabled(if: NATLink.available, "needs root, iproute2, nftables, coturn and aiortc (make deps installs them)"))
    struct NATTraversalTests {
        @Test func theBoxBehindANATIsReachedThroughItsServerReflexiveCandidate() throws {
            let link = NATLink()
            defer { link.down() }
            try link.up()
            let stun = try SpawnedProcess(ExternalProcess.which("ip")!, [
                "netns", "exec", link.outside, ExternalProcess.which("turnserver")!, "-n", "--stun-only", "--no-cli", "--no-tls", "--no-dtls",
                "--listening-ip", link.outsideAddress, "--listening-port", "3478", "--log-file", "stdout", "--simple-log",
            ], environment: ProcessInfo.processInfo.environment)
            defer { stun.signal(SIGTERM); _ = stun.wait(timeout: 5) }
            Thread.sleep(forTimeInterval: 0.5)
            let config = try ExternalProcess.simConfig(replacing: [
                "loopback = true": "stun = [\"stun:\(link.outsideAddress):3478\"]",
                "district_domains = [\"localhost\",": "district_domains = [\"\(link.outsideAddress)\", \"localhost\",",
            ])
            let run = try AiortcPeer.run(boxRole: "offer", seconds: 6, environment: ["CLASSBOX_PEER_ADDRESS": link.outsideAddress],
                                         wrap: ["ip", "netns", "exec", link.inside],
                                         peerWrap: [ExternalProcess.which("ip")!, "netns", "exec", link.outside], config: config)
            let candidates = run.offer.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("a=candidate:") }
            let srflx = candidates.first { $0.contains("typ srflx") }
            #expect(srflx?.contains(" \(link.routerOutsideAddress) ") == true && srflx?.contains("raddr \(link.boxAddress)") == true,
                    "the offer names the NAT's outside address as seen by coturn: \(run.offer)")
            #expect(!candidates.contains { $0.contains(" 127.0.0.1 ") }, "no loopback candidate outside a test rig: \(candidates)")
            try run.expectMediaFlowed()
            print("NAT: \(srflx ?? "no srflx candidate")")
        }
    }
}
