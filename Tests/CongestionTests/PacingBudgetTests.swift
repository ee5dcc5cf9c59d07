import Testing
@testable import Congestion

@Suite struct PacingBudgetTests {
    /// Sends `packets` of `size` octets as fast as the budget lets them, from `start`; the
    /// times they left.
    func send(_ budget: inout PacingBudget, packets: Int, size: Int, from start: UInt64) -> [UInt64] {
        var now = start, times: [UInt64] = []
        for _ in 0..<packets {
            now += budget.wait(now: now)
            #expect(budget.wait(now: now) == 0)
            budget.spend(octets: size, now: now)
            times.append(now)
        }
        return times
    }

    @Test func aKeyFrameLeavesAtTheRateNotAsOneBurst() {
        // 1 Mbit/s target: 2.5 Mbit/s pacing. 50 packets of 1200 octets = 480 kbit: 192 ms.
        var budget = PacingBudget(rateBps: 0)
        budget.follow(targetBps: 1_000_000)
        #expect(budget.rateBps == 2_500_000)
        let times = send(&budget, packets: 50, size: 1200, from: 1_000_000_000)
        let span = Double(times.last! - times.first!) / 1e6
        // The first 5 ms worth (1.3 packets) go at once, the rest at 3.84 ms per packet.
        #expect(span > 180 && span < 192, "\(span) ms")
        // Never more than a burst's worth ahead of the rate.
        for (index, time) in times.enumerated() {
            let allowed = Double(time - times[0]) / 1e9 * 2_500_000 + 2_500_000 * 0.005 + 9600
            #expect(Double((index + 1) * 9600) <= allowed, "packet \(index) at \(time)")
        }
    }

    @Test func anIdlePacerSavesNoCreditBeyondOneBurst() {
        var budget = PacingBudget(rateBps: 1_000_000)
        _ = send(&budget, packets: 2, size: 1200, from: 0)
        // A second of silence, then ten packets: only the first one or two leave at once.
        let times = send(&budget, packets: 10, size: 1200, from: 1_000_000_000)
        let atOnce = times.filter { $0 == 1_000_000_000 }.count
        #expect(atOnce <= 2, "\(atOnce) at once")
        #expect(Double(times.last! - times.first!) / 1e6 > 8 * 9.6 - 5)
    }

    @Test func aRetransmissionSentBesideDelaysTheQueue() {
        var budget = PacingBudget(rateBps: 1_000_000)
        budget.spend(octets: 12_000, now: 0)  // ten retransmitted packets at once
        #expect(budget.wait(now: 0) > 90_000_000, "96 ms of debt less a 5 ms burst")
        #expect(budget.drainTime(octets: 1250) == 10_000_000)
        // A storm of them (a megabyte) delays the queue by at most 250 ms, not eight seconds.
        budget.spend(octets: 1_000_000, now: 0)
        #expect(budget.wait(now: 0) <= PacingBudget.maximumDebt)
    }
}
