import Capture
import Foundation
import Testing
@testable import Device

/// The listing code of `classbox probe` on scratch trees and on this machine.
/// Real cameras and input devices exist only in the QEMU tier.
@Suite struct ProbeTests {
    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func ledsAreReadFromTheLEDClassDirectory() throws {
        let root = try scratch()
        for (name, brightness, trigger) in [("box:red:camera", "1", "none [camera] timer"), ("box:green:status", "0", "[none] heartbeat")] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            try "\(brightness)\n".write(toFile: "\(root)/\(name)/brightness", atomically: true, encoding: .utf8)
            try "1\n".write(toFile: "\(root)/\(name)/max_brightness", atomically: true, encoding: .utf8)
            try "\(trigger)\n".write(toFile: "\(root)/\(name)/trigger", atomically: true, encoding: .utf8)
        }
        #expect(LEDClass.list(directory: root) == [
            LEDInfo(name: "box:green:status", brightness: 0, maxBrightness: 1, trigger: "none"),
            LEDInfo(name: "box:red:camera", brightness: 1, maxBrightness: 1, trigger: "camera"),
        ])
        #expect(LEDClass.list(directory: root + "/missing").isEmpty)
    }

    @Test func aFileThatIsNotAnInputDeviceIsReportedNotListed() throws {
        let root = try scratch()
        #expect(FileManager.default.createFile(atPath: root + "/event0", contents: Data("x".utf8)))
        #expect(FileManager.default.createFile(atPath: root + "/mice", contents: Data()))
        let (devices, failures) = InputDevices.list(directory: root)
        #expect(devices.isEmpty)
        #expect(failures == [root + "/event0": .system("EVIOCGNAME \(root)/event0", errno: ENOTTY)])
    }

    @Test func aFileThatIsNotAV4L2DeviceIsReportedNotListed() throws {
        let root = try scratch()
        #expect(FileManager.default.createFile(atPath: root + "/video0", contents: Data("x".utf8)))
        #expect(FileManager.default.createFile(atPath: root + "/null", contents: Data()))
        let (cameras, failures) = CameraProbe.list(directory: root)
        #expect(cameras.isEmpty)
        #expect(failures[root + "/video0"] == .system("VIDIOC_QUERYCAP \(root)/video0", errno: ENOTTY))
        #expect(failures.count == 1)
    }

    @Test func alsaNamesTheNullPCM() throws {
        let pcms = try PCMProbe.list()
        #expect(pcms.contains { $0.name == "null" })
    }

    @Test func fourCCsRoundTrip() {
        #expect(FourCC.string(0x3231_5559) == "YU12")
        #expect(FourCC.code("MJPG").map(FourCC.string) == "MJPG")
        #expect(FourCC.code("toolong") == nil)
    }
}
