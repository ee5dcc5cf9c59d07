// swift-tools-version: 6.1
// Classbox: firmware for a classroom video-conference box that joins the district's Jitsi.
// Module map and import directions: ../shared/ARCHITECTURE.md, summarised in README.md.
import PackageDescription

/// One system-library target per C library: a module map plus a `static inline` shim.
func cLibrary(_ name: String, pkgConfig: String?, apt: [String]) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt(apt)])
}

/// The audio thread's per-sample loops are optimised in debug builds too: unoptimised they
/// cost 5–20× more, which the QEMU tier (the debug test binary under TCG) cannot afford.
let realTimeDSP: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "classbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "classbox", targets: ["classbox"]),
        .executable(name: "classbox-bench", targets: ["classbox-bench"]),
        .executable(name: "classbox-interop", targets: ["classbox-interop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.8.0"),
    ],
    targets: [
        // C bindings: module maps and shims only, no logic.
        cLibrary("CVPX", pkgConfig: "vpx", apt: ["libvpx-dev"]),
        cLibrary("COpus", pkgConfig: "opus", apt: ["libopus-dev"]),
        cLibrary("CSRTP", pkgConfig: "libsrtp2", apt: ["libsrtp2-dev"]),
        cLibrary("COpenSSL", pkgConfig: "openssl", apt: ["libssl-dev"]),
        cLibrary("CALSA", pkgConfig: "alsa", apt: ["libasound2-dev"]),
        cLibrary("CV4L2", pkgConfig: "libv4l2", apt: ["libv4l-dev"]),
        cLibrary("CLinux", pkgConfig: nil, apt: ["linux-libc-dev"]),
        cLibrary("CUsrSCTP", pkgConfig: "usrsctp", apt: ["libusrsctp-dev"]),
        cLibrary("CSpeexDSP", pkgConfig: "speexdsp", apt: ["libspeexdsp-dev"]),
        cLibrary("CYUV", pkgConfig: nil, apt: ["libyuv-dev"]),
        cLibrary("CFreeType", pkgConfig: "freetype2", apt: ["libfreetype-dev"]),
        cLibrary("CDRM", pkgConfig: "libdrm", apt: ["libdrm-dev"]),
        cLibrary("CPNG", pkgConfig: "libpng", apt: ["libpng-dev"]),
        // The one C++ shim: an extern "C" API over webrtc-audio-processing 0.3 (C++ only).
        .target(name: "CWebRTCAudioProcessing",
                cxxSettings: [.define("WEBRTC_POSIX"), .define("WEBRTC_AUDIO_PROCESSING_ONLY_BUILD"),
                              .unsafeFlags(["-I/usr/include/webrtc_audio_processing"])],
                linkerSettings: [.linkedLibrary("webrtc_audio_processing"), .linkedLibrary("stdc++")]),

        // OS basics for the edges: dedicated threads, the monotonic clock, thread names.
        .target(name: "Runtime", dependencies: ["CLinux"]),
        // Bytes on the wire: readers/writers, sequence arithmetic, media clocks.
        .target(name: "Wire"),
        // RTP packets, header extensions, VP8/Opus payloads, send history (no I/O).
        .target(name: "RTP", dependencies: ["Wire"]),
        // Per-source jitter buffers (no I/O): audio with a NetEq-like target delay and FEC/PLC
        // playout decisions; video frames' decodability and keyframe requests (VP8Frame from RTP).
        .target(name: "JitterBuffer", dependencies: ["Wire", "RTP"], swiftSettings: realTimeDSP),
        // Raw media descriptions shared by capture and codecs (picture layouts).
        .target(name: "Media"),
        // The classroom screen's layout: stage, tiles, self view for any screen size (no I/O).
        .target(name: "Layout"),
        // What the classroom screen says in each state of the box, in German and English (no I/O).
        .target(name: "StatusScreen"),
        // The classroom screen's pixels: pictures scaled and converted into XRGB tiles with libyuv,
        // text with FreeType, status screens.
        .target(name: "Composition", dependencies: ["CFreeType", "CYUV", "Layout", "Media", "StatusScreen", "VideoScaling"]),
        // The edge to the screen: kernel mode setting (libdrm), page flips, hotplug uevents.
        .target(name: "Display", dependencies: ["CDRM", "CLinux", "CPNG", "Composition"]),
        // VP8 and Opus through libvpx and libopus.
        .target(name: "Codecs", dependencies: ["CVPX", "COpus", "Media", "CLinux"]),
        // Pictures scaled down with libyuv (the camera for a bridge that asks fewer lines).
        .target(name: "VideoScaling", dependencies: ["CYUV", "Media"]),
        // Digests and randomness on the system's libcrypto (STUN integrity, fingerprints).
        .target(name: "Crypto", dependencies: ["COpenSSL"]),
        // STUN messages (RFC 8489) with integrity and fingerprint (no I/O).
        .target(name: "STUN", dependencies: ["Crypto", "Wire"]),
        // The ICE agent (RFC 8445, RFC 7675 consent) as a state machine (no I/O).
        .target(name: "ICE", dependencies: ["STUN", "Wire"]),
        .target(name: "TURN", dependencies: ["STUN", "Crypto", "Wire"]),
        // WebRTC data channels over SCTP: DCEP (RFC 8832), payload protocols, the channel the box opens (no I/O).
        .target(name: "DataChannel", dependencies: ["Wire"]),
        // Edge: SCTP over DTLS (RFC 8261) with usrsctp in AF_CONN mode, timers driven by the owner.
        .target(name: "SCTP", dependencies: ["CUsrSCTP", "DataChannel"]),
        // The bridge channel's colibri messages as typed values, the video the box asks for (no I/O).
        .target(name: "BridgeChannel", dependencies: ["JSON"]),
        // The media session model (codecs, SSRCs, ICE, fingerprint) and SDP (no I/O).
        .target(name: "Session", dependencies: ["ICE", "Wire"]),
        // DTLS 1.2 with use_srtp over OpenSSL memory BIOs (no I/O), per-boot certificates.
        .target(name: "DTLS", dependencies: ["COpenSSL", "Session"]),
        // Media transport: SRTP (libsrtp2), UDP sockets; later ICE, DTLS, RFC 7983 demux.
        .target(name: "Transport", dependencies: ["CSRTP", "COpenSSL", "Wire", "STUN", "ICE", "TURN", "DTLS", "Session", "RTCP", "Runtime", "SecureSocket", "CLinux"]),
        // RTCP packets (RFC 3550, 4585, 5104, REMB, transport-cc) and feedback logic (no I/O).
        .target(name: "RTCP", dependencies: ["Wire"]),
        // Congestion control of what the box sends: the transport-cc send history and the
        // feedback joined with it (no I/O).
        .target(name: "Congestion", dependencies: ["RTCP", "Wire"]),
        // XML as XMPP uses it: a hardened reader for one stanza, a writer (no I/O).
        .target(name: "XML"),
        // RFC 6455 WebSocket client protocol: handshake and framing (no I/O).
        .target(name: "WebSocket", dependencies: ["Crypto", "Wire"]),
        // TCP connections with verified TLS (OpenSSL) for the signalling connection.
        .target(name: "SecureSocket", dependencies: ["COpenSSL"]),
        // XMPP over WebSocket framing, MUC, Jitsi's extensions and Jingle ⇄ the session model (no I/O).
        .target(name: "Signaling", dependencies: ["XML", "JSON", "Wire", "Crypto", "Session", "ICE"]),
        // The small JSON documents Jitsi embeds in XMPP and uses on the bridge channel (no I/O).
        .target(name: "JSON"),
        // The provisioning file: TOML with line numbers, schema, validation.
        .target(name: "Provisioning", dependencies: ["JSON", "Wire"]),
        // The privacy state (the physical switch decides) and the camera permit it hands out (no I/O).
        .target(name: "Privacy"),
        // Linux media edges: V4L2 cameras (opened only with a camera permit) and ALSA PCMs.
        .target(name: "Capture", dependencies: ["CV4L2", "CALSA", "Media", "Privacy"]),
        // N received audio sources → one 10 ms block: gains, master volume, limiter (no I/O).
        .target(name: "AudioMixing", swiftSettings: realTimeDSP),
        // Echo cancellation, noise suppression and gain on the microphone (webrtc-audio-processing, speexdsp).
        .target(name: "AudioProcessing", dependencies: ["CWebRTCAudioProcessing", "CSpeexDSP"], swiftSettings: realTimeDSP),
        // Box hardware and OS integration: input devices, LEDs, systemd notification.
        .target(name: "Device", dependencies: ["CLinux"]),
        // A/B updates with RAUC: the SSH entry point, receiving and installing a bundle,
        // the slot's health trial and rollback, the update status.
        .target(name: "Updater", dependencies: ["Provisioning", "Runtime", "JSON"]),
        // A clock the box can trust without a battery clock: NTP through systemd-timesyncd, else
        // the `Date` of the district's server over HTTPS, forward only (the state is I/O-free).
        .target(name: "TimeKeeping", dependencies: ["SecureSocket", "Runtime", "Updater"]),
        // The composition root: the box's state machine and supervision.
        .target(name: "Box", dependencies: [
            "Provisioning", "Capture", "Device", "Codecs", "Media", "RTP", "RTCP", "Congestion", "Transport", "Wire", "Runtime", "Session", "ICE", "DTLS",
            "Signaling", "XML", "JSON", "WebSocket", "SecureSocket", "Privacy", "Updater", "TimeKeeping", "AudioProcessing", "AudioMixing", "JitterBuffer",
            "BridgeChannel", "DataChannel", "SCTP", "VideoScaling", "CYUV", "Layout", "Composition", "StatusScreen", "Display",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The executable: subcommands only.
        .executableTarget(name: "classbox", dependencies: [
            "Box", "Provisioning", "Transport", "Wire", "Updater", "Runtime", "JSON", "TimeKeeping", "Device",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // `make bench`: the send path with an allocation counter linked in.
        .target(name: "CMallocCounter"),
        .executableTarget(name: "classbox-bench", dependencies: ["Box", "Capture", "Codecs", "Media", "Transport", "Wire", "CMallocCounter"]),
        // The media path against SDP peers (aiortc) for Tests/Interop.
        .executableTarget(name: "classbox-interop", dependencies: ["Box", "Provisioning", .product(name: "Logging", package: "swift-log")]),

        .testTarget(name: "ProvisioningTests", dependencies: ["Provisioning"]),
        .testTarget(name: "UpdaterTests", dependencies: ["Updater", "Provisioning"]),
        .testTarget(name: "TimeKeepingTests", dependencies: ["TimeKeeping", "SecureSocket", "ClassboxTestSupport"], exclude: ["date_server.py"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "Wire"]),
        .testTarget(name: "LayoutTests", dependencies: ["Layout"]),
        .testTarget(name: "CompositionTests", dependencies: ["Composition", "Layout", "Media", "StatusScreen"]),
        .testTarget(name: "StatusScreenTests", dependencies: ["StatusScreen"]),
        .testTarget(name: "DisplayTests", dependencies: ["Display"]),
        .testTarget(name: "RTCPTests", dependencies: ["RTCP", "Wire"]),
        .testTarget(name: "CongestionTests", dependencies: ["Congestion", "RTCP", "Wire"]),
        .testTarget(name: "JitterBufferTests", dependencies: ["JitterBuffer", "RTP"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "Media", "VideoScaling"]),
        .testTarget(name: "AudioMixingTests", dependencies: ["AudioMixing"]),
        // The echo canceller measured in a synthetic room (espeak-ng speech, sox): both libraries.
        .testTarget(name: "AudioProcessingTests", dependencies: ["AudioProcessing"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Codecs", "Media", "Privacy"]),
        .testTarget(name: "STUNTests", dependencies: ["STUN", "Crypto"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "STUN", "Wire"]),
        .testTarget(name: "TURNTests", dependencies: ["TURN", "STUN", "Crypto", "Wire"]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "Session"]),
        .testTarget(name: "SessionTests", dependencies: ["Session", "ICE", "Wire"], resources: [.copy("Fixtures")]),
        .testTarget(name: "XMLTests", dependencies: ["XML"]),
        .testTarget(name: "PrivacyTests", dependencies: ["Privacy"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "BridgeChannelTests", dependencies: ["BridgeChannel", "JSON"]),
        .testTarget(name: "DataChannelTests", dependencies: ["DataChannel"]),
        .testTarget(name: "SCTPTests", dependencies: ["SCTP", "DataChannel"]),
        .testTarget(name: "SignalingTests", dependencies: ["Signaling", "XML", "Session", "ICE", "Wire"], resources: [.copy("Fixtures")]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "Wire"]),
        .testTarget(name: "SecureSocketTests", dependencies: ["SecureSocket", "ClassboxTestSupport"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "RTP", "Wire", "COpenSSL", "DTLS", "ICE", "Session", "ClassboxTestSupport"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "BindingsTests", dependencies: ["CVPX", "COpus", "CSRTP", "COpenSSL", "CALSA", "CV4L2", "CLinux"]),
        .target(name: "ClassboxTestSupport", dependencies: ["Runtime"], path: "Tests/ClassboxTestSupport"),
        .testTarget(name: "DeviceTests", dependencies: ["Device", "Capture", "ClassboxTestSupport"]),
        .testTarget(name: "BoxTests", dependencies: ["Box", "Display", "Provisioning", "ClassboxTestSupport"], exclude: ["Reference"]),
        // Real kernel devices (vivid, snd-aloop, uinput) inside the QEMU tier: `make qemu-test`.
        .testTarget(name: "HardwareTests", dependencies: ["Capture", "Media", "Privacy", "Device", "CLinux", "ClassboxTestSupport", "Box", "Codecs",
                                                          "AudioProcessing", "RTP", "Runtime", "Transport",
                                                          .product(name: "Logging", package: "swift-log"), "Display", "Composition", "Layout", "StatusScreen"], path: "Tests/Hardware"),
        // Real peers: GStreamer decoders (and later Prosody, aiortc, the QEMU tier).
        .testTarget(name: "InteropTests", dependencies: ["Capture", "ClassboxTestSupport"], path: "Tests/Interop", exclude: ["aiortc_peer.py", "chromium_peer.py"]),
    ]
)
