/// Whether the box may use its camera, decided by the physical privacy switch alone.
///
/// The rules of the seed (shared/seed): the camera is private at every power-on and every
/// start of the firmware, whatever the switch said before; only a switch *event* to "open"
/// makes it live (a switch found already open at start must be closed and opened again);
/// "closed", an unreadable or missing switch, the camera's own privacy control or a
/// moderator's mute make it private at once. No command, config or message can make it live.
/// Without I/O: events in, actions out; tested for every order of events.
public struct PrivacyStateMachine: Sendable {
    public enum State: Equatable, Sendable {
        case live
        case `private`(Reason)
    }

    public enum Reason: String, Equatable, Sendable {
        /// Just started: waiting for the switch to be opened.
        case startup
        /// The switch was already open at start: close it and open it again.
        case switchOpenAtStartup
        case switchClosed
        /// No privacy switch is configured: the camera stays off.
        case noSwitch
        /// The switch device is missing or cannot be read.
        case switchUnavailable
        /// The camera's own privacy control (V4L2_CID_PRIVACY, a lens shutter) is on.
        case cameraShutter
        /// A moderator muted the camera; the switch must be closed and opened to go live.
        case moderatorMuted
        /// The camera disappeared while live (unplugged): it may come back as another device,
        /// so going live again takes the switch.
        case cameraDisconnected
    }

    public enum Event: Equatable, Sendable {
        /// The switch's state as read when its device was (re)opened: never makes the box live.
        case switchRead(covered: Bool)
        /// A switch event (EV_SW SW_CAMERA_LENS_COVER): covered = closed = private.
        case switchMoved(covered: Bool)
        case switchUnavailable
        /// The camera's own privacy control changed.
        case cameraShutter(closed: Bool)
        case moderatorMute
        /// The camera device vanished (ENODEV, USB unplug).
        case cameraDisconnected
    }

    public enum Action: Equatable, Sendable {
        /// The camera may be opened now (a permit is available).
        case cameraAllowed
        /// Close the camera at once; every permit is revoked already.
        case cameraForbidden(Reason)
    }

    public private(set) var state: State
    /// What the switch last said, as far as the box knows (nil: unknown or no switch).
    public private(set) var switchCovered: Bool?
    /// Set only by a switch event to "open"; cleared by anything that makes the box private.
    var switchAllows = false
    var shutterClosed = false
    var token: PermitToken?

    public init(hasSwitch: Bool) {
        state = .private(hasSwitch ? .startup : .noSwitch)
    }

    public var isLive: Bool { state == .live }

    /// A permit for the camera, while live.
    public func permit() -> CameraPermit? {
        guard state == .live, let token else { return nil }
        return CameraPermit(token: token)
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard state != .private(.noSwitch) else { return [] }
        var reason: Reason?
        switch event {
        case .switchRead(let covered):
            switchCovered = covered
            if covered {
                switchAllows = false
                reason = .switchClosed
            } else if !switchAllows {
                reason = .switchOpenAtStartup  // read, not moved: close and open it again
            }
        case .switchMoved(let covered):
            switchCovered = covered
            switchAllows = !covered
            reason = covered ? .switchClosed : (shutterClosed ? .cameraShutter : nil)
        case .switchUnavailable:
            switchCovered = nil
            switchAllows = false
            reason = .switchUnavailable
        case .cameraShutter(let closed):
            shutterClosed = closed
            if closed { reason = .cameraShutter }
        case .moderatorMute:
            switchAllows = false
            reason = .moderatorMuted
        case .cameraDisconnected:
            guard state == .live else { return [] }  // gone while private (the switch cut its power): nothing changes
            switchAllows = false
            reason = .cameraDisconnected
        }
        let live = switchAllows && !shutterClosed
        switch (state == .live, live) {
        case (false, true):
            state = .live
            token = PermitToken()
            return [.cameraAllowed]
        case (true, false):
            token?.revoke()
            token = nil
            let why = reason ?? .switchClosed
            state = .private(why)
            return [.cameraForbidden(why)]
        case (false, false):
            if let reason { state = .private(reason) }
            return []
        case (true, true):
            return []
        }
    }
}
