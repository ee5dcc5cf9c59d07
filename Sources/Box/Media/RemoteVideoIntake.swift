import RTP
import Runtime
import Session
import Synchronization

/// One received VP8 packet as the network thread hands it to the video receive thread, its
/// RTX wrapping already removed (the primary SSRC and the original sequence number).
struct ReceivedVideoRecord: BitwiseCopyable {
    var ssrc: UInt32
    var sequence: UInt16
    var timestamp: UInt32
    var marker: Bool
    /// Monotonic nanoseconds at arrival.
    var arrival: UInt64
}

/// The door between the network thread and the video receive thread for the others' video —
/// the receive side's counterpart of ``VideoPacketOutput``, and the video twin of
/// ``RemoteAudioIntake``.
///
/// Only SSRCs the conference signalled get in (Jicofo's session-initiate and source-add with
/// their FID groups, or the peer's SDP); the bridge drops packets of unknown sources too.
/// Retransmissions arrive on the source's RTX SSRC with the original sequence number in front
/// of the payload (RFC 4588 §4): they are unwrapped here, so loss tracking (NACK) and frame
/// assembly see one stream per source. Packets of other SSRCs, empty ones (padding and RTX
/// probes) and packets that find the ring full are dropped and counted. The ring holds a few
/// frames' worth of packets, nothing longer.
final class RemoteVideoIntake: Sendable {
    /// About 1 s of a 2.5 Mbit/s stream at 1200-byte packets: a screen share's key frame fits.
    let ring = PacketRing<ReceivedVideoRecord>(capacity: 512, maximumLength: 1500)
    /// Wakes the receive thread when a packet is in the ring.
    let wake = Wakeup()

    /// A signalled video source. Its name holds its owner's endpoint id: it goes to the
    /// screen (which shows whose picture it is) and never into the log, which says the kind
    /// and the SSRC.
    struct Source: Sendable, Equatable {
        /// Jitsi's source name (`<endpoint>-v0`, `-v1` for a share; nil from a plain peer).
        var name: String?
        /// Jitsi's `videoType` desktop: a screen share.
        var isScreenShare: Bool
    }

    struct Sources: Sendable {
        /// Primary SSRC → the source.
        var primary: [UInt32: Source] = [:]
        /// RTX SSRC → its primary.
        var rtx: [UInt32: UInt32] = [:]
    }

    private let signalled = Mutex(Sources())
    private let own = Mutex<Set<UInt32>>([])
    private let keyframeRequests = Mutex<[UInt32]>([])
    /// Bumped on every change of the signalled set: the receive thread then ends the streams
    /// of sources that left.
    let generation = Atomic<Int>(0)
    let unsignalledPackets = Atomic<Int>(0)
    let droppedPackets = Atomic<Int>(0)
    let retransmissions = Atomic<Int>(0)

    func setOwnSources(_ ssrcs: [UInt32]) {
        own.withLock { $0 = Set(ssrcs) }
    }

    /// The call's remote video sources and their groups, replacing what was known.
    func setSources(_ sources: [MediaSource], groups: [(semantics: String, ssrcs: [UInt32])]) {
        let fresh = Self.sources(sources, groups: groups, excluding: own.withLock { $0 })
        signalled.withLock { $0 = fresh }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    /// Jicofo's source-add for video.
    func addSources(_ sources: [MediaSource], groups: [(semantics: String, ssrcs: [UInt32])]) {
        let added = Self.sources(sources, groups: groups, excluding: own.withLock { $0 })
        signalled.withLock {
            $0.primary.merge(added.primary) { _, new in new }
            $0.rtx.merge(added.rtx) { _, new in new }
        }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    /// Jicofo's source-remove, or a participant who left: primaries and RTX alike.
    func removeSources(_ ssrcs: [UInt32]) {
        let gone = Set(ssrcs)
        signalled.withLock { sources in
            for ssrc in gone { sources.primary[ssrc] = nil }
            sources.rtx = sources.rtx.filter { !gone.contains($0.key) && !gone.contains($0.value) }
        }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    var sourceCount: Int { signalled.withLock { $0.primary.count } }

    /// The source of a signalled primary SSRC; nil when it is not (or no longer) one.
    func source(of ssrc: UInt32) -> Source? { signalled.withLock { $0.primary[ssrc] } }

    /// Network thread: the primary SSRC and sequence number of a video packet, unwrapping RTX
    /// (its payload then starts after the original sequence number); nil for packets of no
    /// signalled source and for RTX without an original sequence number.
    func unwrap(_ packet: RTPPacketView, rtxPayloadType: UInt8?) -> (ssrc: UInt32, sequence: UInt16, payload: UnsafeRawBufferPointer)? {
        let ssrc = packet.header.ssrc
        let (isPrimary, primaryOfRTX) = signalled.withLock { ($0.primary[ssrc] != nil, $0.rtx[ssrc]) }
        if isPrimary { return (ssrc, packet.header.sequenceNumber, packet.payload) }
        guard let primary = primaryOfRTX, packet.header.payloadType == rtxPayloadType, packet.payload.count >= 2 else {
            unsignalledPackets.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        let original = UInt16(packet.payload[0]) << 8 | UInt16(packet.payload[1])
        return (primary, original, UnsafeRawBufferPointer(rebasing: packet.payload[2...]))
    }

    /// Network thread: a VP8 packet of a signalled source, unwrapped, for the receive thread.
    func accept(ssrc: UInt32, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: UnsafeRawBufferPointer,
                retransmitted: Bool, now: UInt64) {
        if retransmitted { retransmissions.wrappingAdd(1, ordering: .relaxed) }
        let record = ReceivedVideoRecord(ssrc: ssrc, sequence: sequence, timestamp: timestamp, marker: marker, arrival: now)
        guard !payload.isEmpty, ring.push(record, payload) else {
            droppedPackets.wrappingAdd(1, ordering: .relaxed)
            return
        }
        wake.signal()
    }

    /// Receive thread: the source's frames cannot be decoded until a key frame comes.
    func requestKeyframe(for ssrc: UInt32) {
        keyframeRequests.withLock { if !$0.contains(ssrc) { $0.append(ssrc) } }
    }

    /// Network thread: the sources to send a PLI for now.
    func takeKeyframeRequests() -> [UInt32] {
        keyframeRequests.withLock { requests in
            if requests.isEmpty { return [] }
            defer { requests.removeAll(keepingCapacity: true) }
            return requests
        }
    }

    /// Video sources from signalling: primaries with their names; an SSRC that is the second
    /// of a FID group is the first's RTX; SIM groups' other layers are primaries of their own
    /// (the bridge rewrites them to one SSRC, a peer may not).
    static func sources(_ sources: [MediaSource], groups: [(semantics: String, ssrcs: [UInt32])], excluding own: Set<UInt32>) -> Sources {
        var result = Sources()
        for group in groups where group.semantics.uppercased() == "FID" && group.ssrcs.count == 2 && !own.contains(group.ssrcs[0]) {
            result.rtx[group.ssrcs[1]] = group.ssrcs[0]
        }
        for source in sources where !own.contains(source.ssrc) && result.rtx[source.ssrc] == nil {
            guard RemoteSourceOwners.endpoint(source.owner ?? "") != "jvb" else { continue }  // the bridge's own feedback SSRC
            result.primary[source.ssrc] = Source(name: source.name, isScreenShare: source.videoType?.lowercased() == "desktop")
        }
        return result
    }
}
