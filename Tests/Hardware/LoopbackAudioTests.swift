import ClassboxTestSupport
import Foundation
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
