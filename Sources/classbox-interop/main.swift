// classbox-interop: the box's media path against any WebRTC peer that exchanges SDP files,
// for Tests/Interop (aiortc). Not part of the image.
//
//   classbox-interop --config FILE --role answer --offer IN --answer OUT --duration S [--tamper-fingerprint]
//   classbox-interop --config FILE --role offer --offer OUT --answer IN --duration S
//   (--no-loopback: host candidates on the real interfaces, for the network-namespace tests;
//    --trace: the congestion state every half second on stderr, for the bottleneck bench;
//    --screen WxH: the call shown as the box's lesson on a screen in memory, for the call bench)
//
// The peer's file is waited for; at the end one line of JSON with the counters and state.
import Box
import Foundation
import Logging
import Provisioning

func option(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else { return nil }
    return CommandLine.arguments[index + 1]
}

func waitForFile(_ path: String, timeout: TimeInterval = 30) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("a=") { return text }
        usleep(50_000)
    }
    return nil
}

BoxRunner.bootstrapLogging(environment: ProcessInfo.processInfo.environment)
let logger = Logger(label: "classbox-interop")
guard let configPath = option("--config"), let role = option("--role"), let offerPath = option("--offer"),
      let answerPath = option("--answer"), let duration = option("--duration").flatMap(Double.init) else {
    print("usage: classbox-interop --config FILE --role answer|offer --offer FILE --answer FILE --duration SECONDS")
    exit(2)
}
guard case .valid(var config, _) = ConfigLoader.load(path: configPath) else {
    print("classbox-interop: \(configPath) is not a valid provisioning file")
    exit(2)
}
// The simulated board offers loopback candidates; in a network namespace the veth is the way out.
if CommandLine.arguments.contains("--no-loopback") { config.network.loopback = false }
do {
    let call: SDPCall
    if role == "answer" {
        guard let offer = waitForFile(offerPath) else { throw CocoaError(.fileReadNoSuchFile) }
        call = try SDPCall.answering(offer: offer, config: config, logger: logger,
                                     tamperRemoteFingerprint: CommandLine.arguments.contains("--tamper-fingerprint"))
        try call.localDescription.write(toFile: answerPath, atomically: true, encoding: .utf8)
    } else {
        let (offer, accept) = try SDPCall.offering(config: config, logger: logger)
        try offer.write(toFile: offerPath, atomically: true, encoding: .utf8)
        guard let answer = waitForFile(answerPath) else { throw CocoaError(.fileReadNoSuchFile) }
        call = try accept(answer)
    }
    if let screen = option("--screen") {
        // The same reading as the provisioning file's display.mode.
        guard let size = ProvisioningConfig.Display.Mode(screen) else {
            print("classbox-interop: --screen wants WIDTHxHEIGHT, e.g. 1920x1080")
            exit(2)
        }
        call.showOnScreen(width: size.width, height: size.height, display: config.display)
    }
    try call.start()
    // The frames of the last half second are sent but not counted: a receiver repairs a loss
    // only when a later packet shows the gap and its NACK's answer arrives, which the end of
    // the run cuts off (a real call goes on).
    let tail = min(0.5, duration / 4)
    // --trace: the sending side's congestion state every half second on stderr (the
    // bottleneck bench lines it up with the capacity phases).
    if CommandLine.arguments.contains("--trace") {
        let started = Date()
        let keys = ["videoBitrateKbps", "delayBasedKbps", "acknowledgedKbps", "delayUsage", "pacingTargetKbps", "framesSkippedForPacing", "videoBytes"]
        while Date().timeIntervalSince(started) < duration - tail {
            Thread.sleep(forTimeInterval: min(0.5, duration - tail - Date().timeIntervalSince(started)))
            let now = call.statistics
            FileHandle.standardError.write(Data(("trace \(String(format: "%.1f", Date().timeIntervalSince1970)) "
                + keys.map { "\($0)=\(now[$0] ?? -1)" }.joined(separator: " ") + "\n").utf8))
        }
    } else {
        Thread.sleep(forTimeInterval: duration - tail)
    }
    let framesRepairable = call.statistics["frames"] ?? 0
    Thread.sleep(forTimeInterval: tail)
    var statistics = call.statistics.mapValues { "\($0)" }
    statistics["framesRepairable"] = "\(framesRepairable)"
    statistics["state"] = "\"\(call.state)\""
    call.stop()
    print("{" + statistics.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}")
} catch {
    logger.error("interop: \(error)")
    exit(1)
}
