import RTCP
import RTP
import Runtime
import Transport
import Wire

/// The last step of the video path, shared by the video thread (new packets) and the
/// network thread (retransmissions asked for by NACK): send history, SRTP and the sink,
/// behind one lock, because both protect with the same SRTP stream state.
///
/// A retransmission is the original packet again, or, when RTX is negotiated (RFC 4588),
/// the original payload behind its sequence number on the RTX stream.
final class VideoPacketOutput: @unchecked Sendable {
    struct RTX: Sendable {
        var ssrc: UInt32
        var payloadType: UInt8
    }

    private let lock = Lock()
    private let sink: any PacketSink
    private let srtp: SRTPSession?
    private let history: SendHistory
    private let rtx: RTX?
    /// The transport-wide sequence number's extension id, when negotiated.
    private let transportSequenceID: UInt8?
    private let control: SendControl
    private let retransmissionBuffer: UnsafeMutableRawBufferPointer
    private var rtxSequence = UInt16.random(in: 0...UInt16.max)
    private var limiter = RetransmissionLimiter()
    /// The abs-send-time extension's id, stamped when a packet really leaves.
    private let absSendTimeID: UInt8?
    /// Set when the video is paced (a call); nil: each packet leaves as it is made (benchmarks).
    private(set) var pacer: VideoPacer?

    init(sink: any PacketSink, srtp: SRTPSession?, history: SendHistory, rtx: RTX?, transportSequenceID: UInt8? = nil,
         absSendTimeID: UInt8? = nil, control: SendControl) {
        self.sink = sink
        self.srtp = srtp
        self.history = history
        self.rtx = rtx
        self.transportSequenceID = transportSequenceID
        self.absSendTimeID = absSendTimeID
        self.control = control
        retransmissionBuffer = .allocate(byteCount: history.slotSize + 64, alignment: 16)
    }

    /// Paces what `transmit` gets from now on; the pacer's thread calls `sendPaced`.
    func pace(with pacer: VideoPacer) {
        lock.withLock { self.pacer = pacer }
    }

    deinit { retransmissionBuffer.deallocate() }

    /// Keeps the plain packet for retransmission, then protects it in place in `buffer`
    /// (which must have room for the SRTP tag) and sends it.
    /// With a pacer, the packet is queued (plain) instead, and leaves from the pacer's thread.
    func transmit(_ buffer: UnsafeMutableRawBufferPointer, length: Int, sequence: UInt16, now: UInt64) {
        let paced = lock.withLock { () -> VideoPacer? in
            history.store(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), sequenceNumber: sequence, sentAt: now)
            if self.pacer == nil { send(buffer, length: length, isRetransmission: false) }
            return self.pacer
        }
        paced?.enqueue(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), now: now)
    }

    /// The pacer's thread: a queued packet leaves now, stamped with its real send time.
    /// Returns the octets on the wire.
    func sendPaced(_ buffer: UnsafeMutableRawBufferPointer, length: Int) -> Int {
        lock.withLock { send(buffer, length: length, isRetransmission: false) }
    }

    /// Resends what a receiver reported lost; returns how many packets went out again.
    @discardableResult
    func retransmit(_ sequences: [UInt16], now: UInt64) -> Int {
        lock.withLock {
            let roundTrip = control.roundTripNanoseconds.load(ordering: .relaxed)
            if roundTrip > 0 { limiter.setRoundTrip(nanoseconds: UInt64(roundTrip)) }
            var count = 0, notHeld = 0, tooSoon = 0
            for sequence in sequences {
                if let pacer, !pacer.mayRetransmit(now: now) {
                    control.count(control.retransmissionsRateLimited)
                    continue
                }
                guard limiter.allow(sequence, now: now) else {
                    tooSoon += 1
                    continue
                }
                let copied: Int?? = history.withPacket(sequenceNumber: sequence, now: now) { packet in
                    rtx == nil ? copyOriginal(packet) : wrapInRTX(packet)
                }
                guard let length = copied ?? nil else {
                    notHeld += 1
                    continue
                }
                let size = send(retransmissionBuffer, length: length, isRetransmission: true)
                pacer?.charge(octets: size, now: now)
                count += 1
            }
            control.count(control.retransmissions, count)
            if notHeld > 0 { control.count(control.retransmissionsNotHeld, notHeld) }
            if tooSoon > 0 { control.count(control.retransmissionsTooSoon, tooSoon) }
            return count
        }
    }

    private func copyOriginal(_ packet: UnsafeRawBufferPointer) -> Int {
        retransmissionBuffer.baseAddress!.copyMemory(from: packet.baseAddress!, byteCount: packet.count)
        return packet.count
    }

    /// RFC 4588 §4: same header with the RTX payload type, SSRC and sequence number, and the
    /// original sequence number (OSN) in front of the original payload.
    private func wrapInRTX(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard let rtx, let view = RTPPacketView(packet) else { return nil }
        let headerLength = packet.count - view.payload.count - view.paddingLength
        let target = retransmissionBuffer.baseAddress!
        target.copyMemory(from: packet.baseAddress!, byteCount: headerLength)
        retransmissionBuffer[0] &= ~0x20  // no padding in the copy
        retransmissionBuffer[1] = (retransmissionBuffer[1] & 0x80) | rtx.payloadType
        retransmissionBuffer[2] = UInt8(rtxSequence >> 8)
        retransmissionBuffer[3] = UInt8(rtxSequence & 0xFF)
        for index in 0..<4 { retransmissionBuffer[8 + index] = UInt8(truncatingIfNeeded: rtx.ssrc >> (24 - 8 * index)) }
        rtxSequence &+= 1
        retransmissionBuffer[headerLength] = UInt8(view.header.sequenceNumber >> 8)
        retransmissionBuffer[headerLength + 1] = UInt8(view.header.sequenceNumber & 0xFF)
        (target + headerLength + 2).copyMemory(from: view.payload.baseAddress!, byteCount: view.payload.count)
        return headerLength + 2 + view.payload.count
    }

    /// Stamps the transport-wide number (a retransmission gets one of its own: the receiver
    /// reports each datagram) and the send time, protects, records and sends. The time is
    /// read here, under the lock, so that transport-wide numbers and send times rise together
    /// whichever thread sends (a caller's earlier reading would put a retransmission's send
    /// time before a paced packet numbered ahead of it).
    @discardableResult
    private func send(_ buffer: UnsafeMutableRawBufferPointer, length: Int, isRetransmission: Bool) -> Int {
        let now = Monotonic.nanoseconds()
        let transportSequence = RTPHeaderExtensions.stampSendTime(
            in: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), absSendTimeID: absSendTimeID,
            absSendTime: MediaClock.absSendTime(nanoseconds: now), transportSequenceID: transportSequenceID,
            nextTransportSequence: control.nextTransportSequence)
        do {
            let size = try srtp?.protect(buffer, length: length) ?? length
            if let transportSequence { control.recordTransport(sequence: transportSequence, size: size, at: now) }
            try sink.send(UnsafeRawBufferPointer(rebasing: buffer[0..<size]))
            if !isRetransmission {
                control.count(control.videoPackets)
                control.count(control.videoBytes, size)
            }
            return size
        } catch {
            control.count(control.sendErrors)
            return 0
        }
    }
}
