/// One decoded picture of a remote video source, lent to a ``VideoSink``.
///
/// The planes are libvpx's own decoded frame (its reference-frame pool, allocated once per
/// resolution): nothing is copied or allocated per frame on the way to the sink, and the
/// sink's one necessary copy — scaling into its tile of the screen — reads them in place.
public struct DecodedVideoFrame {
    /// The source's primary SSRC (the bridge switches its simulcast layers onto it).
    public var ssrc: UInt32
    /// Jitsi's source name (`<endpoint>-v0` a camera, `-v1` a share), nil from a plain peer.
    public var sourceName: String?
    public var picture: VideoFrameLayout
    /// The RTP timestamp (90 kHz) the frame was sent with.
    public var rtpTimestamp: UInt32
    public var isKeyframe: Bool

    public init(ssrc: UInt32, sourceName: String?, picture: VideoFrameLayout, rtpTimestamp: UInt32, isKeyframe: Bool) {
        self.ssrc = ssrc
        self.sourceName = sourceName
        self.picture = picture
        self.rtpTimestamp = rtpTimestamp
        self.isKeyframe = isKeyframe
    }
}

/// Where the others' decoded video goes: the classroom screen's compositor, or a counter.
///
/// Called on the video receive thread, one source after another. The picture is valid only
/// during `show`: a sink that keeps it copies it (or scales it into its own buffer) there,
/// and returns quickly, since the next packets wait behind it.
public protocol VideoSink: AnyObject {
    func show(_ frame: DecodedVideoFrame)
    /// The source left (source-remove, its owner left, the call ended): forget its picture.
    func sourceEnded(ssrc: UInt32)
}

/// Where the box's own camera pictures go besides the encoder: the classroom screen's self
/// view. Called by the video sending thread only with a picture the camera's permit still
/// covers; the sink keeps it in memory until the screen shows it, nothing more.
public protocol SelfViewSink: AnyObject, Sendable {
    func showOwn(_ picture: VideoFrameLayout)
}
