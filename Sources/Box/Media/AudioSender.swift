import Capture
import Runtime
import Codecs
import Logging
import RTP
import Transport
import Wire

/// Everything an audio sending thread needs, as plain values.
struct AudioSendPlan: Sendable {
    enum Source: Sendable, Equatable {
        case tone(hz: Int)
        case silence
        case pcm(String)
    }

    var source: Source
    var encoder: OpusEncoderSettings
    var payloadType: UInt8
    var ssrc: UInt32
    var extensionIDs: RTPHeaderExtensionIDs
    var srtp: SRTPKeying?
}

/// The audio path, run on its own thread: 20 ms of samples (two 10 ms periods) → RFC 6464
/// level → Opus written straight behind the RTP header → SRTP in place → socket.
///
/// With DTX, frames Opus marks as silence are not sent; the next packet carries the
/// marker bit. A microphone that disappears is reopened every second.
final class AudioSender {
    private let plan: AudioSendPlan
    private let sink: any PacketSink
    private let control: SendControl
    private let logger: Logger
    private let encoder: OpusEncoder
    private var packetizer: OpusPacketizer
    private let srtp: SRTPSession?
    private let wire: UnsafeMutableRawBufferPointer
    private let samples: UnsafeMutableBufferPointer<Int16>
    private var timestamp = UInt32.random(in: 0...UInt32.max)
    private var inSilence = false

    init(plan: AudioSendPlan, sink: any PacketSink, control: SendControl, logger: Logger) throws {
        self.plan = plan
        self.sink = sink
        self.control = control
        self.logger = logger
        encoder = try OpusEncoder(plan.encoder)
        packetizer = OpusPacketizer(ssrc: plan.ssrc, payloadType: plan.payloadType, extensionIDs: plan.extensionIDs,
                                    initialSequenceNumber: .random(in: 0...UInt16.max))
        srtp = try plan.srtp.map { try SRTPSession(profile: $0.profile, masterKey: $0.masterKey, direction: .outbound) }
        wire = .allocate(byteCount: 1500, alignment: 16)
        samples = .allocate(capacity: OpusEncoderSettings.frameSamples * plan.encoder.channels)
    }

    deinit {
        wire.deallocate()
        samples.deallocate()
    }

    func run() {
        var lastProblem: String?
        while !control.isStopping {
            let source: any AudioSource
            do {
                source = try openSource()
            } catch {
                if lastProblem != error.description { logger.warning("microphone unavailable, retrying every second: \(error)") }
                lastProblem = error.description
                sleepBriefly(seconds: 1)
                continue
            }
            lastProblem = nil
            let half = samples.count / 2
            var overrunsBefore = 0
            while !control.isStopping {
                do {
                    try source.read(into: UnsafeMutableBufferPointer(rebasing: samples[0..<half]))
                    try source.read(into: UnsafeMutableBufferPointer(rebasing: samples[half...]))
                } catch {
                    logger.warning("microphone \(error); reopening")
                    break
                }
                control.count(control.audioOverruns, source.overruns - overrunsBefore)
                overrunsBefore = source.overruns
                sendFrame()
            }
        }
    }

    private func openSource() throws(CaptureError) -> any AudioSource {
        switch plan.source {
        case .tone(let hz): return ToneSource(frequency: Double(hz))
        case .silence: return SilenceSource()
        case .pcm(let name): return try ALSACapture(pcm: name)
        }
    }

    private func sendFrame() {
        defer { timestamp &+= UInt32(OpusEncoderSettings.frameSamples) }
        if control.isMicMuted {
            // Muted: what the microphone heard goes nowhere, and nothing is sent (like a muted
            // track); the first packet afterwards carries the marker, as after DTX silence.
            samples.update(repeating: 0)
            inSilence = true
            return
        }
        let level = AudioLevel(samples: UnsafeBufferPointer(samples))
        // The header's length is known before its values, so Opus can write first and the
        // header (with a transport sequence number) is only spent on packets really sent.
        let layout = RTPExtensionValues(audioLevel: level, absSendTime: 0, transportWideSequence: 0)
        let headerLength = packetizer.headerLength(extensions: layout)
        let payloadLength: Int
        do {
            payloadLength = try encoder.encode(samples.baseAddress!, into: UnsafeMutableRawBufferPointer(rebasing: wire[headerLength..<1400]))
        } catch {
            control.count(control.sendErrors)
            return
        }
        if plan.encoder.dtx && payloadLength <= 2 {
            inSilence = true
            return
        }
        let values = RTPExtensionValues(audioLevel: level, absSendTime: MediaClock.absSendTime(nanoseconds: Monotonic.nanoseconds()),
                                        transportWideSequence: control.nextTransportSequence())
        let written = packetizer.writeHeader(into: wire, timestamp: timestamp, marker: inSilence, extensions: values)
        precondition(written == headerLength)
        inSilence = false
        do {
            let size = try srtp?.protect(wire, length: headerLength + payloadLength) ?? headerLength + payloadLength
            try sink.send(UnsafeRawBufferPointer(rebasing: wire[0..<size]))
            control.count(control.audioPackets)
            control.count(control.audioBytes, size)
            control.lastAudioTimestamp.store(Int(timestamp), ordering: .relaxed)
        } catch {
            control.count(control.sendErrors)
        }
    }
}
