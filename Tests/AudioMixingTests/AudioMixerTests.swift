import Foundation
import Testing
@testable import AudioMixing

/// Power of one frequency in `samples` (the Goertzel algorithm), normalised so that a sine
/// of amplitude A reads A² / 4 · N² / N² ≈ A² / 4.
func goertzel(_ samples: ArraySlice<Float>, frequency: Double, sampleRate: Double = 48000) -> Double {
    let coefficient = 2 * cos(2 * Double.pi * frequency / sampleRate)
    var previous = 0.0, beforePrevious = 0.0
    for sample in samples {
        let current = Double(sample) + coefficient * previous - beforePrevious
        beforePrevious = previous
        previous = current
    }
    let power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
    return power / Double(samples.count * samples.count)
}

func sine(_ frequency: Double, amplitude: Double, count: Int, from start: Int = 0) -> [Float] {
    (start..<(start + count)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / 48000)) }
}

/// Runs `sources` (each a whole signal) through the mixer block by block; returns the output
/// and the levels of every block.
func mix(_ mixer: AudioMixer, _ sources: [[Float]], gains: [Float]? = nil) -> (output: [Int16], levels: [MixLevels]) {
    let length = sources.map(\.count).min() ?? 0
    var output = [Int16](repeating: 0, count: length)
    var levels: [MixLevels] = []
    for start in stride(from: 0, to: length - mixer.blockSamples + 1, by: mixer.blockSamples) {
        mixer.beginBlock()
        for (number, source) in sources.enumerated() {
            source.withUnsafeBufferPointer { whole in
                _ = mixer.add(UnsafeBufferPointer(rebasing: whole[start..<(start + mixer.blockSamples)]), gain: gains?[number] ?? 1)
            }
        }
        output.withUnsafeMutableBufferPointer { whole in
            levels.append(mixer.finish(into: UnsafeMutableBufferPointer(rebasing: whole[start..<(start + mixer.blockSamples)])))
        }
    }
    return (output, levels)
}

@Suite struct AudioMixerTests {
    /// The limit in Int16 units: −1 dBFS of 32768, rounded up once.
    static let thresholdInt16 = Int16((pow(10, -1.0 / 20) * 32768).rounded(.up))

    @Test func threeFullScaleSinesAreLimitedWithoutClippingAndStayAudible() {
        let mixer = AudioMixer()
        let frequencies = [440.0, 1000.0, 2500.0]
        let sources = frequencies.map { sine($0, amplitude: 0.9, count: 48000) }
        let (output, levels) = mix(mixer, sources)
        // Settled after the first 20 ms; in truth no sample ever passes the threshold.
        let settled = output.dropFirst(960)
        #expect(settled.allSatisfy { abs(Int($0)) <= Int(Self.thresholdInt16) }, "max \(settled.map { abs(Int($0)) }.max()!)")
        #expect(!output.contains(32767) && !output.contains(-32768))
        #expect(levels.dropFirst(2).allSatisfy { $0.gainReductionDB > 3 && $0.peakDBFS <= -0.99 })
        let floats = output.map { Float($0) / 32768 }.suffix(24000)
        let off = goertzel(floats, frequency: 1700)
        for frequency in frequencies {
            let power = goertzel(floats, frequency: frequency)
            // Each tone keeps roughly its third of the limited mix (≥ 0.2 amplitude) and stands
            // far above what limiting spreads elsewhere.
            #expect(power > 0.2 * 0.2 / 4, "\(frequency) Hz power \(power)")
            #expect(10 * log10(power / off) > 30, "\(frequency) Hz vs 1700 Hz: \(10 * log10(power / off)) dB")
        }
    }

    @Test func aSourceBelowTheThresholdPassesBitForBit() {
        let mixer = AudioMixer()
        // −6 dBFS: amplitude 16384 in Int16, given to the mixer as libopus would (/ 32768).
        let original = (0..<48000).map { Int16((16384 * sin(2 * Double.pi * 997 * Double($0) / 48000)).rounded()) }
        let (output, levels) = mix(mixer, [original.map { Float($0) / 32768 }])
        let latency = mixer.latencySamples
        #expect(latency == 96)
        #expect(output.prefix(latency).allSatisfy { $0 == 0 })
        #expect(Array(output.dropFirst(latency)) == Array(original.prefix(48000 - latency)))
        #expect(levels.allSatisfy { $0.gainReductionDB == 0 }, "the limiter never engages")
        #expect(mixer.limiter.gain == 1)
        #expect(abs(levels.last!.peakDBFS - (-6.02)) < 0.05 && abs(levels.last!.rmsDBFS - (-9.03)) < 0.05)
    }

    @Test func gainRecoversWithin300msAfterABurst() {
        let mixer = AudioMixer()
        // 100 ms at +9.5 dBFS (three times full scale), then a quiet tone for 1.4 s.
        let loud = sine(1000, amplitude: 3, count: 4800)
        let quiet = sine(1000, amplitude: 0.1, count: 67200, from: 4800)
        let signal = loud + quiet
        var gains: [Float] = []
        for start in stride(from: 0, to: signal.count, by: 480) {
            mixer.beginBlock()
            signal.withUnsafeBufferPointer { mixer.add(UnsafeBufferPointer(rebasing: $0[start..<(start + 480)])) }
            var block = [Int16](repeating: 0, count: 480)
            block.withUnsafeMutableBufferPointer { _ = mixer.finish(into: $0) }
            gains.append(mixer.limiter.gain)
        }
        let deepest = gains.min()!
        #expect(deepest < 0.35, "a 3× peak needs ≈ −10.5 dB, got \(deepest)")
        // The burst's last sample leaves the limiter 2 ms after the burst: measure from there.
        let burstEnd = 10
        let withinHalfDB = gains[burstEnd...].firstIndex { $0 >= Float(pow(10, -0.5 / 20)) }!
        let recoveryMs = (withinHalfDB - burstEnd + 1) * 10
        #expect(recoveryMs <= 300, "gain back within 0.5 dB after \(recoveryMs) ms")
        // Smooth: from block to block the gain only rises after the burst, by small steps.
        let after = gains[burstEnd...]
        #expect(zip(after, after.dropFirst()).allSatisfy { $1 >= $0 && $1 - $0 < 0.1 })
        #expect(gains.last! == 1, "back to exactly unity once recovered")
    }

    @Test func volumeZeroIsSilenceAndHundredIsUnity() {
        let source = sine(440, amplitude: 0.5, count: 9600)
        let muted = AudioMixer(volume: 0)
        #expect(mix(muted, [source]).output.allSatisfy { $0 == 0 })
        let full = AudioMixer(volume: 100)
        let output = mix(full, [source]).output
        let expected = source.prefix(9600 - 96).map { AudioMixer.int16($0) }
        #expect(Array(output.dropFirst(96)) == expected)
    }

    @Test func theVolumeCurveIsInDecibels() {
        #expect(MasterVolume.gain(forVolume: 0) == 0)
        #expect(MasterVolume.gain(forVolume: 100) == 1)
        #expect(abs(20 * log10(MasterVolume.gain(forVolume: 50)) - (-20)) < 0.01)
        #expect(abs(20 * log10(MasterVolume.gain(forVolume: 80)) - (-8)) < 0.01)
        let gains = (0...100).map { MasterVolume.gain(forVolume: $0) }
        #expect(zip(gains, gains.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func aVolumeChangeRampsOverOneBlock() {
        let mixer = AudioMixer(volume: 100)
        let source = [Float](repeating: 0.5, count: 1920)
        _ = mix(mixer, [Array(source.prefix(480))])
        mixer.setVolume(50)
        let output = mix(mixer, [Array(source.prefix(1440))]).output
        // Ramp inside the second block (the first still holds 96 samples of the old block).
        let steps = zip(output, output.dropFirst()).map { abs(Int($0) - Int($1)) }
        #expect(steps.max()! < 100, "no click: largest step \(steps.max()!)")
        #expect(output.last! == Int16((0.5 * 32768 * pow(10, -20.0 / 20)).rounded()))
    }

    @Test func silenceInSilenceOut() {
        let mixer = AudioMixer()
        let (output, levels) = mix(mixer, [[Float](repeating: 0, count: 4800), [Float](repeating: 0, count: 4800)])
        #expect(output.allSatisfy { $0 == 0 })
        #expect(levels.allSatisfy { $0 == .silence })
        // A block without any source is silence too.
        mixer.beginBlock()
        var block = [Int16](repeating: 1, count: 480)
        let level = block.withUnsafeMutableBufferPointer { mixer.finish(into: $0) }
        #expect(block.allSatisfy { $0 == 0 } && level == .silence)
    }

    @Test func sourcesAreSummedWithTheirGainsUpToTheLimit() {
        let mixer = AudioMixer(maxSources: 2)
        let a = [Float](repeating: 0.25, count: 960), b = [Float](repeating: 0.125, count: 960), c = [Float](repeating: 0.5, count: 960)
        let output = mix(mixer, [a, b, c], gains: [1, 0.5, 1]).output
        // 0.25 + 0.0625 = 0.3125 → 10240; the third source is refused.
        #expect(output.last! == 10240)
        #expect(mixer.droppedSources == 2 && mixer.sourcesInBlock == 2)
    }

    @Test func brokenInputDoesNotCrash() {
        let mixer = AudioMixer()
        var source = sine(1000, amplitude: 0.5, count: 960)
        source[100] = .nan
        source[200] = .infinity
        let output = mix(mixer, [source]).output
        #expect(output.count == 960)
    }
}
