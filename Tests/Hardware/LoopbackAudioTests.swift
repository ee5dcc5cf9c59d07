import ClassboxTestSupport
import Foundation
import Runtime
import Synchronization
import Testing
@testable import Capture

/// The microphone code against snd-aloop: what is played into one end of the kernel's
/// loopback card is captured, in real time, at the other.
@Suite(.serialized, .enabled(if: inQEMUGuest, "needs snd-aloop: runs inside the QEMU tier (make qemu-test)"))
struct LoopbackAudioTests {
    @Test func aToneArrivesAtTheRealRateAndIntact() throws {
        let tone = ToneSource(frequency: 1000, amplitude: 12000, paced: false)
        var samples = [Int16](repeating: 0, count: 48000 * 8)
        try samples.withUnsafeMutableBufferPointer { try tone.read(into: $0) }
        let input = "/tmp/tone-1k.raw"
        try samples.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: input))
        let player = try SpawnedProcess("/usr/bin/aplay", ["-q", "-D", "hw:Loopback,0,0", "-f", "S16_LE", "-r", "48000", "-c", "1",
                                                           "-t", "raw", input], environment: [:])
        defer { player.signal(SIGTERM); player.wait(timeout: 5) }
        usleep(200_000)
        let capture = try ALSACapture(pcm: "hw:Loopback,1,0")
        var captured = [Int16](repeating: 0, count: 48000 * 4)
        let start = VividCaptureTests.monotonicSeconds()
        try captured.withUnsafeMutableBufferPointer { buffer in
            for offset in stride(from: 0, to: buffer.count, by: 480) {
                try capture.read(into: UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + 480)]))
            }
        }
        let elapsed = VividCaptureTests.monotonicSeconds() - start
        // Rate: 4 s of samples took 4 s of wall time (minus what was already buffered, < 1 period set).
        let rate = Double(captured.count) / elapsed
        let audible = captured.drop { $0 == 0 }
        let frequency = Self.frequency(Array(audible.dropFirst(480)))
        let peak = audible.map { abs(Int($0)) }.max() ?? 0
        print("snd-aloop: \(captured.count) samples in \(String(format: "%.3f", elapsed)) s = \(Int(rate)) Hz, "
              + "tone \(String(format: "%.2f", frequency)) Hz, peak \(peak), overruns \(capture.overruns)")
        #expect(abs(rate - 48000) < 48000 * 0.02)
        #expect(abs(frequency - 1000) < 1)
        #expect(abs(peak - 12000) < 200)
        #expect(capture.overruns == 0)
    }

    /// The loudspeaker's cushion as the box's audio thread drives it (one block written per
    /// block captured): 30 ms while the sound goes on, 20 ms after a quiet block once it ran
    /// long enough without an underrun, 30 ms again after one.
    @Test func theLoudspeakerCushionComesDownInSilenceAndGoesUpAfterAnUnderrun() throws {
        // As the box's audio thread: SCHED_FIFO, so only the planned delay below is late.
        let result = Mutex<Result<CushionRun, any Error>?>(nil)
        let thread = try BackgroundThread(name: "cushion-test") {
            _ = CurrentThread.requestRealTime(priority: 20)
            result.withLock { $0 = Result { try Self.driveCushion() } }
        }
        thread.join()
        let run = try #require(result.withLock { $0 }).get()
        print("loudspeaker cushion: \(run.whileSounding) periods while sounding (queue \(String(format: "%.1f", run.soundingQueue)) ms), "
              + "\(run.afterQuiet) after a quiet spell (queue \(String(format: "%.1f", run.quietQueue)) ms), \(run.afterUnderrun) after "
              + "\(run.plannedUnderruns) underrun(s); \(run.earlierUnderruns) earlier underruns, \(run.overruns) overruns")
        #expect(run.whileSounding == 3 && run.soundingQueue > 25 && run.soundingQueue <= 40)
        #expect(run.afterQuiet == 2 && run.quietQueue > 15 && run.quietQueue <= 30)
        #expect(run.plannedUnderruns == 1 && run.afterUnderrun == 3)
        #expect(run.earlierUnderruns == 0 && run.overruns == 0)
    }

    struct CushionRun: Sendable {
        var whileSounding = 0, afterQuiet = 0, afterUnderrun = 0
        var soundingQueue = 0.0, quietQueue = 0.0
        var earlierUnderruns = 0, plannedUnderruns = 0, overruns = 0
    }

    /// Plays as the box does (one block written per block captured) and checks the cushion:
    /// 30 ms while the sound goes on, 20 ms after a quiet block once it ran long enough
    /// without an underrun, 30 ms again after one.
    static func driveCushion() throws -> CushionRun {
        let playback = try ALSAPlayback(pcm: "hw:Loopback,0,0", relaxAfterBlocks: 100)
        let capture = try ALSACapture(pcm: "hw:Loopback,1,0")
        let tone = ToneSource(frequency: 1000, amplitude: 8000, paced: false)
        var block = [Int16](repeating: 0, count: 480), heard = [Int16](repeating: 0, count: 480)
        /// Plays `count` blocks paced by the capture; returns the loudspeaker's mean queue (ms) after a write.
        func run(_ count: Int, silent: Bool) throws -> Double {
            var queued = 0
            for _ in 0..<count {
                try heard.withUnsafeMutableBufferPointer { try capture.read(into: $0) }
                if silent { block.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } } else { try block.withUnsafeMutableBufferPointer { try tone.read(into: $0) } }
                try block.withUnsafeBufferPointer { try playback.write($0) }
                queued += playback.delayFrames
            }
            return Double(queued) / Double(count) / 48
        }
        var result = CushionRun()
        result.soundingQueue = try run(150, silent: false)
        result.whileSounding = playback.cushionPeriods
        result.quietQueue = try run(100, silent: true)
        result.afterQuiet = playback.cushionPeriods
        result.earlierUnderruns = playback.underruns
        usleep(60_000)  // the box was late: more than the cushion
        _ = try run(20, silent: false)
        result.plannedUnderruns = playback.underruns - result.earlierUnderruns
        result.afterUnderrun = playback.cushionPeriods
        result.overruns = capture.overruns
        return result
    }

    static func frequency(_ samples: [Int16]) -> Double {
        var crossings: [Double] = []
        for index in 1..<samples.count where samples[index - 1] < 0 && samples[index] >= 0 {
            let a = Double(samples[index - 1]), b = Double(samples[index])
            crossings.append(Double(index - 1) - a / (b - a))
        }
        guard crossings.count > 1 else { return 0 }
        return Double(crossings.count - 1) / ((crossings.last! - crossings.first!) / 48000)
    }
}
