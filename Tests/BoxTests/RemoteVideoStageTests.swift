import BridgeChannel
import Runtime
import Session
import Signaling
import Testing
@testable import Box

/// What the box asks the bridge to forward follows the sources and the speaker, and every new
/// channel hears it once: a real bridge forwards nothing to an endpoint before it.
@Suite struct RemoteVideoStageTests {
    final class RecordingSink: BridgeMessageSink, @unchecked Sendable {
        private let lock = Lock()
        private var messages: [BridgeChannelMessage] = []
        func send(_ message: BridgeChannelMessage) { lock.withLock { messages.append(message) } }
        var constraints: [ReceiverVideoConstraints] {
            lock.withLock {
                messages.compactMap { if case .receiverVideoConstraints(let c) = $0 { c } else { nil } }
            }
        }
    }

    static func camera(_ ssrc: UInt32, _ owner: String, type: String? = "camera") -> MediaSource {
        MediaSource(ssrc: ssrc, name: "\(owner)-v0", owner: owner, videoType: type)
    }

    @Test func everyChannelHearsTheStageAndChangesOnly() throws {
        let stage = RemoteVideoStage(maxParticipants: 6)
        stage.reset([Self.camera(10, "aaaa1111"), Self.camera(11, "aaaa1111"), MediaSource(ssrc: 1, name: "jvb-v0", owner: "jvb")])
        let first = RecordingSink()
        stage.attach(first)
        #expect(first.constraints.count == 1, "sent as soon as a channel is attached")
        #expect(stage.sources.map(\.name) == ["aaaa1111-v0"], "the bridge's own source and the RTX SSRC are not pictures of their own")
        let initial = try #require(first.constraints.first)
        #expect(initial.lastN == 6 && initial.defaultConstraints?.maxHeight == 180 && initial.onStageSources == [])

        stage.add([Self.camera(10, "aaaa1111")])  // already known: nothing new to say
        #expect(first.constraints.count == 1)
        stage.dominantSpeakerChanged(to: "aaaa1111")
        #expect(first.constraints.last?.onStageSources == ["aaaa1111-v0"])
        #expect(first.constraints.last?.constraints?.first?.constraints.maxHeight == 720)
        stage.dominantSpeakerChanged(to: "aaaa1111")
        #expect(first.constraints.count == 2, "the same speaker again changes nothing")

        // A new call: its channel hears the current stage, the old one nothing more.
        let second = RecordingSink()
        stage.attach(second)
        #expect(second.constraints.count == 1 && second.constraints.first?.onStageSources == ["aaaa1111-v0"])
        stage.add([MediaSource(ssrc: 20, name: "bbbb2222-v1", owner: "room@conference.example/bbbb2222", videoType: "desktop")])
        #expect(second.constraints.last?.onStageSources == ["bbbb2222-v1"], "a screen share takes the stage")
        #expect(second.constraints.last?.constraints?.first?.constraints.maxHeight == 1080)
        #expect(first.constraints.count == 2)

        stage.remove([20])
        #expect(second.constraints.last?.onStageSources == ["aaaa1111-v0"], "the share ended: the speaker is back")
        stage.remove([10, 11])
        #expect(second.constraints.last?.onStageSources == [] && stage.sources.isEmpty)
        stage.attach(nil)
        stage.add([Self.camera(30, "cccc3333")])
        #expect(second.constraints.count == 4, "a detached channel hears nothing")
    }

    /// The screen's plan carries each picture's display name, slates for cameras switched off,
    /// and a tile for a participant without any video source; a share is shown even while
    /// its sharer's camera is off.
    @Test func thePlanNamesEveryoneAndSlatesCamerasThatAreOff() {
        let board = ScreenPlanBoard()
        let stage = RemoteVideoStage(maxParticipants: 4, board: board)
        stage.reset([Self.camera(10, "aaaa1111"), Self.camera(12, "bbbb2222")])
        stage.participantsChanged([
            Participant(endpoint: "aaaa1111", audioMuted: false, videoMuted: false, displayName: "Klasse 7a"),
            Participant(endpoint: "bbbb2222", audioMuted: false, videoMuted: true, displayName: "Frau Beispiel"),
            Participant(endpoint: "cccc3333", audioMuted: true, videoMuted: true),
        ])
        stage.dominantSpeakerChanged(to: "aaaa1111")
        var plan = board.current.plan
        #expect(plan.stage == "aaaa1111-v0")
        #expect(plan.others == ["bbbb2222-v0", "cccc3333-v0"], "the participant without video gets a tile too")
        #expect(plan.names == ["aaaa1111-v0": "Klasse 7a", "bbbb2222-v0": "Frau Beispiel"], "no name: no plate")
        #expect(plan.cameraOff == ["bbbb2222-v0", "cccc3333-v0"])

        stage.add([MediaSource(ssrc: 20, name: "bbbb2222-v1", owner: "bbbb2222", videoType: "desktop")])
        plan = board.current.plan
        #expect(plan.stage == "bbbb2222-v1" && plan.names["bbbb2222-v1"] == "Frau Beispiel")
        #expect(!plan.cameraOff.contains("bbbb2222-v1") && plan.cameraOff.contains("bbbb2222-v0"))
        #expect(plan.others.count == 3, "four pictures in all (max_participants)")

        let generation = board.current.generation
        stage.participantsChanged([Participant(endpoint: "aaaa1111", audioMuted: false, videoMuted: false, displayName: "Klasse 7a")])
        #expect(board.current.generation == generation + 1)
        #expect(board.current.plan.names["bbbb2222-v0"] == nil && !board.current.plan.others.contains("cccc3333-v0"))
    }

    @Test func sourcesWithoutNameOrOwnerAreNamedOrLeftOut() {
        #expect(RemoteVideoStage.remoteVideoSource(MediaSource(ssrc: 1, owner: "dddd4444"))?.name == "dddd4444-v0")
        #expect(RemoteVideoStage.remoteVideoSource(MediaSource(ssrc: 1, name: "x-v0")) == nil)
        #expect(RemoteVideoStage.remoteVideoSource(MediaSource(ssrc: 1, name: "e-v0", owner: "e", videoType: "DESKTOP"))?.videoType == .desktop)
    }

    @Test func theClassNeverWatchesItselfOnStage() throws {
        let stage = RemoteVideoStage(maxParticipants: 6)
        stage.setOwnEndpoint("box00001")
        stage.reset([Self.camera(10, "aaaa1111"), Self.camera(20, "bbbb2222")])
        let sink = RecordingSink()
        stage.attach(sink)
        stage.dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: "bbbb2222"))
        #expect(sink.constraints.last?.onStageSources == ["bbbb2222-v0"])
        // The class speaks: the bridge names the box; the last other speaker stays on stage.
        stage.dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: "box00001", previousSpeakers: ["bbbb2222", "aaaa1111"]))
        #expect(sink.constraints.last?.onStageSources == ["bbbb2222-v0"] && sink.constraints.count == 2, "nothing changes")
        stage.dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: "box00001", previousSpeakers: ["aaaa1111"]))
        #expect(sink.constraints.last?.onStageSources == ["aaaa1111-v0"], "the most recent other speaker")
        stage.dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: "bbbb2222", silence: true))
        #expect(sink.constraints.last?.onStageSources == ["aaaa1111-v0"], "silence keeps the stage")
        stage.dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: "box00001"))
        #expect(sink.constraints.last?.onStageSources == ["aaaa1111-v0"], "only the box speaks: the stage stays")
    }
}
