import Testing
import Wire
@testable import Transport

/// rtnetlink broadcasts as the kernel writes them (rtnetlink(7); host byte order), built here.
struct RouteChangeTests {
    static func message(type: UInt16, body: [UInt8]) -> [UInt8] {
        let length = UInt32(16 + body.count)
        var bytes = withUnsafeBytes(of: length) { Array($0) } + withUnsafeBytes(of: type) { Array($0) } + [0, 0] + [UInt8](repeating: 0, count: 8) + body
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt16(4 + value.count)) { Array($0) } + withUnsafeBytes(of: type) { Array($0) } + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    /// ifaddrmsg: family, prefix length, flags, scope, index.
    static func addressMessage(removed: Bool, address: [UInt8]) -> [UInt8] {
        let family: UInt8 = address.count == 4 ? 2 : 10
        return message(type: removed ? 21 : 20, body: [family, 24, 0, 0, 3, 0, 0, 0] + attribute(1, address) + attribute(2, address))
    }

    @Test func addressesRoutesAndLinksAreRead() {
        var datagram = Self.addressMessage(removed: true, address: [10, 77, 0, 2])
        datagram += Self.addressMessage(removed: false, address: [10, 77, 0, 3])
        datagram += Self.addressMessage(removed: false, address: [0xfd] + [UInt8](repeating: 0, count: 14) + [3])
        // rtmsg: family, dst_len 0, src_len, tos, table 254 (main), protocol, scope, type, flags.
        datagram += Self.message(type: 25, body: [2, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])
        datagram += Self.message(type: 24, body: [2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])  // a subnet route: not the default
        datagram += Self.message(type: 24, body: [2, 0, 0, 0, 255, 4, 0, 1, 0, 0, 0, 0])  // the local table: not ours
        // ifinfomsg: family, pad, type, index 3, flags IFF_UP|IFF_RUNNING, change.
        datagram += Self.message(type: 16, body: [0, 0, 1, 0, 3, 0, 0, 0, 0x41, 0, 0, 0, 0, 0, 0, 0])
        let changes = datagram.withUnsafeBytes { RouteChange.changes(in: $0) }
        #expect(changes == [.addressRemoved(SocketAddress(host: "10.77.0.2", port: 0)!), .addressAdded(SocketAddress(host: "10.77.0.3", port: 0)!),
                            .addressAdded(SocketAddress(host: "fd00::3", port: 0)!), .defaultRouteRemoved, .linkChanged(index: 3, up: true)])
        #expect(changes[0].description == "address 10.77.0.2 removed")
    }

    @Test func aMalformedMessageEndsTheReadingWithoutATrap() {
        var datagram = Self.addressMessage(removed: true, address: [10, 77, 0, 2])
        datagram += [200, 0, 0, 0, 20, 0]  // claims 200 octets, has 6
        #expect(datagram.withUnsafeBytes { RouteChange.changes(in: $0) }.count == 1)
        let shortAttribute = Self.message(type: 20, body: [2, 24, 0, 0, 3, 0, 0, 0, 40, 0, 1, 0])
        #expect(shortAttribute.withUnsafeBytes { RouteChange.changes(in: $0) }.isEmpty)
    }
}
