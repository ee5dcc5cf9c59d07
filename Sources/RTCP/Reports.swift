import Wire

/// A reception report block (RFC 3550 §6.4.1): how one source's stream arrives.
public struct ReceptionReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// Fraction lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative packets lost (24-bit signed: duplicates can make it negative).
    public var cumulativeLost: Int32
    public var extendedHighestSequence: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP time of the last SR received from this source.
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32, jitter: UInt32,
                lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// The round trip this report shows (RFC 3550 §6.4.1: arrival − LSR − DLSR), in
    /// nanoseconds, given the middle 32 bits of the NTP time it arrived at (the clock our
    /// sender reports carry); nil when the peer has not had an SR from us yet.
    public func roundTrip(arrivalNTPMiddle: UInt32) -> UInt64? {
        guard lastSenderReport != 0 else { return nil }
        let units = arrivalNTPMiddle &- lastSenderReport &- delaySinceLastSenderReport
        guard units < 0x8000_0000 else { return nil }  // "negative": clocks or report damaged
        return (UInt64(units) * 1_000_000_000) >> 16
    }

    static func parse(_ reader: inout ByteReader) -> ReceptionReport? {
        guard let ssrc = reader.readUInt32(), let lost = reader.readUInt32(), let highest = reader.readUInt32(),
              let jitter = reader.readUInt32(), let lsr = reader.readUInt32(), let dlsr = reader.readUInt32() else { return nil }
        let cumulative = Int32(bitPattern: (lost & 0x00FF_FFFF) << 8) >> 8  // sign-extend 24 bits
        return ReceptionReport(ssrc: ssrc, fractionLost: UInt8(lost >> 24), cumulativeLost: cumulative, extendedHighestSequence: highest,
                               jitter: jitter, lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
    }

    func write(into writer: inout ByteWriter) {
        writer.write(ssrc)
        let clamped = max(-0x80_0000, min(0x7F_FFFF, cumulativeLost))
        writer.write(UInt32(fractionLost) << 24 | (UInt32(bitPattern: clamped) & 0x00FF_FFFF))
        writer.write(extendedHighestSequence)
        writer.write(jitter)
        writer.write(lastSenderReport)
        writer.write(delaySinceLastSenderReport)
    }
}

/// Where a stream's RTP clock stood: the timestamp of its newest packet and the monotonic
/// time (ns) its first sample was captured. A sender report carries the RTP time of its own
/// NTP instant (RFC 3550 §6.4.1), extrapolated from here at the stream's clock rate — not
/// the newest packet's timestamp, which lags the instant by up to a frame, so that the
/// receiver's RTP-to-NTP mapping jumps and libwebrtc drops the report as invalid.
public struct RTPClockMark: Sendable, Equatable {
    public var timestamp: UInt32
    public var capturedAt: UInt64

    public init(timestamp: UInt32, capturedAt: UInt64) {
        self.timestamp = timestamp
        self.capturedAt = capturedAt
    }

    /// The RTP time at monotonic `now` (before the mark too: a capture time may lie ahead of a
    /// clock read on another thread).
    public func timestamp(at now: UInt64, clockRate: UInt32) -> UInt32 {
        let elapsed = Int64(bitPattern: now &- capturedAt)
        let ticks = elapsed / 1_000_000 * Int64(clockRate) / 1000 + elapsed % 1_000_000 * Int64(clockRate) / 1_000_000_000
        return timestamp &+ UInt32(truncatingIfNeeded: ticks)
    }
}

/// The RTP times a stream's sender reports carry, never going back: a receiver drops a
/// report whose RTP time is older than the previous one's while its NTP time is newer
/// (libwebrtc `rtp_to_ntp_estimator.cc`, "Newer RTCP SR report with older RTP timestamp") and,
/// after several, its lip-sync mapping. A mark taken late — the sending thread starved on a
/// loaded host, so the send time stands in for a capture time long past — would read as such
/// a step back; then the previous report's mapping is carried on instead.
public struct SenderReportTimeline: Sendable {
    private var last: (instant: UInt64, timestamp: UInt32)?
    public private(set) var heldBack = 0

    public init() {}

    public mutating func timestamp(for mark: RTPClockMark, at instant: UInt64, clockRate: UInt32) -> UInt32 {
        var timestamp = mark.timestamp(at: instant, clockRate: clockRate)
        if let last, instant > last.instant, Int32(bitPattern: timestamp &- last.timestamp) <= 0 {
            timestamp = RTPClockMark(timestamp: last.timestamp, capturedAt: last.instant).timestamp(at: instant, clockRate: clockRate)
            heldBack += 1
        }
        last = (instant, timestamp)
        return timestamp
    }
}

/// SR (RFC 3550 §6.4.1): what a sender sent, and when, for lip sync and round-trip times.
public struct SenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    public var ntpTimestamp: UInt64
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [ReceptionReport]

    public init(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
                reports: [ReceptionReport] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }

    static func parse(count: Int, _ reader: inout ByteReader) -> SenderReport? {
        guard let ssrc = reader.readUInt32(), let ntp = reader.readUInt64(), let rtp = reader.readUInt32(),
              let packets = reader.readUInt32(), let octets = reader.readUInt32() else { return nil }
        var reports: [ReceptionReport] = []
        for _ in 0..<count {
            guard let report = ReceptionReport.parse(&reader) else { return nil }
            reports.append(report)
        }
        return SenderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: packets, octetCount: octets, reports: reports)
    }

    public func write(into writer: inout ByteWriter) {
        RTCPPacket.write(.senderReport, count: reports.count, into: &writer) { writer in
            writer.write(ssrc)
            writer.write(ntpTimestamp)
            writer.write(rtpTimestamp)
            writer.write(packetCount)
            writer.write(octetCount)
            for report in reports { report.write(into: &writer) }
        }
    }
}

/// RR (RFC 3550 §6.4.2).
public struct ReceiverReport: Sendable, Equatable {
    public var ssrc: UInt32
    public var reports: [ReceptionReport]

    public init(ssrc: UInt32, reports: [ReceptionReport]) {
        self.ssrc = ssrc
        self.reports = reports
    }

    static func parse(count: Int, _ reader: inout ByteReader) -> ReceiverReport? {
        guard let ssrc = reader.readUInt32() else { return nil }
        var reports: [ReceptionReport] = []
        for _ in 0..<count {
            guard let report = ReceptionReport.parse(&reader) else { return nil }
            reports.append(report)
        }
        return ReceiverReport(ssrc: ssrc, reports: reports)
    }

    public func write(into writer: inout ByteWriter) {
        RTCPPacket.write(.receiverReport, count: reports.count, into: &writer) { writer in
            writer.write(ssrc)
            for report in reports { report.write(into: &writer) }
        }
    }
}

/// One SDES chunk (RFC 3550 §6.5): the box sends only CNAME, a random one per session.
public struct SourceDescriptionChunk: Sendable, Equatable {
    public var ssrc: UInt32
    public var cname: String?

    public init(ssrc: UInt32, cname: String?) {
        self.ssrc = ssrc
        self.cname = cname
    }

    static func parse(count: Int, _ reader: inout ByteReader) -> [SourceDescriptionChunk]? {
        var chunks: [SourceDescriptionChunk] = []
        for _ in 0..<count {
            guard let ssrc = reader.readUInt32() else { return nil }
            let start = reader.offset
            var cname: String?
            while true {
                guard let type = reader.readUInt8() else { return nil }
                if type == 0 { break }
                guard let length = reader.readUInt8(), let text = reader.readBytes(Int(length)) else { return nil }
                if type == 1 { cname = String(decoding: text, as: UTF8.self) }
            }
            // Items end with a null octet, then padding to the next 32-bit boundary.
            let consumed = reader.offset - start
            guard reader.skip((4 - (consumed + 4) % 4) % 4) else { return nil }
            chunks.append(SourceDescriptionChunk(ssrc: ssrc, cname: cname))
        }
        return chunks
    }

    public static func write(_ chunks: [SourceDescriptionChunk], into writer: inout ByteWriter) {
        RTCPPacket.write(.sourceDescription, count: chunks.count, into: &writer) { writer in
            for chunk in chunks {
                let start = writer.offset
                writer.write(chunk.ssrc)
                if let cname = chunk.cname {
                    let bytes = Array(cname.utf8.prefix(255))
                    writer.write(UInt8(1))
                    writer.write(UInt8(bytes.count))
                    bytes.withUnsafeBytes { writer.write($0) }
                }
                writer.write(UInt8(0))
                writer.padToWord(from: start)
            }
        }
    }
}

public enum Goodbye {
    public static func write(ssrcs: [UInt32], reason: String? = nil, into writer: inout ByteWriter) {
        RTCPPacket.write(.goodbye, count: ssrcs.count, into: &writer) { writer in
            for ssrc in ssrcs { writer.write(ssrc) }
            if let reason {
                let bytes = Array(reason.utf8.prefix(255))
                writer.write(UInt8(bytes.count))
                bytes.withUnsafeBytes { writer.write($0) }
            }
        }
    }
}
