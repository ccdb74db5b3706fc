import AMQPCodec

// `amqp:session:errant-link` (part 2, section 2.8.17): "input was received for a link
// that was detached with an error".
//
// The rule, and why it punishes nothing legitimately in flight: a link is detached once
// DETACH has gone both ways (sections 2.6.4 and 2.7.7). While only our DETACH is out,
// the peer may not have read it yet, so its TRANSFER and FLOW frames for the link are
// crossing ours on the wire: those are read (window and delivery-id bookkeeping go on)
// and dropped, as for any detaching link. Once the peer's own DETACH has arrived it has
// let go of the handle, and a connection is one ordered stream of frames, so anything it
// sends later on that handle was sent knowingly after the link ended. When the link
// ended with an error, from either side, that input is errant-link; without an error it
// is unattached-handle, as for a handle never used. A new ATTACH on the handle makes it
// the new link's, and forgets the old one.

/// The peer's handles whose links were detached with an error, most recent last: a
/// few, as each is only remembered to name the error precisely. A peer that detaches
/// more links with errors than this before misusing an old handle gets
/// `amqp:session:unattached-handle` for it, which ends the session all the same; the
/// bound keeps a peer from growing the list by detaching links with errors forever.
struct ErroredRemoteHandles {
    static let capacity = 32

    private(set) var handles: [UInt32] = []

    /// Remembers `handle` (moved to the end if it was there already).
    mutating func insert(_ handle: UInt32) {
        remove(handle)
        if handles.count == Self.capacity { handles.removeFirst() }
        handles.append(handle)
    }

    /// Forgets `handle`: a new link took it.
    mutating func remove(_ handle: UInt32) {
        guard !handles.isEmpty, let i = handles.firstIndex(of: handle) else { return }
        handles.remove(at: i)
    }

    func contains(_ handle: UInt32) -> Bool { handles.contains(handle) }
}

extension SessionEndpoint {
    /// The error ending the session when `frame` arrives on the peer's `handle`, which
    /// no link of ours holds: errant-link when that handle's last link was detached with
    /// an error (see above), else unattached-handle.
    func unattached(_ frame: String, handle: UInt32) -> AMQPError {
        if erroredRemoteHandles.contains(handle) {
            return AMQPError(
                condition: .errantLink, description: "\(frame) on handle \(handle), whose link was detached with an error")
        }
        return AMQPError(condition: .unattachedHandle, description: "\(frame) on handle \(handle), which is not attached")
    }
}
