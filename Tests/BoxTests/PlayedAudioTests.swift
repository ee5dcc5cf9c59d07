import ClassboxTestSupport
import Foundation
import Testing

/// The conference tests' ear: a tone with a hole in it is measured as such.
@Suite struct PlayedAudioTests {
    @Test func aHoleInTheToneIsFoundWhereItIs() {
        // 2 s of 660 Hz with 0.3 s of silence from 0.8 s.
        let samples = (0..<96_000).map { index -> Int16 in
            let t = Double(index) / 48_000
            return t >= 0.8 && t < 1.1 ? 0 : Int16(8000 * sin(2 * Double.pi * 660 * t))
        }
        let played = PlayedAudio(samples: samples)
        #expect(played.windowsWithoutTone(660, from: 0, to: 2) == [0.8, 0.9, 1.0])
        #expect(abs(played.longestGap(in: 660, from: 0, to: 2) - 0.3) < 1e-9)
        #expect(played.longestGap(in: 660, from: 1.1, to: 2) == 0)
        #expect(abs(played.longestSilence - 0.3) < 0.001)
        #expect(played.windowsWithTone(440).isEmpty)
    }
}
