@testable import AudioProcessing
import Testing

struct MicrophoneProcessorTests {
    static let block = MicrophoneProcessingSettings.blockSamples

    @Test func factoryMakesTheDefaultBackend() throws {
        let processor = try MicrophoneProcessors.make(MicrophoneProcessingSettings())
        switch MicrophoneProcessors.defaultBackend {
        case .webrtc: #expect(processor is WebRTCMicrophoneProcessor)
        case .speex: #expect(processor is SpeexMicrophoneProcessor)
        }
    }

    @Test(arguments: MicrophoneProcessingBackend.allCases)
    func silenceStaysSilentAndBlocksAreCounted(backend: MicrophoneProcessingBackend) throws {
        let processor = try MicrophoneProcessors.make(MicrophoneProcessingSettings(), backend: backend)
        let far = [Int16](repeating: 0, count: Self.block)
        var microphone = far
        for _ in 0..<50 {
            far.withUnsafeBufferPointer { processor.processReverse($0) }
            microphone.withUnsafeMutableBufferPointer { processor.processCapture($0, delayMilliseconds: 40) }
        }
        #expect(microphone.allSatisfy { $0 == 0 })
        #expect(processor.statistics.blocksProcessed == 50)
        #expect(processor.statistics.errors == 0)
    }

    @Test func speexWithEverythingOffPassesTheMicrophoneThrough() throws {
        let processor = try SpeexMicrophoneProcessor(
            MicrophoneProcessingSettings(echoCancellation: false, noiseSuppression: false, gainControl: false))
        let input = (0..<Self.block).map { Int16(truncatingIfNeeded: $0 * 37) }
        var block = input
        block.withUnsafeMutableBufferPointer { processor.processCapture($0, delayMilliseconds: 0) }
        #expect(block == input)
    }

    @Test func speexRealignsOnlyWhenTheReportedDelayJumps() throws {
        let processor = try SpeexMicrophoneProcessor(MicrophoneProcessingSettings())
        let far = [Int16](repeating: 0, count: Self.block)
        var microphone = far
        for delay in [60, 65, 55, 62, 120, 118, 40] {
            far.withUnsafeBufferPointer { processor.processReverse($0) }
            microphone.withUnsafeMutableBufferPointer { processor.processCapture($0, delayMilliseconds: delay) }
        }
        #expect(processor.statistics.realignments == 2)
        #expect(processor.statistics.resets == 0, "the filter is kept: only the box's buffering changed")
        #expect(processor.statistics.delayEstimateMilliseconds == 40 - processor.tuning.marginMilliseconds)
    }

    @Test func delayLineReturnsTheBlockPlayedThatLongAgo() {
        var line = ReferenceDelayLine(maximumDelay: 1000, block: 4)
        for start in stride(from: 1, through: 4000, by: 4) {
            let block = (start..<start + 4).map { Int16($0 % 30000) }
            block.withUnsafeBufferPointer { line.append($0) }
        }
        var out = [Int16](repeating: -1, count: 4)
        out.withUnsafeMutableBufferPointer { line.read(delay: 0, into: $0) }
        #expect(out == [3997, 3998, 3999, 4000])
        out.withUnsafeMutableBufferPointer { line.read(delay: 999, into: $0) }
        #expect(out == [2998, 2999, 3000, 3001])
        line.clear()
        out.withUnsafeMutableBufferPointer { line.read(delay: 10, into: $0) }
        #expect(out == [0, 0, 0, 0])
    }
}
