import Wire
import ArgumentParser
import Box
import Provisioning
import Transport

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream the configured camera and microphone as (S)RTP, to check them without a conference.",
        discussion: """
            Video (VP8) goes to --to, audio (Opus) to the port after next unless --audio-to is given.
            A real camera is used only while its physical privacy switch is open. The README shows
            GStreamer pipelines that receive and show the stream.
            """)

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    @Option(name: .long, help: "Where video goes: HOST:PORT with a numeric host, e.g. 127.0.0.1:5004.")
    var to: String

    @Option(name: .customLong("audio-to"), help: "Where audio goes (default: the video port + 2).")
    var audioTo: String?

    @Option(name: .customLong("srtp-key"), help: "Protect with SRTP using this master key and salt in hex (60 digits, 56 for GCM).")
    var srtpKey: String?

    @Option(name: .customLong("srtp-profile"), help: "aes128-cm-sha1-80 (default) or aead-aes128-gcm.")
    var srtpProfile = "aes128-cm-sha1-80"

    @Option(name: .customLong("video-ssrc"), help: "Fixed video SSRC (default: random), for receivers that must name it.")
    var videoSSRC: UInt32?

    @Option(name: .customLong("audio-ssrc"), help: "Fixed audio SSRC (default: random).")
    var audioSSRC: UInt32?

    @Option(name: .long, help: "Stop after this many seconds (default: until Ctrl-C).")
    var duration: Double?

    @Flag(name: .customLong("no-video"), help: "Send audio only.")
    var noVideo = false

    @Flag(name: .customLong("no-audio"), help: "Send video only.")
    var noAudio = false

    func run() async throws {
        let environment = ProcessEnvironment.current
        BoxRunner.bootstrapLogging(environment: environment)
        guard let destination = SocketAddress(to) else { throw ValidationError("--to must be HOST:PORT with a numeric host, not \(to)") }
        var options = DebugSender.Options(destination: destination)
        if let audioTo {
            guard let address = SocketAddress(audioTo) else { throw ValidationError("--audio-to must be HOST:PORT, not \(audioTo)") }
            options.audioDestination = address
        }
        switch srtpProfile {
        case "aes128-cm-sha1-80": options.srtpProfile = .aes128CmHmacSha1_80
        case "aead-aes128-gcm": options.srtpProfile = .aeadAes128Gcm
        default: throw ValidationError("--srtp-profile must be aes128-cm-sha1-80 or aead-aes128-gcm")
        }
        options.srtpKeyHex = srtpKey
        options.videoSSRC = videoSSRC
        options.audioSSRC = audioSSRC
        options.duration = duration
        options.sendVideo = !noVideo
        options.sendAudio = !noAudio
        let code = await BoxRunner.send(configPath: config, options: options)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}
