import Synchronization

/// The only key to a real camera: a ``PrivacyStateMachine`` hands one out while the
/// physical switch has been opened, and revokes every permit the moment the box becomes
/// private again. Opening a V4L2 camera and taking a frame from it both need a valid permit,
/// so code that sends camera pictures while private cannot be written: it has no permit to
/// pass. It cannot be copied or made outside this module.
public struct CameraPermit: ~Copyable, Sendable {
    let token: PermitToken

    init(token: PermitToken) { self.token = token }

    /// False once the box went private after this permit was given.
    public var isValid: Bool { token.valid.load(ordering: .acquiring) }
}

/// Shared between the permits of one live period; revoking it revokes them all.
final class PermitToken: Sendable {
    let valid = Atomic<Bool>(true)

    func revoke() { valid.store(false, ordering: .releasing) }
}
