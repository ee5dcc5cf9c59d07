import Codecs
import Foundation
import Media
import Privacy
import Testing
@testable import Capture

@Suite struct TestPatternTests {
    @Test(arguments: [(1280, 720), (640, 360), (320, 240)])
    func frameNumbersReadBackExactly(width: Int, height: Int) {
        let pattern = TestPattern(width: width, height: height)
        for number in [0, 1, 2, 255, 256, 65535, 65536, 1_000_003, 0xFF_FFFF] {
            let frame = pattern.render(frame: number)
            #expect(TestPattern.readFrameNumber(luma: frame.planes.0, stride: frame.strides.0, width: width, height: height) == number)
        }
    }

    @Test func thePictureMovesFromFrameToFrame() {
        let pattern = TestPattern(width: 320, height: 240)
        let first = Array(UnsafeBufferPointer(start: pattern.render(frame: 10).planes.0, count: 320 * 240))
        let second = Array(UnsafeBufferPointer(start: pattern.render(frame: 11).planes.0, count: 320 * 240))
        let changed = zip(first, second).filter { $0 != $1 }.count
        #expect(changed > 320 * 240 / 4)
    }

    @Test func aCorruptedCodeIsRejectedNotMisread() {
        let pattern = TestPattern(width: 640, height: 360)
        let frame = pattern.render(frame: 4242)
        // Flip one block of row 0 to its opposite value.
        let block = pattern.blockSize
        let x = block / 2 + 3 * block + block / 2, y = block / 2 + block / 2
        let flipped: UInt8 = frame.planes.0[y * 640 + x] > 128 ? 16 : 235
        for row in (y - block / 3)..<(y + block / 3) {
            for column in (x - block / 3)..<(x + block / 3) { frame.planes.0[row * 640 + column] = flipped }
        }
        #expect(TestPattern.readFrameNumber(luma: frame.planes.0, stride: 640, width: 640, height: 360) == nil)
    }

    /// The code survives VP8 at the default 720p bitrate: what receivers rely on.
    @Test func frameNumbersSurviveVP8() throws {
        let pattern = TestPattern(width: 1280, height: 720)
        let encoder = try VP8Encoder(VP8EncoderSettings(width: 1280, height: 720, fps: 30, bitrateKbps: 1500))
        let decoder = try VP8Decoder()
        var read: [Int?] = []
        for number in 0..<30 {
            try encoder.encode(pattern.render(frame: number), pts: Int64(number * 3000), duration: 3000) { encoded in
                try decoder.decode(encoded.data) { picture in
                    read.append(TestPattern.readFrameNumber(luma: picture.planes.0, stride: picture.strides.0, width: 1280, height: 720))
                }
            }
        }
        #expect(read == (0..<30).map { $0 })
    }
}

@Suite struct AudioSourceTests {
    @Test func theToneHasItsFrequencyAndAmplitude() throws {
        let tone = ToneSource(frequency: 440, amplitude: 8192, paced: false)
        var samples = [Int16](repeating: 0, count: 48000)
        try samples.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: 48000, by: 480) {
                try tone.read(into: UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + 480)]))
            }
        }
        let crossings = zip(samples, samples.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 880) <= 1, "continuous phase across reads: \(crossings / 2) Hz")
        #expect(samples.max()! > 8150 && samples.min()! < -8150 && samples.max()! <= 8192)
    }

    @Test func alsaCapturesFromAFileDefinedPCM() throws {
        // 0.5 s of a 1 kHz tone at 48 kHz mono S16_LE, served by alsa-lib's file plugin.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tone-\(UUID().uuidString).raw").path
        let tone = (0..<24000).map { Int16(10000 * sin(2 * Double.pi * 1000 * Double($0) / 48000)) }
        try tone.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        let definitions = """
            pcm.testcap { type file slave.pcm { type null } file "/dev/null" infile "\(path)" format "raw" }
            """
        let capture = try ALSACapture(pcm: "testcap", definitions: definitions)
        #expect(capture.periodFrames == 480 && capture.channels == 1)
        var samples = [Int16](repeating: 0, count: 9600)
        try samples.withUnsafeMutableBufferPointer { try capture.read(into: $0) }
        let mismatch = Array(zip(samples, tone)).firstIndex { $0 != $1 }
        #expect(mismatch == nil, "first samples \(samples.prefix(8)), first mismatch at \(String(describing: mismatch))")
    }

    @Test func anUnknownPCMIsAClearError() {
        #expect(throws: CaptureError.self) { try ALSACapture(pcm: "no-such-pcm-classbox") }
        do {
            _ = try ALSACapture(pcm: "no-such-pcm-classbox")
        } catch {
            #expect(error.description.contains("no-such-pcm-classbox"))
        }
    }
}

@Suite struct CameraTests {
    @Test func formatChoicePrefersZeroCopyThenConversion() {
        let yu12 = FourCC.code("YU12")!, nv12 = FourCC.code("NV12")!, yuyv = FourCC.code("YUYV")!, mjpg = FourCC.code("MJPG")!
        #expect(CameraFormat.choose(offered: [yuyv, nv12, yu12])! == (.i420, false))
        #expect(CameraFormat.choose(offered: [mjpg, nv12])! == (.nv12, false))
        #expect(CameraFormat.choose(offered: [mjpg, yuyv])! == (.i420, true))
        #expect(CameraFormat.choose(offered: [FourCC.code("GREY")!]) == nil)
        #expect(CameraFormat.choose(offered: []) == nil)
    }

    /// A permit as the box gets one: the privacy switch was opened.
    static func openSwitch() -> CameraPermit {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        return machine.permit()!
    }

    @Test func withoutAValidPermitNoCameraIsOpened() {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        let permit = machine.permit()!
        _ = machine.handle(.switchMoved(covered: true))
        // The device would be /dev/null (an error if opened): the permit is checked first.
        do {
            _ = try V4L2Camera(.init(path: "/dev/null", width: 1280, height: 720, fps: 30), permit: permit)
            Issue.record("a camera opened with a revoked permit")
        } catch {
            #expect(error == .private("/dev/null"))
        }
    }

    @Test func missingAndNonCameraDevicesAreClearErrors() {
        #expect(throws: CaptureError.disconnected("/dev/video-classbox-missing")) {
            try V4L2Camera(.init(path: "/dev/video-classbox-missing", width: 1280, height: 720, fps: 30), permit: Self.openSwitch())
        }
        #expect(throws: CaptureError.system("VIDIOC_QUERYCAP /dev/null", errno: ENOTTY)) {
            try V4L2Camera(.init(path: "/dev/null", width: 1280, height: 720, fps: 30), permit: Self.openSwitch())
        }
        #expect(CaptureError.disconnected("/dev/video0").isTransient && CaptureError.stalled("/dev/video0", seconds: 2).isTransient)
        #expect(!CaptureError.notACaptureDevice("/dev/video0").isTransient)
    }
}
