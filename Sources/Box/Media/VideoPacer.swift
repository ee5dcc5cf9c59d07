#if canImport(Glibc)
import Glibc
#endif
import Congestion
import Runtime
import Synchronization

/// Sends the video's packets at the pacing rate, on a thread of its own: the video thread
/// queues a frame's packets (plain RTP, copied into a fixed ring) and goes on with the next
/// picture; this thread hands them to `VideoPacketOutput` — transport-wide number, send time,
/// SRTP, socket — as the budget allows (issue 13 item 3). Audio never waits here (the audio
/// thread sends on its own), retransmissions neither (the network thread sends them at once,
/// charged to the budget): the priorities audio, then retransmissions, then video.
///
/// The queue is bounded in time: while it holds more than `backlogLimit` at the pacing rate,
/// the video thread encodes no new frame (libvpx makes the next one smaller), rather than let
/// the queue — and the picture's delay — grow.
final class VideoPacer: @unchecked Sendable {
    struct Queued: BitwiseCopyable { var enqueuedAt: UInt64 }

    static let backlogLimit: UInt64 = 300_000_000
    private let ring: PacketRing<Queued>
    private let wakeup = Wakeup()
    private let budget: Mutex<PacingBudget>
    private let control: SendControl
    /// Octets queued (the video thread adds, the pacer thread takes away).
    private let queuedOctets = Atomic<Int>(0)
    /// Packets the full ring refused (the receiver asks for them again by NACK).
    let refused = Atomic<Int>(0)
    /// The longest a packet waited in the queue in this call, in µs.
    let longestWait = Atomic<Int>(0)

    init(control: SendControl, maximumLength: Int, capacity: Int = 1024) {
        self.control = control
        ring = PacketRing(capacity: capacity, maximumLength: maximumLength)
        var budget = PacingBudget(rateBps: 1)
        budget.follow(targetBps: Self.pacingTarget(control))
        self.budget = Mutex(budget)
    }

    /// The target the pacing follows (bit/s): what the estimates say the path carries.
    static func pacingTarget(_ control: SendControl) -> Double {
        Double(control.pacingTargetKbps.load(ordering: .relaxed)) * 1000
    }

    /// Video thread: queues one plain packet; false when the ring is full.
    @discardableResult
    func enqueue(_ packet: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        guard ring.push(Queued(enqueuedAt: now), packet) else {
            refused.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        queuedOctets.wrappingAdd(packet.count, ordering: .relaxed)
        // Checked after the push: the pacer sleeps only when it found the ring empty, and then
        // this packet is the only one in it (a check before the push could miss the pacer
        // taking the last packet in between and sleep it for 100 ms).
        if ring.count == 1 { wakeup.signal() }
        return true
    }

    /// Whether the queue holds more than `backlogLimit` at the current pacing rate, or fills
    /// half the ring (at a very high rate the ring, not the time, is the bound).
    var isBacklogged: Bool {
        let queued = queuedOctets.load(ordering: .relaxed)
        return budget.withLock { $0.drainTime(octets: queued) } > Self.backlogLimit || ring.count > ring.capacity / 2
    }

    /// A retransmission sent beside the queue still uses the link: charged to the budget.
    func charge(octets: Int, now: UInt64) {
        budget.withLock { $0.spend(octets: octets, now: now) }
    }

    /// Whether a retransmission may go now: not while the budget is more than
    /// `retransmissionDebtLimit` in debt. On a saturated link every resend adds to the queue
    /// that made the loss, whose NACKs ask for more (seen through a 1 Mbit/s bottleneck: 288
    /// resends in a minute and 10 % loss); libwebrtc limits resends to its target rate likewise.
    func mayRetransmit(now: UInt64) -> Bool {
        budget.withLock { $0.wait(now: now) } <= Self.retransmissionDebtLimit
    }

    static let retransmissionDebtLimit: UInt64 = 100_000_000

    /// The pacer thread's loop, until the senders stop.
    func run(output: VideoPacketOutput) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ring.maximumLength + 64, alignment: 16)
        defer { buffer.deallocate() }
        while !control.isStopping {
            guard ring.count > 0 else {
                var entry = pollfd(fd: wakeup.descriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, 100)
                wakeup.drain()
                continue
            }
            let target = Self.pacingTarget(control)
            let wait = budget.withLock { budget -> UInt64 in
                budget.follow(targetBps: target)
                return budget.wait(now: Monotonic.nanoseconds())
            }
            if wait > 0 {
                // At most 10 ms at a time: a stop, or a new rate, is seen within that.
                let slice = min(wait, 10_000_000)
                var pause = timespec(tv_sec: 0, tv_nsec: Int(slice))
                _ = nanosleep(&pause, nil)
                continue
            }
            var length = 0, enqueuedAt: UInt64 = 0
            ring.pop { record, packet in
                buffer.baseAddress!.copyMemory(from: packet.baseAddress!, byteCount: packet.count)
                length = packet.count
                enqueuedAt = record.enqueuedAt
            }
            queuedOctets.wrappingAdd(-length, ordering: .relaxed)
            let now = Monotonic.nanoseconds()
            let waited = Int((now &- enqueuedAt) / 1000)
            if waited > longestWait.load(ordering: .relaxed) { longestWait.store(waited, ordering: .relaxed) }
            let size = output.sendPaced(buffer, length: length)
            budget.withLock { $0.spend(octets: size, now: now) }
        }
    }
}
