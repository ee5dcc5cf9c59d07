// classbox-bench: drives the box's send path for `make bench` (Tests/Bench/send_pipeline.py),
// which compares its CPU time with vpxenc and GStreamer on the same input and settings.
import Wire
import Box
import Capture
import CMallocCounter
import Codecs
import Media
import Transport

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
/// `value` with `digits` decimals (no Foundation here).
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((abs(value) * scale).rounded())
    let whole = scaled / Int(scale), fraction = String(scaled % Int(scale))
    let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
    return (value < 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + padded : "")
}
// `classbox-bench receive-audio [SECONDS]`: the audio receive path with 1, 4 and 8 talkers.
if arguments.count >= 2 && arguments[1] == "receive-audio" {
    let seconds = arguments.count >= 3 ? Double(arguments[2]) ?? 20 : 20
    var parts: [String] = []
    for sources in [1, 4, 8] {
        do {
            let result = try ReceivePipelineBenchmark.run(sources: sources, seconds: seconds, allocations: cmalloc_counter_allocations)
            let cpu = fixed(result.microsecondsPerBlock, 1), share = fixed(result.microsecondsPerBlock / 100, 2)
            let erle = fixed(result.erleDB, 1)
            let ratio = fixed(result.microsecondsPerBlock / result.decodeOnlyMicrosecondsPerBlock, 2)
            print("receive-audio \(sources) source(s): \(cpu) µs CPU per 10 ms block (\(share) % of one core; libopus decoding alone "
                  + "\(fixed(result.decodeOnlyMicrosecondsPerBlock, 1)) µs), \(result.allocationsPerBlock) allocations per block, "
                  + "ERLE \(erle) dB, heard \(result.heardSources) of \(sources)")
            parts.append("us-per-block-\(sources)=\(cpu)")
            parts.append("ratio-vs-libopus-\(sources)=\(ratio)")
            if sources == 8 {
                parts.append("allocs-per-block=\(result.allocationsPerBlock)")
                parts.append("erle-db=\(fixed(result.erleDB, 1))")
            }
        } catch {
            print("classbox-bench: \(error)")
            exit(1)
        }
    }
    print("receive-audio: " + parts.joined(separator: " "))
    exit(0)
}
// `classbox-bench receive-video [SECONDS]`: one remote camera's 360p and 720p layers through
// the video receive path, against libvpx decoding the same frames alone.
if arguments.count >= 2 && arguments[1] == "receive-video" {
    let seconds = arguments.count >= 3 ? Double(arguments[2]) ?? 20 : 20
    var parts: [String] = []
    for layer in [VideoReceiveBenchmark.Layer.p360, .p720] {
        do {
            let result = try VideoReceiveBenchmark.run(layer: layer, seconds: seconds, allocations: cmalloc_counter_allocations)
            let allocations = result.allocationsPerFrame
            parts.append("\(layer.label) \(fixed(result.microsecondsPerFrame, 1)) µs CPU per frame (libvpx alone "
                         + "\(fixed(result.decodeOnlyMicrosecondsPerFrame, 1)) µs, ×\(fixed(result.microsecondsPerFrame / result.decodeOnlyMicrosecondsPerFrame, 2))), "
                         + "\(fixed(allocations, allocations == allocations.rounded() ? 0 : 2)) allocations per frame")
        } catch {
            print("classbox-bench: \(error)")
            exit(1)
        }
    }
    print("receive-video: " + parts.joined(separator: "; "))
    exit(0)
}
// `classbox-bench screen [SECONDS]`: the classroom screen at 1080p, one on stage and four in
// tiles, every source with a new picture per frame, against libyuv alone.
if arguments.count >= 2 && arguments[1] == "screen" {
    let seconds = arguments.count >= 3 ? Double(arguments[2]) ?? 10 : 10
    do {
        let result = try ScreenBenchmark.run(seconds: seconds, allocations: cmalloc_counter_allocations)
        let own = result.allocationsPerFrame - result.floorAllocationsPerFrame
        print("screen: \(result.width)x\(result.height) 1 + \(result.tiles) tiles, every source a new picture per frame: "
              + "\(fixed(result.microsecondsPerFrame, 1)) µs CPU per composed frame (scaling \(fixed(result.scalingMicroseconds, 1)), "
              + "composing \(fixed(result.composingMicroseconds, 1)); \(fixed(result.microsecondsPerFrame / 333.33, 2)) % of one core at 30 fps), "
              + "libyuv alone \(fixed(result.floorMicroseconds, 1)) µs, ×\(fixed(result.microsecondsPerFrame / result.floorMicroseconds, 2)); "
              + "allocations per frame \(fixed(own, 2)) of the box's own (libyuv's row buffers \(fixed(result.floorAllocationsPerFrame, 2)) alone, "
              + "\(fixed(result.allocationsPerFrame, 2)) in the box's path)")
    } catch {
        print("classbox-bench: \(error)")
        exit(1)
    }
    exit(0)
}
// `classbox-bench pattern-y4m PATH FRAMES`: the simulated camera's 720p30 picture as a Y4M clip,
// for the call bench's Chromium to send as its camera (both sides then encode the same picture).
if arguments.count == 4 && arguments[1] == "pattern-y4m", let count = Int(arguments[3]), count > 0 {
    let pattern = TestPattern(width: 1280, height: 720)
    guard let file = fopen(arguments[2], "wb") else {
        print("classbox-bench: cannot write \(arguments[2])")
        exit(1)
    }
    let header = "YUV4MPEG2 W\(pattern.width) H\(pattern.height) F30:1 Ip A1:1 C420jpeg\n", marker = "FRAME\n"
    let size = VideoFrameLayout.packedSize(width: pattern.width, height: pattern.height)
    var written = fputs(header, file) >= 0
    for number in 0..<count where written {
        let picture = pattern.render(frame: number)
        written = fputs(marker, file) >= 0 && fwrite(picture.planes.0, 1, size, file) == size
    }
    guard fclose(file) == 0, written else {
        print("classbox-bench: writing \(arguments[2]) failed")
        exit(1)
    }
    exit(0)
}
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
