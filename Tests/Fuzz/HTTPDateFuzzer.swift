// libFuzzer harness for what the district's server answers the clock (Sources/TimeKeeping,
// HTTPResponseHead.swift and HTTPDate.swift): whatever the bytes, reading ends, a date is
// never before 1970 nor past year 9999, and a head is only complete with its empty line.
// Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPDate(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    switch HTTPResponseHead.read(bytes) {
    case .complete(let head):
        precondition((100...599).contains(head.status))
        if let date = head.date { precondition(date >= 0 && date < 253_402_300_800) }
        precondition(size >= 4, "a complete head has its empty line")
    case .incomplete:
        precondition(size < HTTPResponseHead.maximumSize)
    case .malformed(let reason):
        precondition(!reason.isEmpty)
    }
    if let date = HTTPDate.seconds(String(decoding: bytes, as: UTF8.self)) {
        precondition(date >= 0 && date < 253_402_300_800)
    }
    return 0
}
