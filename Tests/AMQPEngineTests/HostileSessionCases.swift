import AMQPCodec
import AMQPEngine
import AMQPTesting

extension HostileCase {
    /// Hostile inputs for the session and link layers (BEGIN on a channel beyond
    /// channel-max, ATTACH on an unknown channel, TRANSFER beyond the window, handles
    /// beyond handle-max, unsettled floods, …).
    ///
    /// ADD SESSION AND LINK CASES HERE, in the shape of `HostileCase.connection`: most
    /// strike `at: .opened`; `HostilePeerTests` runs each for every role it lists under
    /// every cut policy and checks the close condition, the end, and bounded memory.
    static let sessions: [HostileCase] = []
}
