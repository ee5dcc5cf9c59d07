#if canImport(Glibc)
import Glibc
#endif

/// Where the box's microphone samples come from: 48 kHz, mono, signed 16-bit.
public protocol AudioSource: AnyObject {
    /// Blocks until `buffer.count` samples are there and writes them into `buffer`.
    func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(CaptureError)
    /// Overruns recovered so far (the capture fell behind and lost samples).
    var overruns: Int { get }
    /// Samples captured but not read yet (the device's part of the echo path); 0 for a
    /// generated source.
    var delayFrames: Int { get }
}

extension AudioSource {
    public var delayFrames: Int { 0 }
}

/// Keeps a generated source at the real rate: each read returns when its samples would
/// have been captured, measured on the monotonic clock from the first read.
struct RealTimePacer {
    private var start: timespec?
    private var samples: Int = 0
    let sampleRate: Int

    init(sampleRate: Int) {
        self.sampleRate = sampleRate
    }

    mutating func wait(for count: Int) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        // First use, or far behind (the source sat unused while a real device ran, or the
        // thread was stopped): start the schedule anew instead of racing to catch up.
        if let start, nanoseconds(now) - nanoseconds(start) - samples * 1_000_000_000 / sampleRate > 100_000_000 {
            self.start = nil
        }
        if start == nil {
            start = now
            samples = 0
        }
        samples += count
        let nanoseconds = Int(start!.tv_nsec) + samples * 1_000_000_000 / sampleRate
        var deadline = timespec(tv_sec: start!.tv_sec + nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }

    private func nanoseconds(_ time: timespec) -> Int { time.tv_sec * 1_000_000_000 + time.tv_nsec }
}

/// A sine tone for machines without a microphone (`audio.capture = "tone"`).
public final class ToneSource: AudioSource {
    public let frequency: Double
    public let amplitude: Double
    private var phase: Double = 0
    private var pacer: RealTimePacer?
    public let overruns = 0

    /// `paced: false` returns samples as fast as asked (tests, benchmarks).
    public init(frequency: Double, amplitude: Double = 8192, sampleRate: Int = 48000, paced: Bool = true) {
        self.frequency = frequency
        self.amplitude = amplitude
        self.step = 2 * Double.pi * frequency / Double(sampleRate)
        pacer = paced ? RealTimePacer(sampleRate: sampleRate) : nil
    }

    private let step: Double

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(CaptureError) {
        pacer?.wait(for: buffer.count)
        for index in buffer.indices {
            buffer[index] = Int16(amplitude * sin(phase))
            phase += step
            if phase > 2 * Double.pi { phase -= 2 * Double.pi }
        }
    }
}

/// Silence at the real rate (`audio.capture = "null"`): the stream keeps its timing.
public final class SilenceSource: AudioSource {
    private var pacer: RealTimePacer?
    public let overruns = 0

    public init(sampleRate: Int = 48000, paced: Bool = true) {
        pacer = paced ? RealTimePacer(sampleRate: sampleRate) : nil
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(CaptureError) {
        pacer?.wait(for: buffer.count)
        buffer.update(repeating: 0)
    }
}
