@testable import Box
import Testing

/// The status line answers IT's questions about the bridge channel: is it open, and why does
/// a live camera send nothing.
@Suite struct ConferenceStatusTests {
    @Test func theLineSaysWhetherTheChannelIsOpenAndWhetherAnybodyWatches() {
        var snapshot = ConferenceSnapshot(state: "in call", inRoom: true, others: 2, cameraLive: true, mediaConnected: true)
        #expect(!ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("bridge channel"), "no channel, nothing said")
        snapshot.bridgeChannelOpen = false
        #expect(ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("bridge channel not open"))
        snapshot.bridgeChannelOpen = true
        snapshot.watchedLines = 0
        let unwatched = ConferenceStatus.line(snapshot, since: nil, seconds: 0)
        #expect(unwatched.contains("bridge channel open") && unwatched.contains("nobody watches the camera, so it sends nothing"))
        snapshot.watchedLines = 180
        #expect(ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("watched at up to 180 lines"))
        snapshot.cameraLive = false
        #expect(!ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("watched"), "a private camera is nobody's to watch")
    }

    @Test func theLineSaysWhetherTheCallGoesThroughTheRelay() {
        var snapshot = ConferenceSnapshot(state: "in call", inRoom: true, others: 1, cameraLive: true, mediaConnected: true)
        #expect(!ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("media "), "no pair yet, nothing said")
        snapshot.mediaPath = "TURN relay (udp) via 10.97.1.2:3478"
        #expect(ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("media TURN relay (udp) via 10.97.1.2:3478"))
    }

    @Test func theLineSaysWhyTheVideoIsSentAtItsRate() {
        var snapshot = ConferenceSnapshot(state: "in call", inRoom: true, others: 1, cameraLive: true, mediaConnected: true)
        #expect(!ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("video target"), "no video, no target")
        snapshot.videoTargetKbps = 1500
        #expect(ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("video target 1500 kbit/s ·"), "without feedback: no path estimate")
        (snapshot.videoTargetKbps, snapshot.pathEstimateKbps, snapshot.pathOverused) = (420, 560, true)
        #expect(ConferenceStatus.line(snapshot, since: nil, seconds: 0).contains("video target 420 kbit/s (the path carries ~560 kbit/s, its queue growing)"))
    }

    @Test func theLineSaysHowManyVideosAreSeenAndAtWhatFrameRate() {
        var before = ConferenceSnapshot(state: "in call", inRoom: true, others: 3, mediaConnected: true)
        #expect(ConferenceStatus.line(before, since: nil, seconds: 0).contains("seeing no video"))
        before.decodedFrames = 100
        var now = before
        now.seenSources = 2
        now.decodedFrames = 400
        #expect(ConferenceStatus.line(now, since: before, seconds: 5).contains("seeing 2 videos at 60 frames/s"))
        now.seenSources = 1
        #expect(ConferenceStatus.line(now, since: before, seconds: 5).contains("seeing 1 video at"))
    }
}
