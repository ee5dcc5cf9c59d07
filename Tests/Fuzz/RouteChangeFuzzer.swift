// libFuzzer harness for the rtnetlink reader (Sources/Transport/RouteChange.swift, the one
// file): whatever a netlink datagram holds, reading it ends, and every address it yields is
// a whole IPv4 or IPv6 address. Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouteChange(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let changes = RouteChange.changes(in: UnsafeRawBufferPointer(start: data, count: size))
    precondition(changes.count <= size / 16 + 1, "at most one change per message of 16 octets or more")
    for change in changes {
        switch change {
        case .addressAdded(let address), .addressRemoved(let address):
            precondition(address.bytes.count == 4 || address.bytes.count == 16)
        default: break
        }
        _ = change.description
    }
    return 0
}
