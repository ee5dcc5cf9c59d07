// libFuzzer harness: RTP parsing (header, CSRCs, extensions, padding) and the VP8 payload
// descriptor, as the box parses what it receives. Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let view = RTPPacketView(bytes) {
        precondition(view.payload.count <= size)
        for element in view.extensionElements { precondition(element.data.count <= 16) }
        var reader = ByteReader(view.payload)
        if let descriptor = VP8PayloadDescriptor.parse(&reader) {
            // X=1 with no optional field set is legal and takes one byte more than needed.
            precondition(reader.offset == descriptor.length || reader.offset == descriptor.length + 1)
        }
    }
    return 0
}
