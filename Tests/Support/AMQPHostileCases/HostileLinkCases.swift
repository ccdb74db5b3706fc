import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// What a hostile (or merely broken) peer can do to the link layer (ATTACH, DETACH,
// TRANSFER, FLOW, DISPOSITION), and what the engine must answer. Helpers and the shape of
// the setup are in HostileSessionCases.swift.

private let str8R: [UInt8] = [0xA1, 1, 0x72]  // "r"
private let redirect = AMQPError(
    condition: .linkRedirect, description: "moved to the other node",
    info: ["network-host": .string("other.example"), "port": .int(5671), "hostname": .string("other"), "address": .string("q2")])

extension HostileCase {
    // MARK: ATTACH and DETACH

    package static let attachCases: [HostileCase] = [
        HostileCase(
            "ATTACH beyond handle-max", at: .opened, setup: .session(handleMax(7)), send: peerAttach("far", handle: 8),
            expect: .closes(.framingError, "ATTACH with handle 8, above handle-max 7")),
        HostileCase(
            "ATTACH on a handle in use", at: .opened, setup: .receiver(), send: peerAttach("other", handle: setupHandle),
            expect: .endsSession(.handleInUse, "ATTACH on handle 3, which is in use")),
        HostileCase(
            "ATTACH without a name", at: .opened, setup: .session(), send: peerRawAttach([[0x40], [0x52, 1], [0x41]]),
            expect: .closes(.decodeError, "attach.name")),
        HostileCase(
            "ATTACH without a role", at: .opened, setup: .session(), send: peerRawAttach([str8R, [0x52, 1]]),
            expect: .closes(.decodeError, "attach.role")),
        HostileCase(
            "ATTACH as sender without initial-delivery-count", at: .opened, setup: .session(),
            send: peerRawAttach([str8R, [0x52, 1], [0x42]]), expect: .closes(.decodeError, "attach.initial-delivery-count")),
        HostileCase(
            "ATTACH with our own role answers nothing: it is another link", at: .opened, setup: .session(), send: [],
            expect: .recovers { peer, context in
                // Names identify a link together with its direction (part 2, section
                // 2.6.1): the peer's receiver "x" is not the answer to our receiver "x".
                let session = try #require(context.session)
                var ours: LinkID? = nil
                try peer.perform { ours = try? $0.attachLink(session: session, .receiver(name: "x", from: "q", credit: .manual)) }
                peer.skipFrames(peer.pendingFrames.count)
                try peer.send(bytes: peerFrame(.attach(Attach(name: "x", handle: 4, role: .receiver, source: Source(address: "q")))))
                #expect(peer.events.linkSummaries.suffix(1) == ["remoteAttach:x"])
                let ourLink = try #require(ours)
                #expect(!peer.engine.isAttached(ourLink))
                #expect(peer.engine.footprint.links == 2)
            }),
        HostileCase(
            "answers to a name the application attached twice", at: .opened, setup: .session(), send: [],
            expect: .recovers { peer, context in
                // Not the peer's doing, but pairing must still answer the first waiting
                // link first, and the name must be free once both are gone.
                let session = try #require(context.session)
                var ours: [LinkID] = []
                try peer.perform { e in
                    for _ in 0..<2 { if let l = try? e.attachLink(session: session, .receiver(name: "dup", from: "q", credit: .manual)) { ours.append(l) } }
                }
                peer.skipFrames(peer.pendingFrames.count)
                try #require(ours.count == 2)
                try peer.send(bytes: peerAttach("dup", handle: 10))
                #expect(peer.engine.isAttached(ours[0]) && !peer.engine.isAttached(ours[1]))
                try peer.send(bytes: peerAttach("dup", handle: 11))
                #expect(peer.engine.isAttached(ours[1]))
                try peer.send(bytes: peerFrame(.detach(Detach(handle: 10, closed: true))))
                try peer.perform { $0.detachLink(ours[1]) }
                try peer.send(bytes: peerFrame(.detach(Detach(handle: 11, closed: true))))
                peer.skipFrames(peer.pendingFrames.count)
                #expect(peer.engine.footprint.links == 0)
                try peer.send(bytes: peerAttach("dup", handle: 12))
                #expect(peer.events.linkSummaries.last == "remoteAttach:dup")
            }),
        HostileCase(
            "more links than the peer's own handle-max", at: .opened,
            setup: .session(peerBegin: Begin(remoteChannel: 0, nextOutgoingID: 0, incomingWindow: 10, outgoingWindow: 10, handleMax: 1)),
            send: peerAttach("a", handle: 0) + peerAttach("b", handle: 1) + peerAttach("c", handle: 2),
            expect: .endsSession(.resourceLimitExceeded, "no free handle up to the peer's handle-max 1")),
        HostileCase(
            "DETACH on an unattached handle", at: .opened, setup: .receiver(), send: peerFrame(.detach(Detach(handle: 9, closed: true))),
            expect: .endsSession(.unattachedHandle, "DETACH on handle 9, which is not attached")),
        HostileCase(
            "FLOW on an unattached handle", at: .opened, setup: .receiver(),
            send: peerFrame(.flow(Flow(nextIncomingID: 0, incomingWindow: 10, nextOutgoingID: 0, outgoingWindow: 10, handle: 9, linkCredit: 5))),
            expect: .endsSession(.unattachedHandle, "FLOW on handle 9, which is not attached")),
        HostileCase(
            "TRANSFER on an unattached handle", at: .opened, setup: .receiver(), send: peerTransfer(0, on: 9),
            expect: .endsSession(.unattachedHandle, "TRANSFER on handle 9, which is not attached")),
        HostileCase(
            "DETACH with closed=false, then the same link again", at: .opened, setup: .receiver(),
            send: peerFrame(.detach(Detach(handle: setupHandle, closed: false))),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                try peer.expectPerformative("DETACH(closed: false)", channel: 0) {
                    if case .detach(let d) = $0 { return d.handle == 0 && !d.closed && d.error == nil }
                    return false
                }
                #expect(peer.events.linkDetaches.last?.0 == link && peer.events.linkDetaches.last?.1 == nil)
                #expect(peer.engine.footprint.links == 0)
                // The engine keeps no link state for resuming: the link comes back as new.
                try peer.send(bytes: peerAttach("r", handle: setupHandle))
                var again: LinkID? = nil
                for case .link(.remoteAttach(let id, _)) in peer.events.events { again = id }
                let id = try #require(again)
                try peer.perform { try? $0.acceptLink(id) }
                try peer.expectPerformative("ATTACH(r, receiver)", channel: 0) {
                    if case .attach(let a) = $0 { return a.name == "r" && a.role == .receiver && a.handle == 0 }
                    return false
                }
                peer.skipFrames { if case .amqp(_, .flow, _) = $0 { true } else { false } }
                #expect(peer.engine.isAttached(id))
            }),
        HostileCase(
            "DETACH with a redirect reaches the application intact", at: .opened, setup: .receiver(),
            send: peerFrame(.detach(Detach(handle: setupHandle, closed: true, error: redirect))),
            expect: .recovers { peer, context in
                try peer.expectPerformative("DETACH(closed)", channel: 0) {
                    if case .detach(let d) = $0 { return d.handle == 0 && d.closed && d.error == nil }
                    return false
                }
                let detached = try #require(peer.events.linkDetaches.last)
                #expect(detached.0 == context.link)
                #expect(detached.1 == EngineError(redirect, origin: .remote))
                #expect(peer.engine.footprint.links == 0)
            }),
        HostileCase(
            "4,000 links attached at once", at: .opened, setup: .session(), maxEvents: 4_000,
            send: (0..<4_000).flatMap { peerAttach("l\($0)", handle: UInt32($0)) },
            expect: .recovers { peer, _ in
                // Each is paired by name and given a handle at a cost that does not grow
                // with the links already attached.
                #expect(peer.events.linkSummaries.filter { $0.hasPrefix("remoteAttach:") }.count == 4_000)
                #expect(peer.engine.footprint.links == 4_000)
            }),
        HostileCase(
            "links attached and detached 10,000 times", at: .opened, setup: .session(), maxEvents: 20_000, maxReplyBytes: 10_000 * 120,
            send: (0..<10_000).flatMap { _ in peerAttach("churn", handle: 7) + peerFrame(.detach(Detach(handle: 7, closed: true))) },
            expect: .recovers { peer, context in
                // Each is refused (null terminus, then DETACH) as the application never
                // accepted it; nothing of them is left.
                #expect(peer.events.linkSummaries.filter { $0 == "remoteAttach:churn" }.count == 10_000)
                #expect(peer.pendingFrames.count == 20_000)
                peer.skipFrames(peer.pendingFrames.count)
                #expect(peer.engine.footprint == context.baseline)
            }),
    ]

    // MARK: TRANSFER

    package static let transferCases: [HostileCase] = [
        HostileCase(
            "TRANSFER without credit", at: .opened, setup: .receiver(credit: .manual), send: peerTransfer(0),
            expect: .detachesLink(.transferLimitExceeded, "TRANSFER of delivery 0 without link credit")),
        // RabbitMQ 3.x overruns credit now and then (Docs/interop.md): a receiver may
        // allow some excess; it is taken as usual, and only what goes beyond is refused.
        HostileCase(
            "TRANSFERs without credit, within the overrun allowance", at: .opened,
            setup: .receiver(credit: .manual, overrunAllowance: 2), send: peerTransfer(0) + peerTransfer(1),
            expect: .recovers { peer, _ in
                #expect(peer.events.linkSummaries.suffix(2) == ["delivery:0", "delivery:1"])
                #expect(peer.events.linkSummaries.contains("detached") == false)
            }),
        HostileCase(
            "TRANSFERs without credit, beyond the overrun allowance", at: .opened,
            setup: .receiver(credit: .manual, overrunAllowance: 2), send: (0..<3).flatMap { peerTransfer(UInt32($0)) },
            expect: .detachesLink(.transferLimitExceeded, "TRANSFER of delivery 2 without link credit")),
        HostileCase(
            "TRANSFERs beyond the prefetch credit, before its top-up went out", at: .opened, setup: .receiver(credit: .prefetch(10)),
            send: (0..<11).flatMap { peerTransfer(UInt32($0)) },
            expect: .detachesLink(.transferLimitExceeded, "TRANSFER of delivery 10 without link credit")),
        HostileCase(
            "TRANSFER on a link not yet accepted", at: .opened, setup: .session(),
            send: peerAttach("early", handle: 4) + peerTransfer(0, on: 4),
            expect: .recovers { peer, _ in
                // No credit was granted: the link is refused (null target) and detached.
                try peer.expectPerformative("ATTACH(early, null target)", channel: 0) {
                    if case .attach(let a) = $0 { return a.name == "early" && a.target == nil }
                    return false
                }
                try peer.expectPerformative("DETACH(transfer-limit-exceeded)", channel: 0) {
                    if case .detach(let d) = $0 { return d.closed && d.error?.condition == .transferLimitExceeded }
                    return false
                }
                try peer.send(bytes: peerFrame(.detach(Detach(handle: 4, closed: true))))
                #expect(peer.events.linkDetaches.last?.1?.condition == .transferLimitExceeded)
                #expect(peer.engine.footprint.links == 0)
            }),
        HostileCase(
            "TRANSFER beyond the incoming window", at: .opened, setup: .receiver(credit: .prefetch(100), session: incomingWindow(4)),
            send: (0..<5).flatMap { peerTransfer($0) },
            expect: .endsSession(.windowViolation, "TRANSFER 4 beyond the incoming window")),
        HostileCase(
            "delivery-id out of sequence", at: .opened, setup: .receiver(credit: .prefetch(100)), send: peerTransfer(0) + peerTransfer(5),
            expect: .endsSession(.invalidField, "delivery-id 5 out of sequence: expected 1")),
        HostileCase(
            "the first TRANSFER without a delivery-id", at: .opened, setup: .receiver(credit: .prefetch(100)),
            send: peerTransfer(nil, payload: 1),
            expect: .endsSession(.invalidField, "the first TRANSFER of a delivery has no delivery-id")),
        HostileCase(
            "a continuation that changes the delivery-id", at: .opened, setup: .receiver(credit: .prefetch(100)),
            send: peerTransfer(0, more: true) + peerTransfer(1),
            expect: .endsSession(.invalidField, "continuation TRANSFER with delivery-id 1 during delivery 0")),
        HostileCase(
            "a continuation that changes the delivery-tag", at: .opened, setup: .receiver(credit: .prefetch(100)),
            send: peerTransfer(0, more: true) + peerTransfer(nil, tag: DeliveryTag(UInt64(99))),
            expect: .endsSession(.invalidField, "continuation TRANSFER with another delivery-tag during delivery 0")),
        HostileCase(
            "a continuation that changes the message-format", at: .opened, setup: .receiver(credit: .prefetch(100)),
            send: peerTransfer(0, more: true) + peerTransfer(nil, format: 0x8000_0001),
            expect: .endsSession(.invalidField, "continuation TRANSFER with message-format 2147483649 during delivery 0 (format 0)")),
        HostileCase(
            "a TRANSFER on a link where we are the sender", at: .opened, setup: .sender(credit: 10), send: peerTransfer(0),
            expect: .endsSession(.notAllowed, "TRANSFER on handle 3, where the peer is the receiver")),
        HostileCase(
            "a one-frame delivery above max-message-size", at: .opened, setup: .receiver(credit: .prefetch(10), maxMessageSize: 100),
            send: peerTransfer(0, payload: 150), expect: .detachesLink(.messageSizeExceeded, "delivery 0 reached 150 bytes, above max-message-size 100")),
        HostileCase(
            "a multi-frame delivery growing past max-message-size", at: .opened,
            setup: .receiver(credit: .prefetch(10), maxMessageSize: 100),
            send: peerTransfer(0, more: true, payload: 60) + peerTransfer(nil, more: true, payload: 60) + peerTransfer(nil, more: true, payload: 60) + peerTransfer(nil),
            expect: .detachesLink(.messageSizeExceeded, "delivery 0 reached 120 bytes, above max-message-size 100")),
        HostileCase(
            "an unfinished delivery held up to the buffered-bytes cap", at: .opened, setup: .receiver(credit: .prefetch(10)),
            configure: { $0.limits.maxBufferedDeliveryBytes = 1_000 },
            send: peerTransfer(0, more: true, payload: 100) + (1..<10).flatMap { _ in peerTransfer(nil, more: true, payload: 100) },
            expect: .recovers { peer, _ in
                #expect(peer.engine.footprint.bufferedDeliveryBytes == 1_000)
                // Aborting it gives every byte back.
                try peer.send(bytes: peerTransfer(nil, aborted: true))
                #expect(peer.events.linkSummaries.last == "aborted:0")
                #expect(peer.engine.footprint.bufferedDeliveryBytes == 0)
            }),
        HostileCase(
            "an unfinished delivery one byte beyond the buffered-bytes cap", at: .opened, setup: .receiver(credit: .prefetch(10)),
            configure: { $0.limits.maxBufferedDeliveryBytes = 1_000 },
            send: peerTransfer(0, more: true, payload: 100) + (1..<10).flatMap { _ in peerTransfer(nil, more: true, payload: 100) }
                + peerTransfer(nil, more: true, payload: 1),
            expect: .closes(.resourceLimitExceeded, "partly received deliveries exceed 1000 buffered bytes")),
        HostileCase(
            "unfinished deliveries on many links until the buffered-bytes cap", at: .opened,
            setup: HostileSetup(session: .init(), link: .receiver(name: "r", from: "q", credit: .prefetch(10)), linkCount: 8),
            configure: { $0.limits.maxBufferedDeliveryBytes = 4_000 },
            send: (0..<8).flatMap { k in
                peerTransfer(UInt32(k), more: true, payload: 300, on: setupHandle + UInt32(k)) + peerTransfer(nil, more: true, payload: 300, on: setupHandle + UInt32(k))
            },
            expect: .closes(.resourceLimitExceeded, "partly received deliveries exceed 4000 buffered bytes")),
        HostileCase(
            "aborted deliveries in a loop", at: .opened, setup: .receiver(credit: .prefetch(2_000)), maxEvents: 1_100,
            send: (0..<1_000).flatMap { peerTransfer(UInt32($0), more: true, payload: 200) + peerTransfer(nil, aborted: true) },
            expect: .recovers { peer, context in
                #expect(peer.events.linkSummaries.filter { $0.hasPrefix("aborted:") }.count == 1_000)
                peer.skipFrames { if case .amqp(_, .flow, _) = $0 { true } else { false } }
                var after = peer.engine.footprint
                after.queuedFrames = context.baseline.queuedFrames
                #expect(after == context.baseline)
            }),
        HostileCase(
            "unsettled deliveries the application never settles", at: .opened, setup: .receiver(credit: .prefetch(10)),
            maxEvents: 2_000, send: [],
            expect: .recovers { peer, _ in
                // The peer sends what each FLOW allows, and waits for the next one.
                var sent: UInt32 = 0
                while sent < 2_000 {
                    try peer.send(bytes: (sent..<sent + 5).flatMap { peerTransfer($0) })
                    sent += 5
                }
                // GAP: prefetch tops credit up as deliveries arrive, not as they are
                // settled, so what the application leaves unsettled is held (one 24-byte
                // entry each) for as long as the peer keeps sending. Bounded by the
                // application settling, not by the engine.
                peer.skipFrames { if case .amqp(_, .flow, _) = $0 { true } else { false } }
                #expect(peer.engine.footprint.unsettledIncoming == 2_000)
            }),
        HostileCase(
            "delivery-ids and transfer-ids wrapping around", at: .opened,
            setup: HostileSetup(
                session: incomingWindow(8),
                peerBegin: Begin(remoteChannel: 0, nextOutgoingID: .max - 1, incomingWindow: 10, outgoingWindow: 10),
                link: .receiver(name: "r", from: "q", credit: .prefetch(10))),
            send: peerTransfer(.max - 1) + peerTransfer(.max) + peerTransfer(0) + peerTransfer(1),
            expect: .recovers { peer, _ in
                #expect(peer.events.linkSummaries.suffix(4) == ["delivery:4294967294", "delivery:4294967295", "delivery:0", "delivery:1"])
                peer.skipFrames { if case .amqp(_, .flow, _) = $0 { true } else { false } }
            }),
    ]

    // MARK: FLOW and DISPOSITION

    package static let flowCases: [HostileCase] = [
        HostileCase(
            "DISPOSITION with first after last", at: .opened, setup: .sender(credit: 10, deliveries: 3),
            send: peerFrame(.disposition(Disposition(role: .receiver, first: 2, last: 0, settled: true, state: .accepted))),
            expect: .recovers { peer, context in
                // Serial order: 2…0 wraps through 2^32 − 1. Only ids at or after 2 in the
                // unsettled map are walked; nothing is spent on the ids in between.
                #expect(peer.events.outcomes == [context.sent[2]])
                #expect(peer.engine.footprint.unsettledOutgoing == 3)
            }),
        HostileCase(
            "DISPOSITION of 0…UInt32.max", at: .opened, setup: .sender(credit: 10, deliveries: 3),
            send: peerFrame(.disposition(Disposition(role: .receiver, first: 0, last: .max, settled: true, state: .accepted))),
            expect: .recovers { peer, context in
                #expect(peer.events.outcomes == context.sent)
                #expect(peer.engine.footprint.unsettledOutgoing == 0)
            }),
        HostileCase(
            "DISPOSITION for delivery ids never sent", at: .opened, setup: .sender(credit: 10, deliveries: 3),
            send: peerFrame(.disposition(Disposition(role: .receiver, first: 1_000, last: 2_000_000_000, settled: true)))
                + peerFrame(.disposition(Disposition(role: .sender, first: 0, last: .max, settled: true))),
            expect: .recovers { peer, context in
                #expect(peer.events.outcomes.isEmpty)
                #expect(peer.engine.footprint == context.baseline)
            }),
        HostileCase(
            "FLOW with link-credit UInt32.max", at: .opened, setup: .sender(), send: peerFlow(credit: .max),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                #expect(peer.engine.credit(on: link) == .max)
                #expect(peer.engine.sendable(on: link) == Int(UInt32.max))
                try peer.perform { for _ in 0..<3 { _ = try? $0.send(on: link, payload: [1]) } }
                #expect(peer.pendingFrames.count == 3)
                peer.skipFrames(3)
                #expect(peer.engine.credit(on: link) == UInt32.max - 3)
            }),
        HostileCase(
            "FLOW with the receiver's delivery-count far ahead", at: .opened, setup: .sender(),
            send: peerFlow(deliveryCount: 0x8000_0000, credit: 10),
            expect: .recovers { peer, context in
                // link-credit = delivery-count(rcv) + link-credit(rcv) − delivery-count(snd)
                // in serial arithmetic: 2^31 ahead is behind, so no credit at all.
                let link = try #require(context.link)
                #expect(peer.engine.credit(on: link) == 0)
            }),
        HostileCase(
            "FLOW with the sender's delivery-count far ahead", at: .opened, setup: .receiver(credit: .prefetch(10)),
            send: peerFlow(deliveryCount: 0x7FFF_FFFF),
            expect: .recovers { peer, context in
                // The sender says it used the credit without transfers: none is left.
                let link = try #require(context.link)
                #expect(peer.engine.credit(on: link) == 0)
            }),
        HostileCase(
            "drain on a sender with nothing queued", at: .opened, setup: .sender(), send: peerFlow(credit: 5, drain: true),
            expect: .recovers { peer, context in
                try peer.expectPerformative("FLOW(delivery-count: 5, link-credit: 0)", channel: 0) {
                    if case .flow(let f) = $0 { return f.handle == 0 && f.deliveryCount == 5 && f.linkCredit == 0 }
                    return false
                }
                #expect(peer.events.linkSummaries.suffix(2) == ["credit:5:drain", "drained"])
                let link = try #require(context.link)
                #expect(peer.engine.credit(on: link) == 0)
            }),
        HostileCase(
            "a storm of link FLOWs asking for echo", at: .opened, setup: .sender(credit: 1), maxEvents: 1_000,
            send: (0..<1_000).flatMap { _ in peerFlow(credit: 1, echo: true) },
            expect: .recovers { peer, _ in
                // However many ask, one FLOW answers what is pending.
                #expect(peer.pendingFrames.count == 1)
                try peer.expectPerformative("FLOW", channel: 0) { if case .flow(let f) = $0 { f.handle == 0 } else { false } }
            }),
        HostileCase(
            "a storm of session FLOWs asking for echo", at: .opened, setup: .session(),
            send: (0..<1_000).flatMap { _ in peerFlow(link: false, echo: true) },
            expect: .recovers { peer, _ in
                #expect(peer.pendingFrames.count == 1)
                try peer.expectPerformative("FLOW", channel: 0) { if case .flow(let f) = $0 { f.handle == nil } else { false } }
            }),
        HostileCase(
            "a session window of zero, forever", at: .opened, setup: .sender(credit: 100), send: peerFlow(incomingWindow: 0, credit: 100),
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                try peer.perform { for _ in 0..<50 { _ = try? $0.send(on: link, payload: [UInt8](repeating: 1, count: 100)) } }
                // Blocked: nothing to write, nothing to poll, nothing held but the queue.
                #expect(peer.pendingFrames.isEmpty)
                #expect(!peer.engine.hasPendingOutput)
                #expect(peer.engine.nextDeadline == nil)
                try peer.advance(byMilliseconds: 3_600_000)
                #expect(peer.pendingFrames.isEmpty)
                #expect(peer.engine.footprint.queuedDeliveries == 50)
                // A window of one lets exactly one frame through.
                try peer.send(bytes: peerFlow(incomingWindow: 1, credit: 100))
                #expect(peer.pendingFrames.count == 1)
                try peer.expectPerformative("TRANSFER", channel: 0) { if case .transfer = $0 { true } else { false } }
                #expect(peer.engine.footprint.queuedDeliveries == 49)
            }),
    ]
}
