import Foundation
import Testing
@testable import Codecs
import Media

/// A moving synthetic picture in a buffer with padded rows, like a V4L2 buffer.
final class Picture {
    let width: Int, height: Int, stride: Int
    let memory: UnsafeMutablePointer<UInt8>
    let format: VideoFrameLayout.Format

    init(width: Int, height: Int, padding: Int = 0, format: VideoFrameLayout.Format = .i420) {
        self.width = width
        self.height = height
        self.format = format
        stride = width + padding
        memory = .allocate(capacity: stride * height * 2)
        memory.initialize(repeating: 128, count: stride * height * 2)
    }

    deinit { memory.deallocate() }

    var layout: VideoFrameLayout {
        let chroma = memory + stride * height
        switch format {
        case .i420:
            return VideoFrameLayout(format: .i420, width: width, height: height,
                                    planes: (memory, chroma, chroma + stride / 2 * height / 2), strides: (stride, stride / 2, stride / 2))
        case .nv12:
            return VideoFrameLayout(format: .nv12, width: width, height: height, planes: (memory, chroma, nil), strides: (stride, stride, 0))
        }
    }

    func paint(_ index: Int) {
        for y in 0..<height {
            for x in 0..<width {
                let square = (x - index * 3) & 255 < 40 && (y - index) & 127 < 40
                memory[y * stride + x] = square ? 230 : UInt8(truncatingIfNeeded: 20 + (x / 4 + y / 2 + index) % 200)
            }
        }
        let layout = self.layout
        for y in 0..<(height / 2) {
            for x in 0..<(width / 2) {
                let u = UInt8(truncatingIfNeeded: 90 + (x + index) % 60), v = UInt8(truncatingIfNeeded: 160 - (y % 50))
                if format == .i420 {
                    layout.planes.1[y * layout.strides.1 + x] = u
                    layout.planes.2![y * layout.strides.2 + x] = v
                } else {
                    layout.planes.1[y * layout.strides.1 + 2 * x] = u
                    layout.planes.1[y * layout.strides.1 + 2 * x + 1] = v
                }
            }
        }
    }

    func luma() -> [UInt8] { (0..<height).flatMap { Array(UnsafeBufferPointer(start: memory + $0 * stride, count: width)) } }
}

struct Frame {
    var data: [UInt8]
    var key: Bool
    var droppable: Bool
    var layer: UInt8?
    var sync: Bool
}

func encode(_ encoder: VP8Encoder, _ picture: Picture, frames: Range<Int>, keyframeAt: Set<Int> = [], bitrate: [Int: Int] = [:]) throws -> [Frame] {
    var out: [Frame] = []
    for index in frames {
        picture.paint(index)
        if keyframeAt.contains(index) { encoder.requestKeyframe() }
        if let kbps = bitrate[index] { try encoder.setBitrate(kbps: kbps) }
        try encoder.encode(picture.layout, pts: Int64(index * 3000), duration: 3000) { frame in
            out.append(Frame(data: Array(frame.data), key: frame.isKeyframe, droppable: frame.isDroppable,
                             layer: frame.temporalLayer?.id, sync: frame.temporalLayer?.sync ?? false))
        }
    }
    return out
}

func lumaPSNR(_ a: [UInt8], _ b: [UInt8]) -> Double {
    let mse = zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(a.count)
    return 10 * log10(255 * 255 / max(mse, 1e-9))
}

@Suite struct VP8EncoderTests {
    func settings(_ width: Int = 320, _ height: Int = 240, kbps: Int = 600) -> VP8EncoderSettings {
        VP8EncoderSettings(width: width, height: height, fps: 30, bitrateKbps: kbps)
    }

    @Test(arguments: [VideoFrameLayout.Format.i420, .nv12])
    func framesFromPaddedBuffersDecodeBackFaithfully(format: VideoFrameLayout.Format) throws {
        let encoder = try VP8Encoder(settings())
        let picture = Picture(width: 320, height: 240, padding: 64, format: format)
        let frames = try encode(encoder, picture, frames: 0..<20)
        #expect(frames.count == 20)
        #expect(frames.map(\.key) == [true] + Array(repeating: false, count: 19))
        let decoder = try VP8Decoder()
        var decoded: [UInt8] = []
        for frame in frames {
            try frame.data.withUnsafeBytes { raw in
                try decoder.decode(raw) { image in
                    #expect(image.width == 320 && image.height == 240)
                    decoded = (0..<240).flatMap { Array(UnsafeBufferPointer(start: image.planes.0 + $0 * image.strides.0, count: 320)) }
                }
            }
        }
        #expect(lumaPSNR(picture.luma(), decoded) > 30)
    }

    @Test func keyframesComeOnRequest() throws {
        let encoder = try VP8Encoder(settings())
        let frames = try encode(encoder, Picture(width: 320, height: 240), frames: 0..<12, keyframeAt: [5, 9])
        #expect(frames.enumerated().filter(\.element.key).map(\.offset) == [0, 5, 9])
    }

    @Test func bitrateChangesTakeEffectWithoutAKeyframe() throws {
        let encoder = try VP8Encoder(settings(kbps: 2000))
        let picture = Picture(width: 320, height: 240)
        let frames = try encode(encoder, picture, frames: 0..<90, bitrate: [45: 150])
        let high = frames[15..<45].reduce(0) { $0 + $1.data.count }
        let low = frames[60..<90].reduce(0) { $0 + $1.data.count }
        #expect(frames[45...].allSatisfy { !$0.key })
        #expect(Double(low) < Double(high) * 0.5, "\(low) bytes at 150 kbps vs \(high) at 2000 kbps")
        #expect(encoder.settings.bitrateKbps == 150)
    }

    @Test func twoTemporalLayersAlternateAndTheBaseDecodesAlone() throws {
        var layered = settings()
        layered.temporalLayers = 2
        let encoder = try VP8Encoder(layered)
        let frames = try encode(encoder, Picture(width: 320, height: 240), frames: 0..<16)
        #expect(frames.map(\.layer) == (0..<16).map { UInt8($0 % 2) })
        #expect(frames.filter { $0.layer == 1 }.allSatisfy { $0.droppable && $0.sync })
        // A receiver that gets only TL0 (the bridge thinning the stream) decodes every one of them.
        let decoder = try VP8Decoder()
        var decodedCount = 0
        for frame in frames where frame.layer == 0 {
            try frame.data.withUnsafeBytes { try decoder.decode($0) { _ in decodedCount += 1 } }
        }
        #expect(decodedCount == 8)
    }

    @Test func threeTemporalLayersFollowThe0212Pattern() throws {
        var layered = settings()
        layered.temporalLayers = 3
        let frames = try encode(try VP8Encoder(layered), Picture(width: 320, height: 240), frames: 0..<8)
        #expect(frames.map(\.layer) == [0, 2, 1, 2, 0, 2, 1, 2])
        #expect(frames.map(\.sync) == [true, true, true, false, false, true, true, false])
    }

    @Test func badSettingsAndMismatchedFramesAreErrors() throws {
        #expect(throws: CodecError.invalidSettings("VP8 needs an even, positive size")) { try VP8Encoder(settings(321, 240)) }
        var layers = settings()
        layers.temporalLayers = 4
        #expect(throws: CodecError.self) { try VP8Encoder(layers) }
        let encoder = try VP8Encoder(settings())
        #expect(throws: CodecError.self) {
            try encoder.encode(Picture(width: 160, height: 120).layout, pts: 0, duration: 3000) { _ in }
        }
        var negative = settings()
        negative.threads = -1
        #expect(throws: CodecError.self) { try VP8Encoder(negative) }
    }

    /// libwebrtc's table (libvpx_vp8_encoder.cc, off Android), and an encoder made with
    /// automatic threads encodes.
    @Test func automaticThreadsFollowLibwebrtc() throws {
        let cases: [(Int, Int, Int, Int)] = [(1280, 720, 2, 1), (1280, 720, 4, 2), (1280, 720, 6, 3), (640, 480, 4, 1),
                                            (640, 360, 8, 1), (1920, 1080, 4, 2), (1920, 1080, 6, 3), (1920, 1080, 12, 8), (320, 180, 1, 1)]
        for (width, height, cores, threads) in cases {
            #expect(VP8EncoderSettings.automaticThreads(width: width, height: height, cores: cores) == threads, "\(width)x\(height), \(cores) cores")
        }
        var automatic = settings()
        automatic.threads = 0
        let encoder = try VP8Encoder(automatic)
        var bytes = 0
        try encoder.encode(Picture(width: automatic.width, height: automatic.height).layout, pts: 0, duration: 3000) { bytes += $0.data.count }
        #expect(bytes > 0)
    }
}

@Suite struct OpusEncoderTests {
    func tone(_ frame: Int, hz: Double, amplitude: Double) -> [Int16] {
        (0..<960).map { Int16(amplitude * sin(2 * Double.pi * hz * Double(frame * 960 + $0) / 48000)) }
    }

    @Test func aToneSurvivesEncodeAndDecode() throws {
        let encoder = try OpusEncoder(OpusEncoderSettings(bitrateKbps: 32, dtx: false))
        let decoder = try OpusDecoder()
        var packet = [UInt8](repeating: 0, count: 1500)
        var pcm = [Int16](repeating: 0, count: 960)
        var decoded: [Int16] = []
        for frame in 0..<50 {
            let samples = tone(frame, hz: 1000, amplitude: 8000)
            let length = try samples.withUnsafeBufferPointer { input in
                try packet.withUnsafeMutableBytes { try encoder.encode(input.baseAddress!, into: $0) }
            }
            #expect(length > 2 && length < 200)
            let count = try packet.withUnsafeBytes { raw in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[0..<length]), into: $0) }
            }
            #expect(count == 960)
            decoded += pcm
        }
        let tail = decoded.suffix(24000)
        let crossings = zip(tail, tail.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(Double(crossings) - 1000) <= 4, "\(crossings / 2) Hz")
    }

    @Test func dtxSendsAlmostNothingDuringSilence() throws {
        let encoder = try OpusEncoder(OpusEncoderSettings(bitrateKbps: 32, dtx: true))
        var packet = [UInt8](repeating: 0, count: 1500)
        let silence = [Int16](repeating: 0, count: 960)
        var lengths: [Int] = []
        for _ in 0..<50 {
            lengths.append(try silence.withUnsafeBufferPointer { input in
                try packet.withUnsafeMutableBytes { try encoder.encode(input.baseAddress!, into: $0) }
            })
        }
        #expect(lengths.suffix(20).filter { $0 <= 2 }.count >= 15, "\(lengths)")
        try encoder.setBitrate(kbps: 16)
        try encoder.setPacketLoss(percent: 20)
        #expect(encoder.settings.bitrateKbps == 16 && encoder.settings.packetLossPercent == 20)
    }
}
