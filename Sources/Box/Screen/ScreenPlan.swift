import Synchronization

/// Which of the others' videos the classroom screen shows: one on stage (the screen share,
/// else the dominant speaker's camera — what the bridge is asked to send large) and the rest
/// in tiles, by source name; each with its participant's display name for the name plate,
/// and which show a slate because their camera is off.
struct ScreenPlan: Sendable, Equatable {
    var stage: String?
    var others: [String]
    /// Source name → the display name of its participant (none: no plate).
    var names: [String: String] = [:]
    /// Sources whose participant has switched the camera off (or has none): an avatar slate.
    var cameraOff: Set<String> = []

    static let empty = ScreenPlan(stage: nil, others: [])
}

/// The plan as the conference thread and the bridge channel last changed it, for the screen
/// thread to read; `generation` tells it when to lay the screen out again.
final class ScreenPlanBoard: Sendable {
    private let state = Mutex((plan: ScreenPlan.empty, generation: 0))

    func update(_ plan: ScreenPlan) {
        state.withLock {
            guard $0.plan != plan else { return }
            $0 = (plan, $0.generation + 1)
        }
    }

    var current: (plan: ScreenPlan, generation: Int) { state.withLock { $0 } }
}
