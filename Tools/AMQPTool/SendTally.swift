public import AMQP
import Foundation

/// The outcomes of `amqp send`'s messages, counted as they come back on the thread
/// driving the reactor, and the waits of the sending thread: for room in the window of
/// messages in flight, and for the last outcomes.
///
/// Waits end after `timeout` without progress (an outcome or a failure), not after a
/// total time, so a long run is not cut short while a stalled one is.
final class SendTally: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var counts = SendCounts()
    private var inFlight = 0
    private var lastProgress = ContinuousClock.now
    private var failure: AMQPClientError? = nil

    /// A message was handed to the link.
    func sent() {
        condition.withLock {
            counts.sent += 1
            inFlight += 1
        }
    }

    /// A message's outcome or failure came back.
    func record(_ result: Result<Outcome, AMQPClientError>) {
        condition.withLock {
            inFlight -= 1
            lastProgress = .now
            switch result {
            case .success(let outcome): counts.count(outcome)
            case .failure(let error):
                counts.failed += 1
                if failure == nil { failure = error }
            }
            condition.broadcast()
        }
    }

    /// Waits until fewer than `window` messages are in flight. False after `timeout`
    /// without progress, or once a send failed (no point sending more).
    func waitForRoom(_ window: Int, timeout: Duration) -> Bool {
        wait(timeout: timeout, endOnFailure: true) { inFlight < window } && failure == nil
    }

    /// Waits until no message is in flight; false after `timeout` without progress.
    func waitForAll(timeout: Duration) -> Bool {
        wait(timeout: timeout, endOnFailure: false) { inFlight == 0 }
    }

    /// Waits until `unsent()` is 0, checking every millisecond; false after `timeout`
    /// without it going down.
    func waitUntilWritten(timeout: Duration, _ unsent: () -> Int) -> Bool {
        var left = unsent()
        var lastChange = ContinuousClock.now
        while left > 0 {
            guard ContinuousClock.now < lastChange + timeout else { return false }
            usleep(1_000)
            let now = unsent()
            if now < left { lastChange = .now }
            left = now
        }
        return true
    }

    /// The counts so far, and the first failure.
    var snapshot: (counts: SendCounts, failure: AMQPClientError?, inFlight: Int) {
        condition.withLock { (counts, failure, inFlight) }
    }

    private func wait(timeout: Duration, endOnFailure: Bool, until done: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !done() {
            if endOnFailure && failure != nil { return false }
            let deadline = lastProgress + timeout
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) * 1e-18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        return true
    }
}

/// What became of the messages `amqp send` sent.
public struct SendCounts: Hashable, Sendable {
    /// Messages handed to the link.
    public var sent = 0
    /// Accepted by the peer.
    public var accepted = 0
    /// Rejected by the peer.
    public var rejected = 0
    /// Released by the peer.
    public var released = 0
    /// Modified by the peer.
    public var modified = 0
    /// Sent pre-settled (`--settle`): no outcome to wait for.
    public var presettled = 0
    /// Failed: the link or connection went before the outcome came (fate unknown).
    public var failed = 0
    /// The first outcome that was not `accepted`.
    public var firstRefusal: Outcome? = nil

    /// Creates empty counts.
    public init() {}

    /// Messages with an outcome other than accepted (or pre-settled).
    public var notAccepted: Int { rejected + released + modified }

    mutating func count(_ outcome: Outcome) {
        switch outcome {
        case .accepted: accepted += 1
        case .presettled: presettled += 1
        case .rejected: rejected += 1
        case .released: released += 1
        case .modified: modified += 1
        }
        if !outcome.isAccepted && firstRefusal == nil { firstRefusal = outcome }
    }
}
