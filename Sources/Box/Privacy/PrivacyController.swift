#if canImport(Glibc)
import Glibc
#endif
import Device
import Logging
import Privacy
import Provisioning
import Runtime
import Synchronization

/// Gives out camera permits: a source of them is all the video thread gets.
protocol CameraPermits: Sendable {
    func permit() -> CameraPermit?
    /// The open camera reports its own privacy control (lens shutter) as closed.
    func reportShutter(closed: Bool)
    /// The open camera vanished (unplugged).
    func reportDisconnected()
}

/// The box's privacy state, fed by the physical switch (a Linux input device), the
/// simulated board's switch (test pattern only), the camera's own shutter and a moderator's
/// mute; and the microphone's mute button. Observers (the conference's presence, the call's
/// senders, the LEDs) hear every change. Private at every start.
final class PrivacyController: CameraPermits, @unchecked Sendable {
    struct Snapshot: Equatable, Sendable {
        var state: PrivacyStateMachine.State
        var micMuted: Bool
        var cameraLive: Bool { state == .live }
    }

    let config: ProvisioningConfig
    let logger: Logger
    private let machine: Mutex<PrivacyStateMachine>
    private let micMutedState: Atomic<Bool>
    private let observers = Mutex<[@Sendable (Snapshot) -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private var thread: BackgroundThread?

    init(config: ProvisioningConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        let hasSwitch: Bool
        switch config.privacy.cameraSwitch {
        case .none: hasSwitch = false
        case .inputDevice: hasSwitch = true
        case .simulated: hasSwitch = config.camera.source == .testPattern  // never for a real camera
        }
        machine = Mutex(PrivacyStateMachine(hasSwitch: hasSwitch))
        micMutedState = Atomic(config.privacy.startMicMuted)
    }

    var snapshot: Snapshot {
        Snapshot(state: machine.withLock { $0.state }, micMuted: micMutedState.load(ordering: .relaxed))
    }

    var isCameraLive: Bool { machine.withLock { $0.isLive } }
    var isMicMuted: Bool { micMutedState.load(ordering: .relaxed) }

    func permit() -> CameraPermit? { machine.withLock { $0.permit() } }

    /// Called on every change, from whichever thread caused it.
    func observe(_ observer: @escaping @Sendable (Snapshot) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Starts reading the switch device, if there is one.
    func start() throws {
        switch config.privacy.cameraSwitch {
        case .none:
            logger.notice("no privacy switch is configured: the camera stays off", metadata: ["event": "privacy"])
        case .simulated:
            if config.camera.source != .testPattern {
                logger.notice("the simulated switch works only with the test pattern: the camera stays off", metadata: ["event": "privacy"])
            }
        case .inputDevice(let path):
            let buttons = config.privacy.muteButton.flatMap { $0 == path ? nil : $0 }
            thread = try BackgroundThread(name: "classbox-switch") { [self] in readSwitch(path, muteButton: buttons) }
        }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        thread?.join()
        thread = nil
    }

    // MARK: Events

    func handle(_ event: PrivacyStateMachine.Event) {
        let (actions, state) = machine.withLock { machine in (machine.handle(event), machine.state) }
        for action in actions {
            switch action {
            case .cameraAllowed:
                logger.notice("privacy switch opened: the camera is LIVE", metadata: ["event": "privacy"])
            case .cameraForbidden(let reason):
                logger.notice("the camera is private (\(reason.rawValue))", metadata: ["event": "privacy"])
            }
        }
        if !actions.isEmpty || event == .switchRead(covered: false) { notify() }
        if case .private(.switchOpenAtStartup) = state, case .switchRead = event {
            logger.notice("the privacy switch is open, but the camera stays private until it is closed and opened again",
                          metadata: ["event": "privacy"])
        }
    }

    /// `classbox switch open|close` on the simulated board; refused for a real camera.
    func simulatedSwitch(open: Bool) -> Bool {
        guard config.privacy.cameraSwitch == .simulated, config.camera.source == .testPattern else { return false }
        handle(.switchMoved(covered: !open))
        return true
    }

    func moderatorMutedCamera() { handle(.moderatorMute) }

    func reportShutter(closed: Bool) { handle(.cameraShutter(closed: closed)) }

    func reportDisconnected() { handle(.cameraDisconnected) }

    func toggleMicMute() { setMicMuted(!micMutedState.load(ordering: .relaxed)) }

    func setMicMuted(_ muted: Bool) {
        guard micMutedState.exchange(muted, ordering: .relaxed) != muted else { return }
        logger.notice(muted ? "microphone muted" : "microphone on", metadata: ["event": "privacy.mic"])
        notify()
    }

    private func notify() {
        let snapshot = self.snapshot
        for observer in observers.withLock({ $0 }) { observer(snapshot) }
    }

    // MARK: The switch device

    /// Opens the device (again every second while it is missing), reports its state as
    /// read, then its events; a vanished device makes the box private.
    private func readSwitch(_ path: String, muteButton: String?) {
        var lastProblem: String?
        while !stopping.load(ordering: .relaxed) {
            let reader: InputEventReader
            do {
                reader = try InputEventReader(path: path)
            } catch {
                if lastProblem != error.description {
                    logger.error("privacy switch \(path) unavailable (\(error)): the camera stays private", metadata: ["event": "privacy"])
                    handle(.switchUnavailable)
                }
                lastProblem = error.description
                sleepBriefly(seconds: 1)
                continue
            }
            guard let covered = reader.cameraCovered() else {
                if lastProblem != "no switch" {
                    logger.error("\(path) reports no SW_CAMERA_LENS_COVER switch: the camera stays private", metadata: ["event": "privacy"])
                    handle(.switchUnavailable)
                }
                lastProblem = "no switch"
                sleepBriefly(seconds: 5)
                continue
            }
            lastProblem = nil
            handle(.switchRead(covered: covered))
            let mute = muteButton.flatMap { try? InputEventReader(path: $0) }
            while !stopping.load(ordering: .relaxed) {
                var entries = [pollfd(fd: reader.fd, events: Int16(POLLIN), revents: 0)]
                if let mute { entries.append(pollfd(fd: mute.fd, events: Int16(POLLIN), revents: 0)) }
                _ = poll(&entries, nfds_t(entries.count), 100)
                do {
                    for event in try reader.read() + (mute.map { (try? $0.read()) ?? [] } ?? []) {
                        switch event {
                        case .cameraCover(let covered): handle(.switchMoved(covered: covered))
                        case .micMutePressed: toggleMicMute()
                        }
                    }
                } catch {
                    logger.error("privacy switch \(path) lost (\(error)): the camera is private", metadata: ["event": "privacy"])
                    handle(.switchUnavailable)
                    lastProblem = error.description
                    break
                }
            }
        }
    }
}
