import ClassboxTestSupport
import Foundation
import Media
import Privacy
import Testing
@testable import Capture

/// True inside the QEMU tier's guest (Tests/QEMU/guest.sh), where vivid and snd-aloop exist.
let inQEMUGuest = ProcessInfo.processInfo.environment["CLASSBOX_QEMU_GUEST"] == "1"

/// The capture code against the kernel's own virtual devices. vivid's capture node is in
/// HDMI mode with CEA 720p30 timings (set by guest.sh).
@Suite(.serialized, .enabled(if: inQEMUGuest, "needs vivid and snd-aloop: runs inside the QEMU tier (make qemu-test)"))
struct VividCaptureTests {
    /// Eight buffers (267 ms) rather than the box's four: under TCG the whole guest stalls now
    /// and then for longer than four frames, and vivid drops a frame when no buffer is queued.
    static let camera: V4L2Camera.Configuration = {
        var configuration = V4L2Camera.Configuration(path: "/dev/video0", width: 1280, height: 720, fps: 30)
        configuration.bufferCount = 8
        return configuration
    }()

    static func v4l2ctl(_ arguments: String...) throws {
        let child = try SpawnedProcess("/usr/bin/v4l2-ctl", arguments, environment: [:])
        let exit = child.wait(timeout: 20)
        #expect(exit.status == 0, "v4l2-ctl \(arguments): \(child.stderr)")
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// A permit as the box gets one: the privacy switch was opened.
    static func openSwitch() -> CameraPermit {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        return machine.permit()!
    }

    @Test func hdmiInputDelivers720p30ForTenSecondsWithoutLoss() throws {
        let camera = try V4L2Camera(Self.camera, permit: Self.openSwitch())
        #expect(camera.format == .i420 && camera.width == 1280 && camera.height == 720)
        #expect(abs(camera.fps - 30) < 0.01)
        #expect(camera.dmabufDescriptors.count == Self.camera.bufferCount, "vivid exports its buffers as DMABUF")
        var first: UInt64?
        var last: UInt64 = 0
        var frames = 0
        var previousSequence: UInt32?
        var lost = 0
        var repeated = 0
        let start = Self.monotonicSeconds()
        while Self.monotonicSeconds() - start < 10.5 {
            let frame = try camera.nextFrame(timeout: 2)
            first = first ?? frame.timestampNanoseconds
            last = frame.timestampNanoseconds
            if let previousSequence, frame.sequence != previousSequence &+ 1 {
                // A forward jump is frames the driver produced and we never saw; vivid may also
                // number its very first two buffers 0 under emulation, which loses nothing.
                let jump = frame.sequence &- previousSequence
                if jump > 1 && jump < 1 << 31 { lost += Int(jump - 1) } else { repeated += 1 }
                print("sequence \(previousSequence) → \(frame.sequence) after \(frames) frames")
            }
            previousSequence = frame.sequence
            frames += 1
        }
        let seconds = Double(last - (first ?? last)) / 1e9
        let rate = Double(frames - 1) / seconds
        print("vivid 720p30: \(frames) frames in \(String(format: "%.2f", seconds)) s = \(String(format: "%.2f", rate)) fps, "
              + "\(camera.droppedFrames) dropped by the driver, \(lost) lost in sequence gaps, \(repeated) repeated sequence numbers")
        #expect(seconds >= 10)
        #expect(rate >= 29)
        #expect(camera.droppedFrames == 0 && lost == 0)
        #expect(Double(frames) >= seconds * 29.9, "every frame of the time span arrived: \(frames) in \(seconds) s")
    }

    /// vivid's loop mode feeds what is written to its output node into the capture node:
    /// known frames must arrive byte for byte in the buffers the box would encode in place.
    @Test func loopedFramesArriveByteExact() throws {
        let pattern = TestPattern(width: 1280, height: 720)
        let frameSize = VideoFrameLayout.packedSize(width: 1280, height: 720)
        let numbers = Array(5000..<5030)
        var source = Data(capacity: numbers.count * frameSize)
        var expected: [Int: Data] = [:]
        for number in numbers {
            let picture = Data(bytes: pattern.render(frame: number).planes.0, count: frameSize)
            expected[number] = picture
            source.append(picture)
        }
        let input = "/tmp/loop-in.yuv"
        try source.write(to: URL(fileURLWithPath: input))
        try Self.v4l2ctl("-d", "/dev/video0", "--set-ctrl", "loop_video=1")
        defer { try? Self.v4l2ctl("-d", "/dev/video0", "--set-ctrl", "loop_video=0") }
        let feeder = try SpawnedProcess("/usr/bin/v4l2-ctl", ["-d", "/dev/video1", "--stream-out-mmap", "--stream-from=\(input)", "--stream-loop"],
                                        environment: [:])
        defer { feeder.signal(SIGTERM); feeder.wait(timeout: 5) }
        let camera = try V4L2Camera(Self.camera, permit: Self.openSwitch())
        var matched = 0, mismatched = 0, foreign = 0
        for _ in 0..<90 {
            let frame = try camera.nextFrame(timeout: 2)
            guard let number = TestPattern.readFrameNumber(luma: frame.layout.planes.0, stride: frame.layout.strides.0, width: 1280, height: 720),
                  let reference = expected[number] else {
                foreign += 1  // vivid's own picture, before the loop delivers
                continue
            }
            #expect(frame.layout.strides.0 == 1280, "a packed buffer compares directly")
            let captured = Data(bytes: frame.layout.planes.0, count: frameSize)
            if captured == reference { matched += 1 } else { mismatched += 1 }
        }
        print("vivid loop video: \(matched) frames byte-exact, \(mismatched) different, \(foreign) before the loop started")
        #expect(matched >= 30)
        #expect(mismatched == 0)
    }

    /// vivid's "disconnect" button acts like a USB unplug: every open handle gets ENODEV,
    /// and the device is back once they are closed.
    @Test func aDisconnectedCameraIsReportedAndReopens() throws {
        var camera: V4L2Camera? = try V4L2Camera(Self.camera, permit: Self.openSwitch())
        _ = try camera!.nextFrame(timeout: 2)
        try Self.v4l2ctl("-d", "/dev/video0", "--set-ctrl", "disconnect=1")
        var error: CaptureError?
        for _ in 0..<30 {
            do { _ = try camera!.nextFrame(timeout: 2) } catch let caught {
                error = caught
                break
            }
        }
        #expect(error == .disconnected("/dev/video0"), "\(String(describing: error))")
        camera = nil  // close every handle, as the video thread does before reopening
        var reopened: V4L2Camera?
        for _ in 0..<20 where reopened == nil {
            reopened = try? V4L2Camera(Self.camera, permit: Self.openSwitch())
            if reopened == nil { usleep(100_000) }
        }
        let again = try #require(reopened)
        // The disconnect reset the input: set 720p30 HDMI again, as at boot.
        _ = try again.nextFrame(timeout: 2)
    }

    /// A camera that stops delivering (vivid drops every buffer): detected as a stall after the timeout.
    @Test func aSilentCameraIsDetectedAsStalled() throws {
        let camera = try V4L2Camera(Self.camera, permit: Self.openSwitch())
        _ = try camera.nextFrame(timeout: 2)
        try Self.v4l2ctl("-d", "/dev/video0", "--set-ctrl", "percentage_of_dropped_buffers=100")
        defer { try? Self.v4l2ctl("-d", "/dev/video0", "--set-ctrl", "percentage_of_dropped_buffers=0") }
        var stalled = false
        for _ in 0..<10 {
            do { _ = try camera.nextFrame(timeout: 2) } catch {
                #expect(error == .stalled("/dev/video0", seconds: 2))
                stalled = true
                break
            }
        }
        #expect(stalled)
    }
}
