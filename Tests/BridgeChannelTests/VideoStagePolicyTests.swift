import Testing
@testable import BridgeChannel

/// What the classroom screen asks of the bridge as the conference changes.
@Suite struct VideoStagePolicyTests {
    let anna = RemoteVideoSource(name: "aa11-v0", owner: "aa11", videoType: .camera)
    let ben = RemoteVideoSource(name: "bb22-v0", owner: "bb22", videoType: .camera)
    let share = RemoteVideoSource(name: "bb22-v1", owner: "bb22", videoType: .desktop)

    @Test func theDominantSpeakerIsOnStageAndTheOthersSmall() {
        let policy = VideoStagePolicy(maxParticipants: 6)
        let constraints = policy.constraints(sources: [anna, ben], dominantSpeaker: "bb22")
        #expect(constraints.lastN == 6)
        #expect(constraints.onStageSources == ["bb22-v0"] && constraints.selectedSources == ["bb22-v0"])
        #expect(constraints.constraints(for: "bb22-v0") == VideoConstraints(maxHeight: 720))
        #expect(constraints.constraints(for: "aa11-v0") == VideoConstraints(maxHeight: 180))
        #expect(constraints.constraints(for: "later-v0") == VideoConstraints(maxHeight: 180), "sources that come later are small")
    }

    @Test func aScreenShareTakesTheStageAt1080Lines() {
        let policy = VideoStagePolicy(maxParticipants: 3)
        let constraints = policy.constraints(sources: [anna, ben, share], dominantSpeaker: "aa11")
        #expect(constraints.onStageSources == ["bb22-v1"])
        #expect(constraints.constraints(for: "bb22-v1") == VideoConstraints(maxHeight: 1080))
        #expect(constraints.constraints(for: "aa11-v0") == VideoConstraints(maxHeight: 180))
        #expect(constraints.lastN == 3)
    }

    @Test func withoutASpeakerNobodyIsOnStage() {
        let constraints = VideoStagePolicy(maxParticipants: 6).constraints(sources: [anna], dominantSpeaker: nil)
        #expect(constraints.onStageSources == [] && constraints.constraints(for: "aa11-v0") == VideoConstraints(maxHeight: 180))
        // A speaker without a camera source (audio only) changes nothing.
        #expect(VideoStagePolicy(maxParticipants: 6).constraints(sources: [anna], dominantSpeaker: "cc33") == constraints)
    }

    @Test func onlyChangesAreSentAndANewChannelGetsThemAgain() {
        var policy = VideoStagePolicy(maxParticipants: 6)
        let first = policy.next(sources: [anna, ben], dominantSpeaker: "aa11")
        #expect(first?.onStageSources == ["aa11-v0"])
        #expect(policy.next(sources: [anna, ben], dominantSpeaker: "aa11") == nil)
        #expect(policy.next(sources: [anna, ben], dominantSpeaker: "bb22")?.onStageSources == ["bb22-v0"])
        policy.reset()
        #expect(policy.next(sources: [anna, ben], dominantSpeaker: "bb22")?.onStageSources == ["bb22-v0"])
    }
}
