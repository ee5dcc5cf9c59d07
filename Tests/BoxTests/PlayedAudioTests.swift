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

    /// A phase step is not a hole: the tone sounds on (concealment re-entering it, a drop of
    /// whole periods); a single Goertzel over the window would cancel it.
    @Test func aPhaseStepIsNoHole() {
        let samples = (0..<96_000).map { index -> Int16 in
            let t = Double(index) / 48_000
            return Int16(8000 * sin(2 * Double.pi * 660 * t + (t >= 1.05 ? Double.pi : 0)))
        }
        let played = PlayedAudio(samples: samples)
        #expect(PlayedAudio.toneLevel(played.window(1.0, 0.1), frequency: 660) < -40, "the whole window's phasors cancel")
        #expect(played.windowsWithoutTone(660, from: 0, to: 2).isEmpty)
    }
}
