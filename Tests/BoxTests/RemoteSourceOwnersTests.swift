import Session
import Testing
@testable import Box

/// Jicofo sends no source-remove when someone leaves the room: the box drops the leaver's
/// sources (audio and video) itself, by `ssrc-info owner`, when its presence goes.
@Suite struct RemoteSourceOwnersTests {
    @Test func aLeaversSourcesGoAndOnlyTheirs() {
        var owners = RemoteSourceOwners()
        owners.reset([MediaSource(ssrc: 1, owner: "aaaa1111"), MediaSource(ssrc: 2, owner: "room@conference.example/bbbb2222")])
        owners.add([MediaSource(ssrc: 3, owner: "cccc3333")])
        #expect(owners.occupantsChanged(["aaaa1111", "bbbb2222", "cccc3333"]).isEmpty)
        #expect(owners.occupantsChanged(["aaaa1111", "cccc3333"]) == [2], "the old full-JID owner form names the endpoint too")
        #expect(owners.occupantsChanged(["cccc3333"]) == [1])
        #expect(owners.occupantsChanged([]) == [3])
    }

    @Test func anOwnerNotYetSeenInTheRoomKeepsItsSources() {
        var owners = RemoteSourceOwners()
        owners.reset([MediaSource(ssrc: 7, owner: "dddd4444"), MediaSource(ssrc: 8, owner: "jvb")])
        // The source-add came before the occupant's presence: nobody left.
        #expect(owners.occupantsChanged(["eeee5555"]).isEmpty)
        #expect(owners.occupantsChanged(["dddd4444", "eeee5555"]).isEmpty)
        #expect(owners.occupantsChanged(["eeee5555"]) == [7])
    }

    @Test func removedSourcesAndANewSessionAreForgotten() {
        var owners = RemoteSourceOwners()
        owners.reset([MediaSource(ssrc: 1, owner: "aaaa1111"), MediaSource(ssrc: 2, owner: "aaaa1111")])
        owners.remove([1])
        #expect(owners.occupantsChanged(["aaaa1111"]).isEmpty)
        owners.reset([MediaSource(ssrc: 9, owner: "ffff6666")])
        #expect(owners.occupantsChanged([]) == [])  // aaaa1111's sources belonged to the old session
        #expect(owners.occupantsChanged(["ffff6666"]).isEmpty)
        #expect(owners.occupantsChanged([]) == [9])
    }
}
