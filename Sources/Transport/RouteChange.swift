import Wire

/// What an rtnetlink broadcast says changed under the box's feet (rtnetlink(7)): an address
/// added or removed, the default route added or removed, a link going up or down. Read from
/// the raw datagram without I/O, so it can be tested and fuzzed; ``NetworkChangeMonitor``
/// owns the socket.
public enum RouteChange: Sendable, Equatable, CustomStringConvertible {
    /// The address, port 0.
    case addressAdded(SocketAddress)
    case addressRemoved(SocketAddress)
    case defaultRouteAdded
    case defaultRouteRemoved
    case linkChanged(index: Int32, up: Bool)
    /// The kernel dropped messages (the socket overflowed): anything may have changed.
    case messagesLost

    public var description: String {
        switch self {
        case .addressAdded(let address): return "address \(address.host) added"
        case .addressRemoved(let address): return "address \(address.host) removed"
        case .defaultRouteAdded: return "default route added"
        case .defaultRouteRemoved: return "default route removed"
        case .linkChanged(let index, let up): return "link \(index) \(up ? "up" : "down")"
        case .messagesLost: return "change messages lost"
        }
    }

    // rtnetlink message types and attributes (linux/rtnetlink.h, linux/if_addr.h).
    static let newLink: UInt16 = 16, deleteLink: UInt16 = 17, newAddress: UInt16 = 20, deleteAddress: UInt16 = 21
    static let newRoute: UInt16 = 24, deleteRoute: UInt16 = 25
    static let addressAttribute: UInt16 = 1, localAttribute: UInt16 = 2, tableAttribute: UInt16 = 15
    static let mainTable: UInt32 = 254

    /// Every change one datagram carries (netlink messages in the host's byte order, each
    /// padded to 4 octets); anything malformed ends the reading there.
    public static func changes(in datagram: UnsafeRawBufferPointer) -> [RouteChange] {
        var changes: [RouteChange] = []
        var offset = 0
        while offset + 16 <= datagram.count {
            let length = Int(load(UInt32.self, datagram, offset))
            let type = load(UInt16.self, datagram, offset + 4)
            guard length >= 16, offset + length <= datagram.count else { break }
            let body = UnsafeRawBufferPointer(rebasing: datagram[(offset + 16)..<(offset + length)])
            switch type {
            case newAddress, deleteAddress:
                if let address = address(in: body) { changes.append(type == newAddress ? .addressAdded(address) : .addressRemoved(address)) }
            case newRoute, deleteRoute:
                if isDefaultRoute(body) { changes.append(type == newRoute ? .defaultRouteAdded : .defaultRouteRemoved) }
            case newLink, deleteLink:
                guard body.count >= 16 else { break }
                let flags = load(UInt32.self, body, 8)
                // IFF_UP and IFF_RUNNING: administratively up and carrier present.
                changes.append(.linkChanged(index: Int32(bitPattern: load(UInt32.self, body, 4)), up: type == newLink && flags & 0x41 == 0x41))
            default:
                break
            }
            offset += (length + 3) & ~3
        }
        return changes
    }

    /// ifaddrmsg (8 octets: family, prefix length, flags, scope, index), then attributes;
    /// IFA_LOCAL is the box's own address where IFA_ADDRESS is the peer's on point-to-point links.
    static func address(in body: UnsafeRawBufferPointer) -> SocketAddress? {
        guard body.count >= 8 else { return nil }
        let size = body[0] == 2 ? 4 : body[0] == 10 ? 16 : 0
        guard size > 0 else { return nil }
        var found: [UInt16: [UInt8]] = [:]
        forEachAttribute(in: body, from: 8) { type, value in
            if (type == addressAttribute || type == localAttribute) && value.count == size { found[type] = Array(value) }
        }
        return (found[localAttribute] ?? found[addressAttribute]).map { SocketAddress(bytes: $0, port: 0) }
    }

    /// rtmsg (12 octets: family, destination length, source length, tos, table, protocol,
    /// scope, type, flags): a route to everywhere (destination length 0) in the main table.
    static func isDefaultRoute(_ body: UnsafeRawBufferPointer) -> Bool {
        guard body.count >= 12, body[1] == 0 else { return false }
        var table = UInt32(body[4])
        forEachAttribute(in: body, from: 12) { type, value in
            if type == tableAttribute && value.count == 4 { table = load(UInt32.self, value, 0) }
        }
        return table == mainTable
    }

    static func forEachAttribute(in body: UnsafeRawBufferPointer, from start: Int, _ visit: (UInt16, UnsafeRawBufferPointer) -> Void) {
        var offset = start
        while offset + 4 <= body.count {
            let length = Int(load(UInt16.self, body, offset))
            guard length >= 4, offset + length <= body.count else { return }
            visit(load(UInt16.self, body, offset + 2) & 0x3FFF, UnsafeRawBufferPointer(rebasing: body[(offset + 4)..<(offset + length)]))
            offset += (length + 3) & ~3
        }
    }

    /// Netlink speaks the host's byte order.
    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> T {
        bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }
}
