import AudioProcessing
import Foundation
import Testing

/// The measurement that chose the default backend (issue criteria: ERLE ≥ 25 dB, double-talk
/// SDR ≥ 10 dB, ERLE back above 25 dB within 2 s of a 40 ms echo-path change). The change is
/// run twice: unseen by the reported delay (the acoustic path changed: the criterion's case)
/// and reported (the box's own buffering grew, which it measures). It prints both libraries'
/// figures; it asserts the criteria for the default and sanity for the other (webrtc 0.3:
/// ERLE 46–48 dB, re-tracking 0.5 s, but double-talk SDR 2–3 dB: its NLP ducks the near end
/// 8–10 dB at every suppression level, see the sweep).
/// Needs espeak-ng and sox (Makefile `APT_PACKAGES`).
@Suite(.enabled(if: Speech.available, "needs /usr/bin/espeak-ng and /usr/bin/sox to synthesize speech"))
struct EchoCancellationMeasurementTests {
    /// AEC + NS as the box runs them; AGC off, because SDR is not gain-invariant.
    static let measured = MicrophoneProcessingSettings(echoCancellation: true, noiseSuppression: true, gainControl: false)
    static let material = Result { try SyntheticRoom.Material.make() }

    struct Candidate: Sendable, CustomStringConvertible {
        let description: String
        let backend: MicrophoneProcessingBackend
        let make: @Sendable () throws -> any MicrophoneProcessing
    }

    static let defaults: [Candidate] = MicrophoneProcessingBackend.allCases.map { backend in
        Candidate(description: "\(backend) (default tuning)", backend: backend) {
            try MicrophoneProcessors.make(measured, backend: backend)
        }
    }

    @Test(arguments: [30, 150])
    func bothLibrariesInTheSyntheticRoom(bulkDelayMs: Int) throws {
        let room = SyntheticRoom(try Self.material.get(), bulkDelayMs: bulkDelayMs)
        var rows: [String] = []
        for candidate in Self.defaults {
            let result = EchoMeasurement.run(try candidate.make(), in: room)
            let reported = EchoMeasurement.run(try candidate.make(), in: room, changeReported: true)
            rows.append(Self.row(candidate.description, bulkDelayMs, result, reported))
            if candidate.backend == MicrophoneProcessors.defaultBackend {
                #expect(result.erle >= 25, "ERLE \(result.erle) dB, \(candidate), delay \(bulkDelayMs) ms")
                #expect(result.doubleTalkSDR >= 10, "double-talk SDR \(result.doubleTalkSDR) dB, \(candidate)")
                #expect((result.retrackSeconds ?? .infinity) <= 2,
                        "re-tracking an unreported change \(String(describing: result.retrackSeconds)) s, windows \(result.windowsAfterChange)")
                #expect((reported.retrackSeconds ?? .infinity) <= 2,
                        "re-tracking a reported change \(String(describing: reported.retrackSeconds)) s, windows \(reported.windowsAfterChange)")
            } else {
                #expect(result.erle > 6, "ERLE \(result.erle) dB, \(candidate), delay \(bulkDelayMs) ms")
            }
        }
        print(Self.header + "\n" + rows.joined(separator: "\n"))
    }

    /// `CLASSBOX_AEC_SWEEP=1 swift test --filter AudioProcessingTests`: the tuning sweep.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CLASSBOX_AEC_SWEEP"] != nil, "set CLASSBOX_AEC_SWEEP=1"),
          arguments: [30, 150])
    func tuningSweep(bulkDelayMs: Int) throws {
        let room = SyntheticRoom(try Self.material.get(), bulkDelayMs: bulkDelayMs)
        var rows: [String] = []
        for candidate in Self.sweep {
            rows.append(Self.row(candidate.description, bulkDelayMs, EchoMeasurement.run(try candidate.make(), in: room),
                                 EchoMeasurement.run(try candidate.make(), in: room, changeReported: true)))
        }
        print(Self.header + "\n" + rows.joined(separator: "\n"))
    }

    static var sweep: [Candidate] {
        var candidates: [Candidate] = []
        func webrtc(_ name: String, _ settings: MicrophoneProcessingSettings = measured,
                    _ change: @escaping @Sendable (inout WebRTCMicrophoneProcessor.Tuning) -> Void) {
            var tuning = WebRTCMicrophoneProcessor.Tuning()
            change(&tuning)
            candidates.append(Candidate(description: "webrtc " + name, backend: .webrtc) { [tuning] in
                try WebRTCMicrophoneProcessor(settings, tuning: tuning)
            })
        }
        func speex(_ name: String, _ settings: MicrophoneProcessingSettings = measured,
                   _ change: @escaping @Sendable (inout SpeexMicrophoneProcessor.Tuning) -> Void) {
            var tuning = SpeexMicrophoneProcessor.Tuning()
            change(&tuning)
            candidates.append(Candidate(description: "speex " + name, backend: .speex) { [tuning] in
                try SpeexMicrophoneProcessor(settings, tuning: tuning)
            })
        }
        let aecOnly = MicrophoneProcessingSettings(echoCancellation: true, noiseSuppression: false, gainControl: false)
        webrtc("default") { _ in }
        webrtc("AEC only", aecOnly) { _ in }
        webrtc("suppression low") { $0.suppressionLevel = 0 }
        webrtc("suppression high") { $0.suppressionLevel = 2 }
        webrtc("normal filter") { $0.extendedFilter = false }
        webrtc("delay-agnostic") { $0.delayAgnostic = true }
        webrtc("low, normal filter") { $0.suppressionLevel = 0; $0.extendedFilter = false }
        speex("default") { _ in }
        speex("no tracker") { $0.trackEchoPath = false }
        speex("no tracker, reset on reported jump") { $0.trackEchoPath = false; $0.resetOnReportedJump = true }
        speex("AEC only", aecOnly) { _ in }
        speex("48 kHz") { $0.processingRate = 48000 }
        speex("filter 150 ms") { $0.filterMilliseconds = 150 }
        speex("filter 300 ms") { $0.filterMilliseconds = 300 }
        speex("echo suppress -60/-25") { $0.echoSuppressDB = -60; $0.echoSuppressActiveDB = -25 }
        speex("echo suppress -30/-10") { $0.echoSuppressDB = -30; $0.echoSuppressActiveDB = -10 }
        return candidates
    }

    static let header = """
        | config | bulk delay | ERLE 2–8 s (median frame) | ERLE after DT | DT SDR | near-end gain | lag | re-track after unreported +40 ms | ERLE 0.5 s windows after it | re-track after reported +40 ms | lib ERLE / delay / moves (unreported, reported) | CPU per 10 ms |
        |---|---|---|---|---|---|---|---|---|---|---|---|
        """

    static func row(_ name: String, _ delay: Int, _ r: EchoMeasurement, _ reported: EchoMeasurement) -> String {
        func f(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.1f", x) }
        func seconds(_ s: Double?) -> String { s.map { String(format: "%.1f s", $0) } ?? "never" }
        let retrack = seconds(r.retrackSeconds)
        let windows = r.windowsAfterChange.map(f).joined(separator: " ")
        let library = "\(r.libraryERLE.map(f) ?? "–") / \(r.libraryDelayMs.map { "\($0) ms" } ?? "–")"
            + " / \(r.realignments), \(reported.realignments)"
        return "| \(name) | \(delay) ms | \(f(r.erle)) (\(f(r.erleMedianFrame))) | \(f(r.erleAfterDoubleTalk)) | "
            + "\(f(r.doubleTalkSDR)) | \(f(r.nearEndGainDB)) dB | \(r.latencySamples) | \(retrack) | \(windows) | \(seconds(reported.retrackSeconds)) | \(library) | "
            + String(format: "%.0f µs", r.cpuMicrosecondsPerBlock) + " |"
    }
}
