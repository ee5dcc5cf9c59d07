import Session

/// Who owns each remote SSRC, so the box stops playing and asking for a participant who left.
///
/// Jicofo sends no source-remove when a member leaves the room (`JitsiMeetConferenceImpl.
/// onMemberLeft` removes the sources from its own model with `sendSourceRemove = false`);
/// a browser drops them itself when the occupant's presence goes (lib-jitsi-meet
/// `JitsiConference.onMemberLeft` → `removeRemoteStreamsOnLeave`). The box does the same:
/// it remembers the owner (`ssrc-info owner`) of every audio and video source, and when an
/// endpoint that was in the room is no longer, its sources go.
struct RemoteSourceOwners {
    private var owners: [UInt32: String] = [:]
    private var present: Set<String> = []

    /// A new session's sources replace everything known about sources.
    mutating func reset(_ sources: [MediaSource]) {
        owners = [:]
        add(sources)
    }

    mutating func add(_ sources: [MediaSource]) {
        for source in sources {
            if let owner = source.owner { owners[source.ssrc] = Self.endpoint(owner) }
        }
    }

    mutating func remove(_ ssrcs: [UInt32]) {
        for ssrc in ssrcs { owners[ssrc] = nil }
    }

    /// The room's occupants changed; returns the SSRCs of those who were here and left.
    /// Only a departure counts: an owner never seen in the room (its presence still on the
    /// way) keeps its sources.
    mutating func occupantsChanged(_ endpoints: [String]) -> [UInt32] {
        let now = Set(endpoints)
        let departed = present.subtracting(now)
        present = now
        guard !departed.isEmpty else { return [] }
        let gone = owners.filter { departed.contains($0.value) }.map(\.key).sorted()
        remove(gone)
        return gone
    }

    /// Jicofo has written the owner as the endpoint id and, in older versions, as the
    /// occupant's full MUC JID (`room@conference.host/endpoint`): the endpoint is the resource.
    static func endpoint(_ owner: String) -> String {
        guard let slash = owner.lastIndex(of: "/") else { return owner }
        return String(owner[owner.index(after: slash)...])
    }
}
