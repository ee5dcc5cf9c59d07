import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The classroom screen in a call, on the simulated board's snapshot display: the real
    /// `classbox run`, Prosody and the Jicofo/JVB double, the PNG read back by GStreamer.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available && ScreenSnapshot.available,
                                 "needs prosody, aiortc and GStreamer (make deps installs them)"))
    struct ScreenSnapshotTests {
        /// Once the other's video is decoded the screen shows it, not a status screen, and it
        /// moves; when the box stops the snapshot is gone.
        @Test func theOthersVideoFillsTheScreenAndNothingStaysBehind() throws {
            let server = try LocalConferenceServer(roomSecrets: ["klasse-4b": "tafel-und-kreide"])
            let box = try ConferenceTests.Box(config: try server.boxConfig(password: "tafel-und-kreide", screen: true))
            let path = box.runtime + "/screen.png"
            let deadline = Date().addingTimeInterval(40)
            while !box.log.contains("seeing 1 video") && Date() < deadline { usleep(100_000) }
            #expect(box.log.contains("seeing 1 video"), "the box decodes the other's video: \(box.log.suffix(2000))")
            Thread.sleep(forTimeInterval: 2.5)  // the snapshot is written once a second
            let first = try #require(try ScreenSnapshot.read(path), "a snapshot: \(box.log.suffix(1000))")
            Thread.sleep(forTimeInterval: 2)
            let second = try #require(try ScreenSnapshot.read(path))
            let result = box.stop()
            #expect(result.status == 0, "\(result.stderr.suffix(1000))")
            let accents = [(52, 120, 220), (40, 160, 90), (230, 160, 30), (200, 32, 40)]
            let top = first.pixel(x: first.width / 2, y: 2)
            let moved = second.differingShare(from: first)
            let centre = first.pixel(x: first.width / 2, y: first.height / 2)
            print("screen: \(first.width)x\(first.height), top \(top), centre \(centre), \(String(format: "%.1f", moved * 100)) % of the pixels changed in 2 s; "
                  + "\(result.stderr.split(separator: "\n").first { $0.contains("screen:") } ?? "no screen line")")
            #expect(first.width == 1280 && first.height == 720)
            #expect(!accents.contains { $0 == (top.red, top.green, top.blue) }, "a video, not a status screen: \(top) along the top")
            #expect(moved > 0.001, "the picture moves: \(moved)")
            // The bar along the bottom (a sixteenth of 720 lines): the camera chip in the grey of
            // "private"; the name plate (the double's participant has a display name) at the
            // bottom left of the picture above it.
            func count(_ colour: (Int, Int, Int), x: Range<Int>, y: Range<Int>) -> Int {
                var found = 0
                for row in y { for column in x where first.pixel(x: column, y: row) == colour { found += 1 } }
                return found
            }
            let bar = 720 - 44
            #expect(count((58, 62, 70), x: 640..<1280, y: bar..<720) > 1000, "the bar's camera and microphone chips")
            #expect(count((16, 18, 22), x: 0..<640, y: bar - 120..<bar) > 1000, "a name plate above the bar")
            #expect(!FileManager.default.fileExists(atPath: path), "nothing shown stays behind")
        }
    }
}
