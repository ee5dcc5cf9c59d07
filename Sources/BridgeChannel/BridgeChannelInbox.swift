/// The receiving end of the bridge channel: text messages decoded, everything counted.
/// Malformed messages and unknown classes are dropped (the channel goes on), as JVB and
/// lib-jitsi-meet do; the counters and the last problem are for the log and the status.
public struct BridgeChannelInbox: Sendable {
    public private(set) var received = 0
    /// Messages of a class the box does not act on (`.other`).
    public private(set) var ignored = 0
    /// Messages that were not well-formed JSON, not a message, or had a bad field.
    public private(set) var malformed = 0
    /// Binary messages (PPID 53): the bridge sends clients none.
    public private(set) var binary = 0
    /// The last reason a message was dropped, for the log.
    public private(set) var lastProblem: BridgeChannelError?

    public init() {}

    /// The message in `text`, or nil when it was dropped (counted).
    public mutating func receive(text: String) -> BridgeChannelMessage? {
        received += 1
        do {
            let message = try BridgeChannelMessage(json: text)
            if case .other = message {
                ignored += 1
                return nil
            }
            return message
        } catch {
            malformed += 1
            lastProblem = error
            return nil
        }
    }

    /// A binary message: counted and dropped.
    public mutating func receive(binary bytes: Int) {
        received += 1
        binary += 1
    }
}
