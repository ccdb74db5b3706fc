import AMQPCodec
import AMQPEngine
import AMQPTesting
import Testing

// The hints a link's ends give each other beyond credit: a sender's `batchable` on
// TRANSFER (part 2, section 2.7.5) and its count of deliveries `available` on FLOW
// (section 2.6.7). Not hostile, but scripted the same way: run by HostilePeerTests with
// the setup of HostileSessionCases.swift.

/// A FLOW from the sending peer about the setup's link, saying `available`.
private func availableFlow(_ available: UInt32?, deliveryCount: UInt32 = 0) -> [UInt8] {
    peerFrame(.flow(Flow(
        nextIncomingID: 0, incomingWindow: 1_000, nextOutgoingID: 0, outgoingWindow: 1_000, handle: setupHandle,
        deliveryCount: deliveryCount, linkCredit: 0, available: available)))
}

extension HostileCase {
    package static let hintCases: [HostileCase] = [
        HostileCase(
            "a batchable send says so on its TRANSFER; others leave the field out", at: .opened, setup: .sender(credit: 10),
            send: [],
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                try peer.perform { e in
                    _ = try? e.send(on: link, payload: [1, 2, 3])
                    _ = try? e.send(on: link, payload: [4, 5, 6], batchable: true)
                    _ = try? e.send(on: link, payload: [7, 8, 9], settled: true, batchable: true)
                }
                // Byte for byte as encoded with the field at its default (left out, being
                // trailing) or set.
                func expected(_ id: UInt32, settled: Bool, batchable: Bool) -> Int {
                    FrameBytes.frame(
                        .transfer(Transfer(
                            handle: 0, deliveryID: id, deliveryTag: DeliveryTag(UInt64(id)), messageFormat: 0,
                            settled: settled ? true : nil, batchable: batchable)),
                        channel: 0, payload: [1, 2, 3]
                    ).count
                }
                let plain = try peer.expectFrame("TRANSFER(0) without batchable") {
                    if case .amqp(0, .transfer(let t), _) = $0 { return t.deliveryID == 0 && !t.batchable }
                    return false
                }
                #expect(plain.byteCount == expected(0, settled: false, batchable: false))
                let batched = try peer.expectFrame("TRANSFER(1, batchable)") {
                    if case .amqp(0, .transfer(let t), _) = $0 { return t.deliveryID == 1 && t.batchable && t.settled != true && !t.more }
                    return false
                }
                #expect(batched.byteCount == expected(1, settled: false, batchable: true))
                #expect(batched.byteCount > plain.byteCount)
                let settled = try peer.expectFrame("TRANSFER(2, settled, batchable)") {
                    if case .amqp(0, .transfer(let t), _) = $0 { return t.deliveryID == 2 && t.batchable && t.settled == true }
                    return false
                }
                #expect(settled.byteCount == expected(2, settled: true, batchable: true))
                // A delivery in several frames says it on its first (the specification
                // makes that hold for all of them); the others carry no more than before.
                try peer.perform { _ = try? $0.send(on: link, payload: [UInt8](repeating: 7, count: 100_000), batchable: true) }
                try peer.expectFrame("TRANSFER(3, batchable, more)") {
                    if case .amqp(0, .transfer(let t), _) = $0 { return t.deliveryID == 3 && t.batchable && t.more }
                    return false
                }
                #expect(peer.pendingFrames.count >= 1)
                for f in peer.pendingFrames {
                    guard case .amqp(0, .transfer(let t), _) = f.frame else {
                        Issue.record("expected a TRANSFER, got \(f)")
                        continue
                    }
                    #expect(t.deliveryID == 3 && !t.batchable && t.deliveryTag == nil)
                }
                peer.skipFrames(peer.pendingFrames.count)
            }),
        HostileCase(
            "FLOW's available reaches a receiver when it changes", at: .opened, setup: .receiver(), send: [],
            expect: .recovers { peer, context in
                let link = try #require(context.link)
                #expect(peer.engine.available(on: link) == nil)
                // A first count of 0 is known, but no news.
                try peer.send(bytes: availableFlow(0))
                #expect(peer.engine.available(on: link) == 0)
                #expect(!peer.events.linkSummaries.contains { $0.hasPrefix("available:") })
                try peer.send(bytes: availableFlow(7) + availableFlow(7) + availableFlow(nil) + availableFlow(2))
                let reported = peer.events.linkSummaries.filter { $0.hasPrefix("available:") }
                #expect(reported == ["available:7", "available:2"])
                #expect(peer.engine.available(on: link) == 2)
                try peer.send(bytes: availableFlow(0))
                #expect(peer.events.linkSummaries.last == "available:0")
                #expect(peer.engine.available(on: link) == 0)
            }),
        HostileCase(
            "FLOW's available before we accept the link comes with attached", at: .opened, setup: .session(),
            send: peerAttach("late", handle: setupHandle) + availableFlow(4),
            expect: .recovers { peer, _ in
                var requested: LinkID? = nil
                for case .link(.remoteAttach(let id, _)) in peer.events.events { requested = id }
                let id = try #require(requested)
                #expect(peer.events.linkSummaries.last == "remoteAttach:late")
                #expect(peer.engine.available(on: id) == 4)
                try peer.perform { try? $0.acceptLink(id, configuration: .receiver(name: "late", from: "q", credit: .manual)) }
                peer.skipFrames(peer.pendingFrames.count)
                #expect(peer.events.linkSummaries.suffix(2) == ["attached:late", "available:4"])
            }),
    ]
}
