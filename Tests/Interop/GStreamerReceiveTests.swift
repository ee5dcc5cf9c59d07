import Capture
import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// `classbox send` against GStreamer's own depayloaders and decoders (rtpvp8depay ! vp8dec,
    /// rtpopusdepay ! opusdec, srtpdec): an independent receiver must decode every frame, in
    /// order, close to the source, and hear the tone at its frequency.
    @Suite(.serialized, .enabled(if: ExternalProcess.which("gst-launch-1.0") != nil, "needs GStreamer (make deps installs it)"))
    struct GStreamerReceiveTests {
        struct Profile: Sendable, CustomTestStringConvertible {
            var name: String?
            var key: String
            var cipher: String
            var auth: String
            var testDescription: String { name ?? "plain RTP" }

            static let plain = Profile(name: nil, key: "", cipher: "", auth: "")
            static let cm = Profile(name: "aes128-cm-sha1-80", key: String(repeating: "0a1b2c", count: 10), cipher: "aes-128-icm", auth: "hmac-sha1-80")
            static let gcm = Profile(name: "aead-aes128-gcm", key: String(repeating: "3d4e5f6a", count: 7), cipher: "aes-128-gcm", auth: "null")
        }

        static let (width, height) = (1280, 720)
        static let videoSSRC: UInt32 = 0x1234_5678
        static let audioSSRC: UInt32 = 0x0ABC_DEF0

        func receiver(port: UInt16, media: String, codec: String, payloadType: Int, rate: Int, ssrc: UInt32, profile: Profile,
                      decode: [String], output: String) throws -> ExternalProcess {
            var caps = "application/x-\(profile.name == nil ? "rtp" : "srtp"),media=(string)\(media),clock-rate=(int)\(rate),"
                + "encoding-name=(string)\(codec),payload=(int)\(payloadType),ssrc=(uint)\(ssrc)"
            var elements = ["udpsrc", "address=127.0.0.1", "port=\(port)", "caps=\(caps)"]
            if profile.name != nil {
                caps += ",srtp-key=(buffer)\(profile.key),srtp-cipher=(string)\(profile.cipher),srtp-auth=(string)\(profile.auth)"
                    + ",srtcp-cipher=(string)\(profile.cipher),srtcp-auth=(string)\(profile.auth),roc=(uint)0"
                elements = ["udpsrc", "address=127.0.0.1", "port=\(port)", "caps=\(caps)", "!", "srtpdec"]
            }
            let pipeline = ["-e"] + elements + ["!", "rtpjitterbuffer", "latency=300", "!"] + decode + ["!", "filesink", "location=\(output)"]
            return try ExternalProcess(ExternalProcess.which("gst-launch-1.0")!, pipeline)
        }

        @Test(arguments: [Profile.plain, .cm, .gcm])
        func gstreamerDecodesEveryFrameAndTheTone(profile: Profile) throws {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gst-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let (videoPort, audioPort) = (ExternalProcess.freeUDPPort(), ExternalProcess.freeUDPPort())
            let video = try receiver(port: videoPort, media: "video", codec: "VP8", payloadType: 96, rate: 90000, ssrc: Self.videoSSRC,
                                     profile: profile, decode: ["rtpvp8depay", "!", "vp8dec", "!", "video/x-raw,format=I420"],
                                     output: scratch + "/video.i420")
            let audio = try receiver(port: audioPort, media: "audio", codec: "OPUS", payloadType: 111, rate: 48000, ssrc: Self.audioSSRC,
                                     profile: profile, decode: ["rtpopusdepay", "!", "opusdec", "!", "audio/x-raw,format=S16LE,rate=48000,channels=1"],
                                     output: scratch + "/audio.s16")
            usleep(1_500_000)  // let both pipelines reach PLAYING

            var arguments = ["send", "--config", try ExternalProcess.simConfig(), "--to", "127.0.0.1:\(videoPort)",
                             "--audio-to", "127.0.0.1:\(audioPort)", "--duration", "4",
                             "--video-ssrc", "\(Self.videoSSRC)", "--audio-ssrc", "\(Self.audioSSRC)"]
            if let name = profile.name { arguments += ["--srtp-key", profile.key, "--srtp-profile", name] }
            let sender = try ClassboxProcess.run(arguments, timeout: 30)
            usleep(1_000_000)
            video.interrupt()
            audio.interrupt()
            #expect(sender.status == 0, "\(sender.stderr)")

            // The sender's own count of encoded frames: every one must come out of vp8dec.
            let sent = try #require(sender.stderr.firstMatch(of: /sent: frames (\d+)/).map { Int($0.1)! })
            #expect(sent >= 100, "4 s at 30 fps")
            let decoded = try Data(contentsOf: URL(fileURLWithPath: scratch + "/video.i420"))
            let frameSize = Self.width * Self.height * 3 / 2
            #expect(decoded.count % frameSize == 0)
            let numbers: [Int?] = decoded.withUnsafeBytes { raw in
                stride(from: 0, to: raw.count - frameSize + 1, by: frameSize).map { offset in
                    TestPattern.readFrameNumber(luma: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, stride: Self.width,
                                                width: Self.width, height: Self.height)
                }
            }
            #expect(numbers == (0..<sent).map { $0 }, "decoded \(numbers.count) of \(sent) frames; \(video.output.suffix(300))")

            // Fidelity: luma PSNR of every 10th decoded frame against the frame the box painted.
            let pattern = TestPattern(width: Self.width, height: Self.height)
            var worst = Double.infinity
            decoded.withUnsafeBytes { raw in
                for (index, number) in numbers.enumerated() where index % 10 == 5 {
                    guard let number else { continue }
                    let source = pattern.render(frame: number).planes.0
                    let decodedLuma = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + index * frameSize
                    var squared = 0
                    for pixel in 0..<(Self.width * Self.height) {
                        let difference = Int(source[pixel]) - Int(decodedLuma[pixel])
                        squared += difference * difference
                    }
                    let mse = max(Double(squared) / Double(Self.width * Self.height), 1e-9)
                    worst = min(worst, 10 * log10(255 * 255 / mse))
                }
            }
            #expect(worst >= 30, "worst luma PSNR \(worst) dB")

            let samples = try Data(contentsOf: URL(fileURLWithPath: scratch + "/audio.s16")).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
            #expect(samples.count > 48000 * 3, "\(samples.count) samples; \(audio.output.suffix(300))")
            let frequency = Self.frequency(Array(samples.dropFirst(4800)))
            #expect(abs(frequency - 440) < 1, "tone at \(frequency) Hz")
            print("gstreamer-receive \(profile.testDescription): decoded \(numbers.compactMap { $0 }.count)/\(sent) frames in order, "
                  + "worst luma PSNR \(String(format: "%.1f", worst)) dB, tone \(String(format: "%.2f", frequency)) Hz")
        }

        /// Frequency from rising zero crossings, interpolated between samples, over the whole signal.
        static func frequency(_ samples: [Int16]) -> Double {
            var crossings: [Double] = []
            for index in 1..<samples.count where samples[index - 1] < 0 && samples[index] >= 0 {
                let a = Double(samples[index - 1]), b = Double(samples[index])
                crossings.append(Double(index - 1) + (-a / (b - a)))
            }
            guard let first = crossings.first, let last = crossings.last, crossings.count > 1 else { return 0 }
            return Double(crossings.count - 1) / ((last - first) / 48000)
        }
    }
}
