import Testing
@testable import Privacy

/// The privacy rules for every order of events: each sequence of up to five events is run
/// through the machine and compared with the rules written out independently below.
struct PrivacyStateMachineTests {
    typealias Event = PrivacyStateMachine.Event
    static let alphabet: [Event] = [.switchRead(covered: true), .switchRead(covered: false), .switchMoved(covered: true),
                                    .switchMoved(covered: false), .switchUnavailable, .cameraShutter(closed: true),
                                    .cameraShutter(closed: false), .moderatorMute, .cameraDisconnected]

    /// The seed's rule: live exactly when the last thing that spoke about the switch was an
    /// *event* to open (not a reading at start), nothing has revoked it since, and the
    /// camera's own shutter is not closed.
    static func expectedLive(_ events: [Event]) -> Bool {
        var opened = false, shutter = false
        for event in events {
            switch event {
            case .switchMoved(let covered): opened = !covered
            case .switchRead(let covered): if covered { opened = false }
            case .switchUnavailable, .moderatorMute: opened = false
            case .cameraShutter(let closed): shutter = closed
            case .cameraDisconnected: if opened && !shutter { opened = false }  // only while live
            }
        }
        return opened && !shutter
    }

    static func sequences(length: Int) -> [[Event]] {
        length == 0 ? [[]] : sequences(length: length - 1).flatMap { prefix in alphabet.map { prefix + [$0] } }
    }

    @Test func everyOrderOfUpToFiveEventsFollowsTheRules() {
        var checked = 0
        for length in 0...5 {
            for events in Self.sequences(length: length) {
                var machine = PrivacyStateMachine(hasSwitch: true)
                var wasLive = false
                var permits: [PermitToken] = []  // the permits' shared tokens (a permit itself cannot be copied)
                for (index, event) in events.enumerated() {
                    let actions = machine.handle(event)
                    let live = Self.expectedLive(Array(events[...index]))
                    guard machine.isLive == live else {
                        Issue.record("\(events[...index]): live \(machine.isLive), expected \(live)")
                        return
                    }
                    #expect(actions.contains(.cameraAllowed) == (live && !wasLive), "\(events[...index]): \(actions)")
                    #expect(actions.contains { if case .cameraForbidden = $0 { true } else { false } } == (!live && wasLive))
                    if let permit = machine.permit() { permits.append(permit.token) }
                    let hasPermit = machine.permit() != nil
                    #expect(hasPermit == live)
                    if !live { #expect(permits.allSatisfy { !$0.valid.load(ordering: .relaxed) }, "a permit outlived the live period: \(events[...index])") }
                    wasLive = live
                }
                checked += 1
            }
        }
        #expect(checked == 66430, "all sequences of up to five of the nine events")
    }

    @Test func atStartTheCameraIsPrivateWhateverTheSwitchSaid() {
        var machine = PrivacyStateMachine(hasSwitch: true)
        let none = machine.permit() == nil
        #expect(machine.state == .private(.startup) && none)
        #expect(machine.handle(.switchRead(covered: false)).isEmpty)
        #expect(machine.state == .private(.switchOpenAtStartup), "open at power-on: close and open it again")
        #expect(machine.handle(.switchMoved(covered: true)).isEmpty)
        #expect(machine.handle(.switchMoved(covered: false)) == [.cameraAllowed])
    }

    @Test func closingRevokesEveryPermitAtOnce() throws {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        guard let permit = machine.permit() else { Issue.record("no permit while live"); return }
        let validAtFirst = permit.isValid
        #expect(validAtFirst)
        #expect(machine.handle(.switchMoved(covered: true)) == [.cameraForbidden(.switchClosed)])
        let validWhenClosed = permit.isValid
        #expect(!validWhenClosed)
        _ = machine.handle(.switchMoved(covered: false))
        let validAgain = permit.isValid
        #expect(!validAgain, "a new live period does not revive an old permit")
        let fresh = machine.permit()?.isValid == true
        #expect(fresh)
    }

    @Test func aSwitchThatVanishesAndComesBackOpenStaysPrivate() {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        #expect(machine.handle(.switchUnavailable) == [.cameraForbidden(.switchUnavailable)])
        #expect(machine.handle(.switchRead(covered: false)).isEmpty)
        #expect(machine.state == .private(.switchOpenAtStartup))
    }

    @Test func withoutASwitchNothingMakesTheCameraLive() {
        var machine = PrivacyStateMachine(hasSwitch: false)
        for event in Self.alphabet { #expect(machine.handle(event).isEmpty) }
        let none = machine.permit() == nil
        #expect(machine.state == .private(.noSwitch) && none)
    }

    @Test func aCameraUnpluggedWhileLiveStaysPrivateUntilTheSwitchIsOpenedAgain() {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        #expect(machine.handle(.cameraDisconnected) == [.cameraForbidden(.cameraDisconnected)])
        _ = machine.handle(.switchMoved(covered: true))
        #expect(machine.handle(.cameraDisconnected).isEmpty, "the kill switch cutting the power while private changes nothing")
        #expect(machine.handle(.switchMoved(covered: false)) == [.cameraAllowed])
    }

    @Test func aModeratorsMuteHoldsUntilTheSwitchIsOpenedAgain() {
        var machine = PrivacyStateMachine(hasSwitch: true)
        _ = machine.handle(.switchMoved(covered: false))
        #expect(machine.handle(.moderatorMute) == [.cameraForbidden(.moderatorMuted)])
        #expect(machine.handle(.cameraShutter(closed: false)).isEmpty && !machine.isLive)
        _ = machine.handle(.switchMoved(covered: true))
        #expect(machine.handle(.switchMoved(covered: false)) == [.cameraAllowed])
    }
}
