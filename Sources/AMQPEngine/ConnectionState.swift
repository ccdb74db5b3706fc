/// The connection states of AMQP 1.0 (part 2, section 2.4.6), with the numeric values
/// of the reference client (uamqp), which its users rely on.
public enum ConnectionState: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Nothing sent or received.
    case start = 0
    /// The peer's protocol header arrived; ours is not sent yet.
    case headerReceived = 1
    /// Our protocol header is sent; the peer's has not arrived.
    case headerSent = 2
    /// Both protocol headers exchanged.
    case headerExchanged = 3
    /// Header and OPEN sent before the peer's header arrived.
    case openPipe = 4
    /// Header, OPEN and CLOSE sent before the peer's header arrived.
    case openClosePipe = 5
    /// The peer's OPEN arrived; ours is not sent yet.
    case openReceived = 6
    /// Our OPEN is sent; the peer's has not arrived.
    case openSent = 7
    /// OPEN and CLOSE sent before the peer's OPEN arrived.
    case closePipe = 8
    /// Both OPENs exchanged: the connection is usable.
    case opened = 9
    /// The peer's CLOSE arrived; ours is not sent yet.
    case closeReceived = 10
    /// Our CLOSE is sent; the peer's has not arrived.
    case closeSent = 11
    /// We closed with an error and ignore everything until the peer's CLOSE.
    case discarding = 12
    /// Closed: nothing more is sent or received.
    case end = 13
    /// The transport failed or the peer broke the protocol below the frame layer.
    case error = 14

    /// The reference's name, e.g. `OPENED`, `HDR_EXCH`.
    public var description: String {
        switch self {
        case .start: "START"
        case .headerReceived: "HDR_RCVD"
        case .headerSent: "HDR_SENT"
        case .headerExchanged: "HDR_EXCH"
        case .openPipe: "OPEN_PIPE"
        case .openClosePipe: "OC_PIPE"
        case .openReceived: "OPEN_RCVD"
        case .openSent: "OPEN_SENT"
        case .closePipe: "CLOSE_PIPE"
        case .opened: "OPENED"
        case .closeReceived: "CLOSE_RCVD"
        case .closeSent: "CLOSE_SENT"
        case .discarding: "DISCARDING"
        case .end: "END"
        case .error: "ERROR"
        }
    }

    /// True once nothing more will be exchanged (END or ERROR).
    @inline(__always)
    public var isFinal: Bool { self == .end || self == .error }

    /// True while our CLOSE has been sent (or is queued) and the peer's is awaited.
    var awaitsPeerClose: Bool {
        self == .closeSent || self == .closePipe || self == .openClosePipe || self == .discarding
    }
}
