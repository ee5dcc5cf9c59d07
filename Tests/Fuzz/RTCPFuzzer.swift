// libFuzzer harness: RTCP compound parsing (reports, SDES, BYE, NACK, PLI, FIR, REMB,
// transport-cc), and writing back what parsed. Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let packets = RTCPPacket.parseCompound(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    var storage = [UInt8](repeating: 0, count: 65536 * 4)
    storage.withUnsafeMutableBytes { raw in
        var writer = ByteWriter(raw)
        for packet in packets {
            switch packet {
            case .senderReport(let report) where report.reports.count < 32: report.write(into: &writer)
            case .receiverReport(let report) where report.reports.count < 32: report.write(into: &writer)
            case .nack(let nack) where nack.lostSequenceNumbers.count < 1000: nack.write(into: &writer)
            default: break
            }
        }
    }
    return 0
}
