import AMQPCodec
import AMQPEngine
import AMQPTesting

// A hostile case as a script for the evil peer on a real socket, playing the server to a
// client engine: the conversation up to the case's stage and setup (as HostilePeerTests
// plays it in memory), the strike, then a peer that answers END, DETACH and CLOSE.

/// How the strike's bytes go out.
package enum StrikeDelivery: String, Sendable, CaseIterable {
    /// In one write.
    case whole
    /// One byte per write, each in a segment of its own.
    case trickle
}

extension HostileCase {
    /// The evil peer's script against a client engine from `configuration(.client)`.
    package func evilScript(_ delivery: StrikeDelivery = .whole) -> [EvilStep] {
        var steps: [EvilStep] = [.header]
        if sasl {
            guard stage > .start else { return steps + strike(delivery) }
            steps.append(.send(ProtocolHeader.sasl.bytes))
            guard stage > .saslHeaders else { return steps + strike(delivery) }
            steps.append(.send(FrameBytes.frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"])))))
            steps.append(.sasl("saslInit"))
            guard stage > .saslInitSent else { return steps + strike(delivery) }
            steps.append(.send(FrameBytes.frame(.saslOutcome(SASLOutcome(code: .ok)))))
            guard stage > .saslDone else { return steps + strike(delivery) }
            steps.append(.header)
        }
        guard stage > .start else { return steps + strike(delivery) }
        steps.append(.send(ProtocolHeader.amqp.bytes))
        guard stage > .headers else { return steps + strike(delivery) }
        steps.append(.performative("open"))
        steps.append(.send(FrameBytes.frame(.open(peerOpen()))))
        return steps + setupAnswers() + strike(delivery)
    }

    /// The peer's side of the setup: BEGIN for BEGIN, ATTACH for each ATTACH, credit, and
    /// waiting for the deliveries the engine sends.
    private func setupAnswers() -> [EvilStep] {
        guard setup.session != nil else { return [] }
        var steps: [EvilStep] = [.performative("begin"), .send(FrameBytes.frame(.begin(setup.peerBegin), channel: HostileSetup.peerChannel))]
        guard let link = setup.link else { return steps }
        for k in 0..<setup.linkCount {
            let peerRole: Role = link.role == .sender ? .receiver : .sender
            var name = link.name
            if k > 0 { name += "-\(k)" }
            steps.append(.performative("attach"))
            steps.append(.send(FrameBytes.frame(
                .attach(Attach(
                    name: name, handle: HostileSetup.peerHandle + UInt32(k), role: peerRole, source: link.source, target: link.target,
                    initialDeliveryCount: peerRole == .sender ? 0 : nil)),
                channel: HostileSetup.peerChannel)))
        }
        if setup.credit > 0 {
            steps.append(.send(FrameBytes.frame(
                .flow(Flow(
                    nextIncomingID: 0, incomingWindow: 1_000, nextOutgoingID: 0, outgoingWindow: 1_000,
                    handle: HostileSetup.peerHandle, deliveryCount: 0, linkCredit: setup.credit)),
                channel: HostileSetup.peerChannel)))
        }
        for _ in 0..<setup.deliveries { steps.append(.performative("transfer")) }
        return steps
    }

    private func strike(_ delivery: StrikeDelivery) -> [EvilStep] {
        let bytes = input(.client)
        return [delivery == .whole ? .send(bytes) : .trickle(bytes), .answer]
    }

    /// The steps of `evilScript` before the strike: the strike is the next to last.
    package var strikeStep: Int { evilScript().count - 2 }
}
