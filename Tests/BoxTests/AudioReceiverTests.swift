import ClassboxTestSupport
import Codecs
import Foundation
import Logging
import RTP
import Testing
@testable import Box

/// The receive half of the audio thread on a manual clock: what the network thread hands
/// over is decoded, mixed and played; only signalled sources, never the box's own.
@Suite struct AudioReceiverTests {
    /// 20 ms Opus packets of a tone per SSRC, fed as the network thread would.
    final class Talkers {
        var packetizers: [UInt32: OpusPacketizer] = [:]
        var encoders: [UInt32: (OpusEncoder, Double)] = [:]
        var frame = 0

        init(_ tones: [UInt32: Double]) throws {
            for (ssrc, hz) in tones {
                encoders[ssrc] = (try OpusEncoder(OpusEncoderSettings(bitrateKbps: 32, dtx: false)), hz)
                packetizers[ssrc] = OpusPacketizer(ssrc: ssrc, payloadType: 111, extensionIDs: .jitsiDefaults, initialSequenceNumber: 100)
            }
        }

        func send(to intake: RemoteAudioIntake, now: UInt64) throws {
            var wire = [UInt8](repeating: 0, count: 1500)
            for ssrc in encoders.keys.sorted() {
                let (encoder, hz) = encoders[ssrc]!
                let samples = (0..<960).map { Int16(8000 * sin(2 * Double.pi * hz * Double(frame * 960 + $0) / 48000)) }
                try wire.withUnsafeMutableBytes { buffer in
                    let header = packetizers[ssrc]!.writeHeader(into: buffer, timestamp: UInt32(frame * 960),
                                                                extensions: RTPExtensionValues(audioLevel: AudioLevel(level: 20, voiceActivity: true)))
                    let payload = try samples.withUnsafeBufferPointer {
                        try encoder.encode($0.baseAddress!, into: UnsafeMutableRawBufferPointer(rebasing: buffer[header...]))
                    }
                    let view = RTPPacketView(UnsafeRawBufferPointer(rebasing: buffer[0..<(header + payload)]))!
                    intake.accept(view, audioLevelID: 1, now: now)
                }
            }
            frame += 1
        }
    }

    static func play(_ receiver: AudioReceiver, _ talkers: Talkers, _ intake: RemoteAudioIntake, blocks: Range<Int>) throws -> [Int16] {
        var played: [Int16] = []
        var block = [Int16](repeating: 0, count: 480)
        for index in blocks {
            let now = UInt64(index) * 10_000_000
            if index % 2 == 0 { try talkers.send(to: intake, now: now) }
            block.withUnsafeMutableBufferPointer { receiver.render(into: $0, now: now) }
            played += block
        }
        return played
    }

    @Test func twoSignalledTalkersArePlayedAndAnUnsignalledOneIsNot() throws {
        let intake = RemoteAudioIntake(), monitor = PlaybackMonitor()
        intake.setOwnSources([30])
        intake.setSources([10, 20, 30])  // a server that echoes the box's own SSRC back
        let receiver = try AudioReceiver(intake: intake, monitor: monitor, volume: 100, logger: Logger(label: "test"))
        let talkers = try Talkers([10: 500, 20: 900, 30: 1300, 40: 1700])
        let played = try Self.play(receiver, talkers, intake, blocks: 0..<200)
        let last = played.suffix(48000)
        #expect(monitor.heardSources.load(ordering: .relaxed) == 2)
        #expect(PlayedAudio.toneLevel(last, frequency: 500) > -30 && PlayedAudio.toneLevel(last, frequency: 900) > -30)
        #expect(PlayedAudio.toneLevel(last, frequency: 1300) < -70, "never the box's own SSRC")
        #expect(PlayedAudio.toneLevel(last, frequency: 1700) < -70, "never an unsignalled SSRC")
        #expect(intake.unsignalledPackets.load(ordering: .relaxed) == 200)
    }

    @Test func aRemovedSourceStopsAtOnceAndItsSlotIsFreed() throws {
        let intake = RemoteAudioIntake(), monitor = PlaybackMonitor()
        intake.setSources([10, 20])
        let receiver = try AudioReceiver(intake: intake, monitor: monitor, volume: 100, logger: Logger(label: "test"))
        let talkers = try Talkers([10: 500, 20: 900])
        _ = try Self.play(receiver, talkers, intake, blocks: 0..<100)
        #expect(monitor.activeSources.load(ordering: .relaxed) == 2)
        intake.removeSources([20])
        let after = try Self.play(receiver, talkers, intake, blocks: 100..<200)
        #expect(monitor.activeSources.load(ordering: .relaxed) == 1)
        #expect(monitor.heardSources.load(ordering: .relaxed) == 1)
        #expect(PlayedAudio.toneLevel(after[480...].prefix(48000), frequency: 900) < -70, "gone from the next block on")
        #expect(PlayedAudio.toneLevel(after.suffix(24000), frequency: 500) > -30)
    }

    /// The 16 slots are made once: when all are given back, 16 new sources get them reset,
    /// and play as fresh ones would (nothing of the last owner's buffer, position or loss).
    @Test func slotsGivenBackServeNewSourcesFromScratch() throws {
        let intake = RemoteAudioIntake(), monitor = PlaybackMonitor()
        let first = (0..<16).map { UInt32(100 + $0) }, second = (0..<16).map { UInt32(200 + $0) }
        intake.setSources(first)
        let receiver = try AudioReceiver(intake: intake, monitor: monitor, volume: 100, logger: Logger(label: "test"))
        let before = try Talkers(Dictionary(uniqueKeysWithValues: first.enumerated().map { ($1, 300 + 100 * Double($0)) }))
        _ = try Self.play(receiver, before, intake, blocks: 0..<60)
        #expect(monitor.activeSources.load(ordering: .relaxed) == 16)
        intake.setSources(second)
        // The new talkers' streams start at other sequence numbers and timestamps.
        let after = try Talkers(Dictionary(uniqueKeysWithValues: second.enumerated().map { ($1, 350 + 100 * Double($0)) }))
        after.frame = 7777
        let played = try Self.play(receiver, after, intake, blocks: 60..<160)
        #expect(monitor.activeSources.load(ordering: .relaxed) == 16)
        #expect(monitor.noSlotPackets.load(ordering: .relaxed) == 0)
        let last = played.suffix(24000)
        #expect(PlayedAudio.toneLevel(last, frequency: 350) > -45 && PlayedAudio.toneLevel(last, frequency: 1850) > -45)
        #expect(PlayedAudio.toneLevel(last, frequency: 300) < -70, "nothing of the first owners")
        #expect(monitor.lostPackets.load(ordering: .relaxed) == 0, "a new owner inherits no loss")
        #expect(monitor.targetDelayMilliseconds.load(ordering: .relaxed) <= 80)
    }
}
