import Runtime
import Codecs
import Logging
import RTCP
import RTP
import Transport
import Wire

/// Everything an audio sending thread needs, as plain values.
struct AudioSendPlan: Sendable {
    var encoder: OpusEncoderSettings
    var payloadType: UInt8
    var ssrc: UInt32
    var extensionIDs: RTPHeaderExtensionIDs
    var srtp: SRTPKeying?
}

/// The sending half of the audio path, on the audio thread (`AudioLoop`): 20 ms of samples
/// (two 10 ms blocks) → RFC 6464 level → Opus written straight behind the RTP header →
/// SRTP in place → socket.
///
/// With DTX, frames Opus marks as silence are not sent; the next packet carries the
/// marker bit.
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
    /// Samples of the frame being gathered.
    private var filled = 0

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

    /// Encodes one frame of silence and sends nothing: libopus's first frame costs several
    /// frames' time (tables, first analysis), which must not fall on the first real block.
    func warmUp() {
        samples.update(repeating: 0)
        _ = try? encoder.encode(samples.baseAddress!, into: UnsafeMutableRawBufferPointer(rebasing: wire[0..<1400]))
    }

    /// No microphone for the next `samples` (it is missing or being reopened): nothing is
    /// sent, as from a muted track, and the RTP clock goes on, so the first packet afterwards
    /// carries the marker and the right timestamp. A half-gathered frame is dropped.
    func skip(_ samples: Int) {
        timestamp &+= UInt32(filled + samples)
        filled = 0
        inSilence = true
    }

    /// Takes the next 10 ms of (processed) microphone samples from the audio loop; every
    /// second block completes a 20 ms frame, which is encoded and sent at once.
    func consume(_ block: UnsafeBufferPointer<Int16>) {
        precondition(filled + block.count <= samples.count, "blocks must divide the 20 ms frame")
        _ = UnsafeMutableBufferPointer(rebasing: samples[filled..<(filled + block.count)]).update(fromContentsOf: block)
        filled += block.count
        guard filled == samples.count else { return }
        filled = 0
        sendFrame()
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
        // A transport-wide number only where negotiated: each one given must leave, or the
        // receiver's feedback reports it lost.
        let transportSequence = plan.extensionIDs.transportWideSequence != nil ? control.nextTransportSequence() : 0
        let now = Monotonic.nanoseconds()  // one reading for abs-send-time, the send history and the SR mark
        let values = RTPExtensionValues(audioLevel: level, absSendTime: MediaClock.absSendTime(nanoseconds: now),
                                        transportWideSequence: transportSequence)
        let written = packetizer.writeHeader(into: wire, timestamp: timestamp, marker: inSilence, extensions: values)
        precondition(written == headerLength)
        inSilence = false
        do {
            let size = try srtp?.protect(wire, length: headerLength + payloadLength) ?? headerLength + payloadLength
            if plan.extensionIDs.transportWideSequence != nil { control.recordTransport(sequence: transportSequence, size: size, at: now) }
            try sink.send(UnsafeRawBufferPointer(rebasing: wire[0..<size]))
            control.count(control.audioPackets)
            control.count(control.audioBytes, size)
            // The frame's first sample was captured a frame before the block that completed it.
            let frame = UInt64(OpusEncoderSettings.frameSamples) * 1_000_000_000 / UInt64(OpusEncoderSettings.sampleRate)
            let mark = RTPClockMark(timestamp: timestamp, capturedAt: now &- frame)
            control.audioClock.withLock { $0 = mark }
        } catch {
            control.count(control.sendErrors)
        }
    }
}
