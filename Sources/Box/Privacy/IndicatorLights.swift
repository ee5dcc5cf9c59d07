import Device
import Logging
import Provisioning

/// The box's LEDs (Linux LED class): camera live, microphone muted, and a status LED whose
/// patterns a teacher can tell apart at a glance.
struct IndicatorLights {
    enum Status: Equatable {
        /// Connecting or waiting for the call: a slow blink.
        case connecting
        /// In the call: steady on.
        case inCall
        /// Something needs IT (wrong password, server unreachable for long): a fast blink.
        case error
        case off
    }

    static func pattern(_ status: Status) -> LEDPattern {
        switch status {
        case .connecting: return .blink(onMilliseconds: 500, offMilliseconds: 500)
        case .inCall: return .on
        case .error: return .blink(onMilliseconds: 100, offMilliseconds: 100)
        case .off: return .off
        }
    }

    let camera: LED?
    let micMuted: LED?
    let status: LED?
    let logger: Logger

    /// `directory` is the LED class directory (`/sys/class/leds`; tests use a scratch copy).
    init(config: ProvisioningConfig, directory: String, logger: Logger) {
        camera = config.privacy.cameraLED.map { LED(name: $0, directory: directory) }
        micMuted = config.privacy.micMutedLED.map { LED(name: $0, directory: directory) }
        status = config.privacy.statusLED.map { LED(name: $0, directory: directory) }
        self.logger = logger
    }

    func show(cameraLive: Bool, micMuted muted: Bool, status state: Status) {
        set(camera, cameraLive ? .on : .off)
        set(micMuted, muted ? .on : .off)
        set(status, Self.pattern(state))
    }

    private func set(_ led: LED?, _ pattern: LEDPattern) {
        guard let led else { return }
        do { try led.show(pattern) } catch { logger.warning("LED \(led.name): \(error)", metadata: ["event": "led"]) }
    }

    /// What the status LED shows for the conference's state.
    static func status(of snapshot: ConferenceSnapshot) -> Status {
        if snapshot.mediaConnected { return .inCall }
        if snapshot.failed { return .error }
        return .connecting
    }
}
