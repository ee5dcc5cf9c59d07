#if canImport(Glibc)
import Glibc
#endif
import Codecs
import Logging
import Media
import Runtime
import Transport
import Wire

/// The box's video send path fed from a raw I420 file instead of a camera, for `make bench`:
/// read → VP8 → RTP → send history → SRTP → UDP, exactly the code `classbox run` uses.
public enum SendPipelineBenchmark {
    public struct Result: Sendable {
        public var frames: Int
        public var packets: Int
        public var bytes: Int
        public var sendErrors: Int
        /// Heap allocations per frame over the measured frames (steady state).
        public var allocationsPerFrame: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `frames` frames of `input` (packed I420 at the encoder's size). Allocations are
    /// counted with `allocations` from frame `measureFrom` to the end.
    public static func run(input: String, settings: VP8EncoderSettings, frames: Int, destination: SocketAddress,
                           srtpProfile: SRTPProfile, srtpKey: [UInt8], measureFrom: Int,
                           allocations: () -> UInt64) throws -> Result {
        let frameSize = VideoFrameLayout.packedSize(width: settings.width, height: settings.height)
        let fd = open(input, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(input): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: frameSize)
        defer { buffer.deallocate() }
        let control = SendControl(videoBitrateKbps: settings.bitrateKbps, cameraLive: true)
        let plan = VideoSendPlan(source: .testPattern, encoder: settings, payloadType: 96, ssrc: 0x1111,
                                 extensionIDs: .jitsiDefaults, srtp: SRTPKeying(profile: srtpProfile, masterKey: srtpKey))
        let output = try plan.makeOutput(sink: try UDPSocket(connectedTo: destination), control: control)
        let sender = try VideoSender(plan: plan, output: output, control: control, logger: Logger(label: "classbox-bench"))
        var start: UInt64 = 0
        for index in 0..<frames {
            // Like a camera's DMA: the picture lands in one buffer, and is encoded from there in place.
            guard readFully(fd, buffer, frameSize) else { throw Failure(description: "\(input) has fewer than \(frames) frames") }
            if index == measureFrom { start = allocations() }
            sender.send(.packed(.i420, width: settings.width, height: settings.height, base: buffer),
                        timestamp: UInt64(index) * 1_000_000_000 / UInt64(settings.fps))
        }
        let measured = max(1, frames - measureFrom)
        return Result(frames: control.framesEncoded.load(ordering: .relaxed), packets: control.videoPackets.load(ordering: .relaxed),
                      bytes: control.videoBytes.load(ordering: .relaxed), sendErrors: control.sendErrors.load(ordering: .relaxed),
                      allocationsPerFrame: Double(allocations() - start) / Double(measured))
    }

    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let result = read(fd, buffer + done, count - done)
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return false }
            done += result
        }
        return true
    }
}
