import AMQPEngine
import AMQPReactor

// The one place that knows the shapes of the engine's events (`ConnectionEvent`,
// `SessionEvent`, `LinkEvent`, `Delivery`): each is turned into a call on the connection,
// session or link it concerns, with plain values. Everything else in this target speaks
// to those calls, so a change in the event shapes is a change here only.
//
// Runs on the thread driving the reactor, while the reactor delivers the events of one
// connection; borrowed payloads are valid only during the call.

extension EngineBinding {
    func handle(_ event: ReactorEvent<ConnectionEvent>, reactor: Reactor<ConnectionReactor.Machine>) {
        switch event {
        case .connected:
            break
        case .closed(let error):
            transportClosed(error)
        case .connection(let event):
            handle(event, reactor)
        }
    }

    private func handle(_ event: ConnectionEvent, _ reactor: Reactor<ConnectionReactor.Machine>) {
        switch event {
        case .stateChanged(let from, let to):
            if to == .discarding || to.isFinal, let id, let failure = reactor.inspectInner(id, { $0.failure }) {
                // Store the error before the state moves, so that whoever sees the new
                // state also sees why. In DISCARDING the engine found a fault and may wait
                // long for the peer's answer to its error CLOSE. At END or ERROR the
                // `.closed` event that carries the error comes after this one: a caller
                // that polls `state` and then reads `error` (CI saw it, under ASan) found
                // a final state with no error in between.
                core.engineEnded(self, failure)
            }
            core.stateChanged(self, from: from, to: to)
        case .saslOutcome(let outcome):
            if outcome.code != .ok { core.saslFailed(self, outcome) }
        case .authenticated:
            break
        case .remoteOpen(let open):
            core.remoteOpened(self, open)
        case .remoteClose(let error):
            core.remoteClosed(self, error)
        case .closed(let error):
            core.engineEnded(self, error)
        case .session(let event):
            handle(event, reactor)
        case .link(let event):
            handle(event, reactor)
        case .trace(let line):
            tracer?.log(trace: line)
        }
    }

    private func handle(_ event: SessionEvent, _ reactor: Reactor<ConnectionReactor.Machine>) {
        switch event {
        case .remoteBegin(let id, _):
            // A client does not serve sessions the peer begins: refuse (BEGIN then END).
            _ = withEngine(reactor) {
                $0.endSession(id, error: AMQPError(condition: .notAllowed, description: "this client does not accept sessions begun by the peer"))
            }
        case .begun(let id, _):
            sessions[id]?.begun()
        case .ended(let id, let error):
            sessions.removeValue(forKey: id)?.ended(error.map(policy.sessionError))
        }
    }

    private func handle(_ event: LinkEvent, _ reactor: Reactor<ConnectionReactor.Machine>) {
        switch event {
        case .remoteAttach(let id, _):
            _ = withEngine(reactor) {
                $0.detachLink(id, error: AMQPError(condition: .notAllowed, description: "this client does not accept links attached by the peer"))
            }
        case .attached(let id, let attach):
            senders[id]?.attached(refused: attach.target == nil)
            receivers[id]?.attached(refused: attach.source == nil)
        case .detached(let id, _, let error):
            // A link that ends because the connection did (the transport died, or the
            // peer's CLOSE, which the engine reports before the links it ends) reports
            // the connection's error: that is what happened, and what to retry. (Before,
            // a broker shutting down surfaced on every send as "the peer detached the
            // link".)
            let connectionEnded = core.peerClosed(self)
            // A connection error carries what TLS or WebSocket reported, as the
            // connection's own error does: a certificate the client refused fails a
            // pending send for good, not "retrying".
            let failure = error.map {
                $0.origin == .transport || connectionEnded
                    ? ConnectionCore.withTLS(policy.connectionError($0), self) : policy.linkError($0)
            }
            senders.removeValue(forKey: id)?.ended(failure)
            receivers.removeValue(forKey: id)?.ended(failure)
        case .delivery(let id, let delivery):
            guard let receiver = receivers[id] else { return }
            delivery.payload.withUnsafeBytes { bytes in
                receiver.delivered(
                    number: delivery.id, tag: delivery.tag, settled: delivery.settled, bytes: bytes,
                    reactor: reactor, binding: self)
            }
        case .outcomes(let id, let handles, let state, let settled):
            // A non-final state (`received`) or an outcome still awaiting the settle is
            // not the end of the send.
            guard settled, let sender = senders[id] else { return }
            for handle in handles { sender.settled(handle, state: state) }
        case .lost(let id, let handle, let sent):
            senders[id]?.lost(handle, sent: sent)
        case .drained(let id):
            // A receiver's drain answered (senders' drains are the engine's business).
            receivers[id]?.drained()
        case .credit, .available, .aborted, .remoteSettled, .deliveryChunk:
            // Credit is the engine's business for senders, and receivers here keep a
            // prefetch window whatever the sender has available; they neither stream
            // nor use second-mode settlement yet.
            break
        }
    }
}
