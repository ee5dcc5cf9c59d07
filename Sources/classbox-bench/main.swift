// classbox-bench: drives the box's send path for `make bench` (Tests/Bench/send_pipeline.py),
// which compares its CPU time with vpxenc and GStreamer on the same input and settings.
import Wire
import Box
import CMallocCounter
import Codecs
import Transport

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let frames = Int(arguments[2]), let port = UInt16(arguments[3]),
      let destination = SocketAddress(host: "127.0.0.1", port: port) else {
    print("usage: classbox-bench INPUT.i420 FRAMES UDP_PORT SRTP_KEY_HEX")
    exit(2)
}
let key = stride(from: 0, to: arguments[4].count, by: 2).map { offset -> UInt8 in
    let start = arguments[4].index(arguments[4].startIndex, offsetBy: offset)
    return UInt8(arguments[4][start..<arguments[4].index(start, offsetBy: 2)], radix: 16) ?? 0
}
// The settings of the research note's benchmark table, identical for vpxenc and vp8enc.
let settings = VP8EncoderSettings(width: 1280, height: 720, fps: 30, bitrateKbps: 1500)
do {
    let result = try SendPipelineBenchmark.run(input: arguments[1], settings: settings, frames: frames, destination: destination,
                                               srtpProfile: .aes128CmHmacSha1_80, srtpKey: key, measureFrom: min(100, frames / 3),
                                               allocations: cmalloc_counter_allocations)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("frames=\(result.frames) packets=\(result.packets) bytes=\(result.bytes) send-errors=\(result.sendErrors) "
          + "allocs-per-frame=\(result.allocationsPerFrame) max-rss-kib=\(usage.ru_maxrss)")
} catch {
    print("classbox-bench: \(error)")
    exit(1)
}
