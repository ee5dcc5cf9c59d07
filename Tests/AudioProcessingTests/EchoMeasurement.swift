import AudioProcessing
import Foundation

/// Runs one processor over a `SyntheticRoom` in 10 ms blocks, the way the playback thread
/// will (reverse, then capture with the reported delay), and computes research §7's figures.
struct EchoMeasurement: Sendable {
    /// ERLE over far-end-only frames after 2 s of convergence, before the double talk.
    var erle: Double
    var erleMedianFrame: Double
    /// ERLE over the far-end-only stretch after the double talk (filter divergence shows here).
    var erleAfterDoubleTalk: Double
    var doubleTalkSDR: Double
    var nearEndGainDB: Double
    var latencySamples: Int
    /// ERLE per 0.5 s window after the 40 ms echo-path change.
    var windowsAfterChange: [Double]
    /// Seconds until every later 0.5 s window is at or above 25 dB (nil: never).
    var retrackSeconds: Double?
    var cpuMicrosecondsPerBlock: Double
    var libraryERLE: Double?
    var libraryDelayMs: Int?
    var realignments = 0

    static let retrackThresholdDB = 25.0

    /// `changeReported`: the 40 ms change shows in the reported delay (the box's own buffering
    /// grew) instead of happening unseen in the acoustic path.
    static func run(_ processor: any MicrophoneProcessing, in room: SyntheticRoom,
                    changeReported: Bool = false) -> EchoMeasurement {
        let block = SyntheticRoom.block
        var output = [Int16](repeating: 0, count: SyntheticRoom.duration)
        var cpu: Double = 0
        room.far.withUnsafeBufferPointer { far in
            room.microphone.withUnsafeBufferPointer { microphone in
                output.withUnsafeMutableBufferPointer { output in
                    var start = 0
                    while start + block <= SyntheticRoom.duration {
                        let capture = UnsafeMutableBufferPointer(rebasing: output[start..<start + block])
                        _ = capture.update(fromContentsOf: microphone[start..<start + block])
                        let before = threadCPUSeconds()
                        processor.processReverse(UnsafeBufferPointer(rebasing: far[start..<start + block]))
                        processor.processCapture(capture, delayMilliseconds:
                            room.reportedDelayMs(atSample: start, changeReported: changeReported))
                        cpu += threadCPUSeconds() - before
                        start += block
                    }
                }
            }
        }
        let y = output.map { Double($0) / 32768 }
        let statistics = processor.statistics
        var result = measure(y, room)
        result.cpuMicrosecondsPerBlock = cpu * 1e6 / Double(SyntheticRoom.duration / block)
        result.libraryERLE = statistics.echoReturnLossEnhancementDB
        result.libraryDelayMs = statistics.delayEstimateMilliseconds
        result.realignments = statistics.realignments
        return result
    }

    static func measure(_ y: [Double], _ room: SyntheticRoom) -> EchoMeasurement {
        let rate = SyntheticRoom.rate
        let active = activeFrames(room.echoOnly)
        func erle(_ range: Range<Int>) -> (total: Double, median: Double, frames: Int) {
            var d = 0.0, e = 0.0
            var perFrame: [Double] = []
            for frame in range.lowerBound / SyntheticRoom.block..<range.upperBound / SyntheticRoom.block where active[frame] {
                let start = frame * SyntheticRoom.block
                var df = 0.0, ef = 0.0
                for n in start..<start + SyntheticRoom.block {
                    df += room.echoAndNoise[n] * room.echoAndNoise[n]
                    ef += y[n] * y[n]
                }
                d += df; e += ef
                perFrame.append(10 * log10(df / max(ef, 1e-20)))
            }
            perFrame.sort()
            let median = perFrame.isEmpty ? .nan : perFrame[perFrame.count / 2]
            return (10 * log10(d / max(e, 1e-20)), median, perFrame.count)
        }
        let converged = erle(2 * rate..<SyntheticRoom.doubleTalk.lowerBound)
        let afterDT = erle(SyntheticRoom.doubleTalk.upperBound + rate / 2..<SyntheticRoom.changeAt)
        var windows: [Double] = []
        var start = SyntheticRoom.changeAt
        while start + rate / 2 <= SyntheticRoom.duration {
            let window = erle(start..<start + rate / 2)
            windows.append(window.frames >= 10 ? window.total : .nan)
            start += rate / 2
        }
        var retrack: Double?
        for k in windows.indices.reversed() {
            if windows[k].isNaN { continue }
            if windows[k] < retrackThresholdDB { break }
            retrack = Double(k + 1) * 0.5
        }
        let (sdr, gain, lag) = doubleTalk(y, room)
        return EchoMeasurement(erle: converged.total, erleMedianFrame: converged.median,
                               erleAfterDoubleTalk: afterDT.total, doubleTalkSDR: sdr, nearEndGainDB: gain,
                               latencySamples: lag, windowsAfterChange: windows, retrackSeconds: retrack,
                               cpuMicrosecondsPerBlock: 0)
    }

    /// SDR of the output against the clean near end over the double talk, at the lag
    /// (0–30 ms) that maximises their correlation; and the near-end gain 20·log10(⟨y,s⟩/⟨s,s⟩).
    static func doubleTalk(_ y: [Double], _ room: SyntheticRoom) -> (sdr: Double, gain: Double, lag: Int) {
        let range = SyntheticRoom.doubleTalk
        let maximumLag = 30 * SyntheticRoom.rate / 1000
        let s = Array(room.nearClean[range])
        let x = Array(y[range.lowerBound..<min(y.count, range.upperBound + maximumLag)])
        let correlation = FFT.crossCorrelation(x, s, maximumLag: maximumLag)
        let lag = correlation.indices.max { correlation[$0] < correlation[$1] } ?? 0
        var signal = 0.0, error = 0.0
        for n in 0..<s.count {
            let output = n + lag < x.count ? x[n + lag] : 0
            signal += s[n] * s[n]
            error += (s[n] - output) * (s[n] - output)
        }
        return (10 * log10(signal / error), 20 * log10(max(correlation[lag], 1e-20) / signal), lag)
    }

    /// 10 ms frames whose echo power is within 30 dB of the loudest frame's.
    static func activeFrames(_ echo: [Double]) -> [Bool] {
        let block = SyntheticRoom.block
        let powers = stride(from: 0, to: echo.count - block + 1, by: block).map { start in
            echo[start..<start + block].reduce(0) { $0 + $1 * $1 }
        }
        let threshold = (powers.max() ?? 0) * 1e-3
        return powers.map { $0 >= threshold }
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}
