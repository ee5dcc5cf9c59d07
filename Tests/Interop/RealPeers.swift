import Testing

/// Every test here runs real peers (GStreamer, aiortc, coturn, Prosody with the conference
/// double) next to a box that encodes live video: each needs most of a 2-core machine, so
/// they run one after another, never side by side (the unit tests still run in parallel).
@Suite(.serialized) struct RealPeers {}
