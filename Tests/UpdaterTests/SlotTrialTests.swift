import Testing
@testable import Updater

struct SlotTrialTests {
    static func record(_ state: UpdateRecord.State, slot: String = "B") -> UpdateRecord {
        UpdateRecord(state: state, version: "0.1.9", slot: slot, previousVersion: "0.1.8", previousSlot: slot == "B" ? "A" : "B",
                     time: 1_790_000_000, message: "")
    }

    @Test func anOrdinaryBootMarksItsSlotGood() {
        #expect(SlotTrial.decide(record: nil, booted: "A") == .confirm)
        for state in [UpdateRecord.State.good, .rolledBack, .refused, .failed] {
            #expect(SlotTrial.decide(record: Self.record(state), booted: "A") == .confirm)
        }
        for state in [UpdateRecord.State.good, .refused, .failed] {
            #expect(SlotTrial.decide(record: Self.record(state), booted: "B") == .confirm)
        }
    }

    @Test func theFirstBootOfTheNewSlotIsATrial() {
        #expect(SlotTrial.decide(record: Self.record(.installed), booted: "B") == .trial(version: "0.1.9"))
        // A power cut after RAUC made the slot primary but before the record said so.
        #expect(SlotTrial.decide(record: Self.record(.installing), booted: "B") == .trial(version: "0.1.9"))
    }

    @Test func bootingTheOldSlotAfterAnInstallIsAFallbackOrAnInterruption() {
        #expect(SlotTrial.decide(record: Self.record(.installed), booted: "A") == .fellBack(newSlot: "B", version: "0.1.9"))
        #expect(SlotTrial.decide(record: Self.record(.installing), booted: "A") == .interrupted(version: "0.1.9"))
    }

    @Test func theSlotThatFailedItsTrialIsSentBackIfItBootsAgain() {
        #expect(SlotTrial.decide(record: Self.record(.rolledBack, slot: "B"), booted: "B") == .failedSlotBooted(version: "0.1.9"))
    }

    @Test func healthNeedsTheServiceAndTheSignIn() {
        #expect(SlotTrial.Health(serviceRunning: true, signalingConnected: true).isHealthy)
        let notSignedIn = SlotTrial.Health(serviceRunning: true, signalingConnected: false)
        #expect(!notSignedIn.isHealthy && notSignedIn.missing.contains("sign in"))
        let down = SlotTrial.Health(serviceRunning: false, signalingConnected: false)
        #expect(!down.isHealthy && down.missing.contains("did not run"))
        #expect(!down.isSettled, "a service that is not up yet may still come")
        let gaveUp = SlotTrial.Health(serviceRunning: false, signalingConnected: false, serviceGaveUp: true)
        #expect(!gaveUp.isHealthy && gaveUp.isSettled && gaveUp.missing.contains("gave up"), "no need to wait out the trial")
        #expect(!SlotTrial.Health(serviceRunning: true, signalingConnected: false, serviceGaveUp: true).serviceGaveUp,
                "a running service has not been given up")
    }
}
