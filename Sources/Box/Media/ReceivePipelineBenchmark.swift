#if canImport(Glibc)
import Glibc
#endif
import AudioProcessing
import Codecs
import Logging
import RTP

/// The box's audio receive path with `sources` talkers, for `make bench`: RTP → the intake's
/// ring → per-source jitter buffer and Opus decoding → mixer and limiter → the echo canceller
/// and noise suppressor on a microphone that hears the played mix in a room: exactly the
/// code of a call's audio thread, without the devices, as fast as it runs.
///
/// Every 20 ms each source's next packet (a tone of its own, Opus 32 kbit/s with FEC) is
/// handed to the intake as the network thread would; every 10 ms one block is played and the
/// microphone block (the played block 40 ms later at −10 dB, plus room noise at −60 dBFS) is
/// processed. CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID) over the measured blocks.
public enum ReceivePipelineBenchmark {
    public struct Result: Sendable {
        public var sources: Int
        public var blocks: Int
        /// CPU microseconds per 10 ms block: receive, decode, mix, AEC+NS.
        public var microsecondsPerBlock: Double
        /// Heap allocations per block in steady state (after every source has its slot).
        public var allocationsPerBlock: Double
        /// Echo return loss enhancement over the measured blocks (mic in / mic out), in dB.
        public var erleDB: Double
        /// Sources heard at the end (each must be).
        public var heardSources: Int
        /// The floor, measured in the same run: libopus alone decoding the same packets into
        /// a buffer, CPU microseconds per 10 ms (no jitter buffer, mixer or canceller).
        public var decodeOnlyMicrosecondsPerBlock: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(sources: Int, seconds: Double, allocations: () -> UInt64) throws -> Result {
        let blockSamples = AudioLoop.blockSamples
        let frameSamples = OpusEncoderSettings.frameSamples
        let intake = RemoteAudioIntake()
        let monitor = PlaybackMonitor()
        let ssrcs = (0..<sources).map { UInt32(0x5000 + $0) }
        intake.setSources(ssrcs)
        let receiver = try AudioReceiver(intake: intake, monitor: monitor, volume: 80, logger: Logger(label: "classbox-bench"))
        let processor = try MicrophoneProcessors.make(MicrophoneProcessingSettings(echoCancellation: true, noiseSuppression: true,
                                                                                   gainControl: false))
        // Each source's packets, encoded once: a second of its tone, then repeated.
        var encoded: [[[UInt8]]] = []
        for index in 0..<sources {
            var settings = OpusEncoderSettings(bitrateKbps: 32, dtx: false)
            settings.inbandFEC = true
            let encoder = try OpusEncoder(settings)
            let frequency = 300.0 + 110.0 * Double(index)
            var packets: [[UInt8]] = []
            var samples = [Int16](repeating: 0, count: frameSamples)
            var output = [UInt8](repeating: 0, count: 1500)
            for frame in 0..<50 {
                for offset in 0..<frameSamples {
                    let t = Double(frame * frameSamples + offset) / 48000
                    samples[offset] = Int16(6000 * sin(2 * Double.pi * frequency * t))
                }
                let count = try samples.withUnsafeBufferPointer { input in
                    try output.withUnsafeMutableBytes { try encoder.encode(input.baseAddress!, into: $0) }
                }
                packets.append(Array(output[0..<count]))
            }
            encoded.append(packets)
        }
        let wire = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)
        let speaker = UnsafeMutableBufferPointer<Int16>.allocate(capacity: blockSamples)
        let microphone = UnsafeMutableBufferPointer<Int16>.allocate(capacity: blockSamples)
        let echoDelayBlocks = 4
        let echo = UnsafeMutableBufferPointer<Int16>.allocate(capacity: blockSamples * (echoDelayBlocks + 1))
        echo.initialize(repeating: 0)
        defer {
            wire.deallocate()
            speaker.deallocate()
            microphone.deallocate()
            echo.deallocate()
        }
        var packetizers = ssrcs.map { OpusPacketizer(ssrc: $0, payloadType: 111, extensionIDs: .jitsiDefaults, initialSequenceNumber: 1000) }
        let blocks = Int(seconds * 100)
        let measureFrom = min(200, blocks / 2)  // 2 s: slots made, the canceller converged
        var noiseState: UInt32 = 12345
        var (energyIn, energyOut) = (0.0, 0.0)
        var (cpuStart, allocationsStart): (UInt64, UInt64) = (0, 0)
        for block in 0..<blocks {
            if block == measureFrom {
                cpuStart = threadCPUNanoseconds()
                allocationsStart = allocations()
            }
            let now = UInt64(block) * 10_000_000
            if block % 2 == 0 {
                let frame = block / 2
                for index in 0..<sources {
                    let payload = encoded[index][frame % encoded[index].count]
                    let values = RTPExtensionValues(audioLevel: AudioLevel(level: 30, voiceActivity: true), absSendTime: 0, transportWideSequence: UInt16(truncatingIfNeeded: frame))
                    let header = packetizers[index].writeHeader(into: wire, timestamp: UInt32(truncatingIfNeeded: frame * frameSamples), extensions: values)
                    payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: wire[header..<(header + $0.count)]).copyMemory(from: $0) }
                    guard let view = RTPPacketView(UnsafeRawBufferPointer(rebasing: wire[0..<(header + payload.count)])) else {
                        throw Failure(description: "the benchmark wrote an unreadable RTP packet")
                    }
                    intake.accept(view, audioLevelID: RTPHeaderExtensionIDs.jitsiDefaults.audioLevel, now: now)
                }
            }
            receiver.render(into: speaker, now: now)
            processor.processReverse(UnsafeBufferPointer(speaker))
            // The room: the loudspeaker heard 40 ms later at −10 dB, and a little noise.
            let slot = block % (echoDelayBlocks + 1)
            let heardSlot = (block + 1) % (echoDelayBlocks + 1)
            UnsafeMutableBufferPointer(rebasing: echo[(slot * blockSamples)..<((slot + 1) * blockSamples)]).update(fromContentsOf: speaker)
            for index in 0..<blockSamples {
                noiseState = noiseState &* 1_664_525 &+ 1_013_904_223
                let noise = Int32(Int16(truncatingIfNeeded: noiseState >> 16)) / 1000
                microphone[index] = Int16(clamping: Int32(echo[heardSlot * blockSamples + index]) * 10 / 32 + noise)
            }
            var before = 0.0
            if block >= measureFrom { for sample in microphone { before += Double(sample) * Double(sample) } }
            processor.processCapture(microphone, delayMilliseconds: echoDelayBlocks * 10)
            if block >= measureFrom {
                energyIn += before
                for sample in microphone { energyOut += Double(sample) * Double(sample) }
            }
        }
        let measured = Double(max(1, blocks - measureFrom))
        let cpu = Double(threadCPUNanoseconds() - cpuStart) / 1000 / measured
        let allocated = Double(allocations() - allocationsStart) / measured
        let floor = try decodeOnly(encoded, frames: blocks / 2, measureFrom: measureFrom / 2)
        return Result(sources: sources, blocks: blocks, microsecondsPerBlock: cpu, allocationsPerBlock: allocated,
                      erleDB: 10 * log10(max(energyIn, 1) / max(energyOut, 1)), heardSources: monitor.heardSources.load(ordering: .relaxed),
                      decodeOnlyMicrosecondsPerBlock: floor)
    }

    /// libopus decoding every source's packets back to back: CPU µs per 10 ms of audio.
    private static func decodeOnly(_ encoded: [[[UInt8]]], frames: Int, measureFrom: Int) throws -> Double {
        let decoders = try encoded.map { _ in try OpusDecoder() }
        let output = UnsafeMutableBufferPointer<Float>.allocate(capacity: OpusDecoder.maximumPacketSamples)
        defer { output.deallocate() }
        var start: UInt64 = 0
        for frame in 0..<frames {
            if frame == measureFrom { start = threadCPUNanoseconds() }
            for (index, packets) in encoded.enumerated() {
                _ = try packets[frame % packets.count].withUnsafeBytes { try decoders[index].decode($0, into: output) }
            }
        }
        return Double(threadCPUNanoseconds() - start) / 1000 / Double(max(1, (frames - measureFrom) * 2))
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
