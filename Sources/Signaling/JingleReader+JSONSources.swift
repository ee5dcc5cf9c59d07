import JSON
import Session
import XML

extension JingleReader {
    /// Jicofo's compact JSON sources (`<json-message>`, sent to clients that advertise
    /// `http://jitsi.org/json-encoded-sources`; jicofo `EndpointSourceSet.compactJson`):
    /// `{"sources":{"<owner>":[[video sources],[video groups],[audio sources],[audio groups]]}}`,
    /// a source `{"s":ssrc,"n":name,"m":msid,"v":"d"(desktop)}`, a group `["f"|"s", ssrc…]`.
    /// Trailing empty arrays may be missing; unknown keys are ignored.
    static func jsonSources(_ jingle: XMLElement) throws(JingleError) -> [SourceUpdate] {
        guard let message = jingle.element("json-message", namespace: Namespace.jitsiMeet) else { return [] }
        guard let owners = JSONValue(parsing: message.text)?["sources"]?.members else { throw JingleError("unreadable json-message sources") }
        var video = SourceUpdate(kind: .video, sources: []), audio = SourceUpdate(kind: .audio, sources: [])
        for (owner, lists) in owners {
            guard let lists = lists.arrayValue else { throw JingleError("json-message sources of \(owner) are not a list") }
            for (index, kind) in [(0, MediaKind.video), (2, .audio)] {
                var update = kind == .video ? video : audio
                for entry in lists[safe: index]?.arrayValue ?? [] {
                    guard let ssrc = entry["s"]?.doubleValue.flatMap({ UInt32(exactly: $0) }) else { throw JingleError("a json source without a valid ssrc") }
                    let videoType = kind == .video ? (entry["v"]?.stringValue == "d" ? "desktop" : "camera") : nil
                    update.sources.append(MediaSource(ssrc: ssrc, msid: entry["m"]?.stringValue, name: entry["n"]?.stringValue, owner: owner,
                                                      videoType: videoType))
                }
                for group in lists[safe: index + 1]?.arrayValue ?? [] {
                    guard let members = group.arrayValue, let code = members.first?.stringValue else { throw JingleError("a malformed json ssrc group") }
                    let ssrcs = members.dropFirst().compactMap { $0.doubleValue.flatMap { UInt32(exactly: $0) } }
                    guard ssrcs.count == members.count - 1, !ssrcs.isEmpty else { throw JingleError("a malformed json ssrc group") }
                    update.groups.append(SourceGroup(semantics: code == "f" ? "FID" : code == "s" ? "SIM" : code.uppercased(), ssrcs: ssrcs))
                }
                if kind == .video { video = update } else { audio = update }
            }
        }
        return [audio, video].filter { !$0.sources.isEmpty || !$0.groups.isEmpty }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
