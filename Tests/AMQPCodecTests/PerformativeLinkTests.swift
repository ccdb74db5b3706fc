// attach and detach, and the composites an attach carries: source, target, coordinator,
// lifetime policies. Byte derivations use the format codes listed at the top of
// PerformativeCodingTests.swift.

import AMQPCodec
import Testing

let fullSource = Source(
    address: "queue/a", durable: .unsettledState, expiryPolicy: .never, timeout: 3600, dynamic: true,
    dynamicNodeProperties: ["lifetime-policy": LifetimePolicy.deleteOnNoLinks.value, "supported-dist-modes": .symbol("move")],
    distributionMode: .copy,
    filter: ["apache.org:selector-filter:string": .described(descriptor: .ulong(0x0000_468C_0000_0004), value: .string("a = 1")),
             "none": .null],
    defaultOutcome: .modified(deliveryFailed: true, undeliverableHere: false, messageAnnotations: ["x-opt-a": .int(1)]),
    outcomes: ["amqp:accepted:list", "amqp:rejected:list"], capabilities: ["queue"])

let fullTarget = Target(
    address: "topic/b", durable: .configuration, expiryPolicy: .connectionClose, timeout: 1, dynamic: true,
    dynamicNodeProperties: ["lifetime-policy": LifetimePolicy.deleteOnClose.value], capabilities: ["topic", "shared"])

@Suite struct PerformativeLinkTests {
    // MARK: attach

    @Test func attachRoundTripsWithEveryField() throws {
        try expectRoundTrip(Attach(
            name: "link-1", handle: 7, role: .sender, sndSettleMode: .unsettled, rcvSettleMode: .second,
            source: fullSource, target: .target(fullTarget),
            unsettled: [.binary([1, 2]): .described(descriptor: .ulong(0x24), value: .list([])), .binary([3]): .null],
            incompleteUnsettled: true, initialDeliveryCount: 42, maxMessageSize: 1 << 40,
            offeredCapabilities: ["o"], desiredCapabilities: ["d1", "d2"], properties: ["p": .symbol("v")]))
        try expectRoundTrip(Attach(
            name: "txn", handle: 1, role: .sender, source: Source(),
            target: .coordinator(Coordinator(capabilities: [Coordinator.localTransactions])), initialDeliveryCount: 0))
    }

    @Test func attachWithOnlyMandatoryFields() throws {
        // a1 01 6c   name: str8 "l"
        // 43         handle: uint0
        // 41         role: true (receiver)
        // 5 bytes, size 6, 3 fields.
        try expectWire(Attach(name: "l", handle: 0, role: .receiver), hexBytes("00 53 12 c0 06 03 a1 01 6c 43 41"))
        // A sender must carry initial-delivery-count (field 10): role false (42), six
        // nulls, then uint0: 3 + 1 + 1 + 6 + 1 = 12 bytes, size 13, 10 fields.
        try expectWire(
            Attach(name: "l", handle: 0, role: .sender, initialDeliveryCount: 0),
            hexBytes("00 53 12 c0 0d 0a a1 01 6c 43 42 40 40 40 40 40 40 43"))
    }

    @Test func attachOmitsTrailingDefaults() throws {
        #expect(try encodedBytes(Attach(name: "l", handle: 0, role: .receiver, sndSettleMode: .mixed, rcvSettleMode: .first))
            == hexBytes("00 53 12 c0 06 03 a1 01 6c 43 41"))
        // rcv-settle-mode second: snd-settle-mode null (40), then ubyte 1 (50 01).
        try expectWire(
            Attach(name: "l", handle: 0, role: .receiver, rcvSettleMode: .second),
            hexBytes("00 53 12 c0 09 05 a1 01 6c 43 41 40 50 01"))
    }

    @Test func attachMissingFields() {
        expectDecodeError(Attach.self, hexBytes("00 53 12 45"), .missingMandatoryField, detail: "attach.name")
        expectDecodeError(Attach.self, hexBytes("00 53 12 c0 05 02 a1 01 6c 40"), .missingMandatoryField, detail: "attach.handle")
        expectDecodeError(Attach.self, hexBytes("00 53 12 c0 06 03 a1 01 6c 43 40"), .missingMandatoryField, detail: "attach.role")
    }

    @Test func senderAttachNeedsInitialDeliveryCount() {
        // role false and nothing after it.
        expectDecodeError(
            Attach.self, hexBytes("00 53 12 c0 06 03 a1 01 6c 43 42"), .missingMandatoryField,
            detail: "attach.initial-delivery-count")
        expectInvalidOnEncode(Attach(name: "l", handle: 0, role: .sender), detail: "attach.initial-delivery-count")
    }

    @Test func attachFieldsOfTheWrongType() {
        // role as ubyte 1 (50 01): 3 + 1 + 2 = 6, size 7.
        expectDecodeError(Attach.self, hexBytes("00 53 12 c0 07 03 a1 01 6c 43 50 01"), .unexpectedType, detail: "attach.role")
        // handle as smallulong 1 (53 01).
        expectDecodeError(Attach.self, hexBytes("00 53 12 c0 07 03 a1 01 6c 53 01 41"), .unexpectedType, detail: "attach.handle")
        // source as a plain list0 rather than a described source: 3+1+1+1+1+1 = 8, size 9.
        expectDecodeError(Attach.self, hexBytes("00 53 12 c0 09 06 a1 01 6c 43 41 40 40 45"), .unexpectedType, detail: "attach.source")
        // target described as a source (0x28): 3+1+1+1+1+1+4 = 12, size 13.
        expectDecodeError(
            Attach.self, hexBytes("00 53 12 c0 0d 07 a1 01 6c 43 41 40 40 40 00 53 28 45"), .unexpectedDescriptor,
            detail: "attach.target")
    }

    @Test func attachUnknownSettleModes() {
        // snd-settle-mode ubyte 3: 3 + 1 + 1 + 2 = 7, size 8.
        let snd = decodeCompositeError(Attach.self, hexBytes("00 53 12 c0 08 04 a1 01 6c 43 41 50 03"))
        #expect(snd?.code == .invalidFieldValue)
        #expect(snd?.detail.contains("attach.snd-settle-mode") == true)
        #expect(snd?.condition == .invalidField)
        // rcv-settle-mode ubyte 2, after a null snd-settle-mode.
        expectDecodeError(
            Attach.self, hexBytes("00 53 12 c0 09 05 a1 01 6c 43 41 40 50 02"), .invalidFieldValue, detail: "attach.rcv-settle-mode")
    }

    // MARK: detach

    @Test func detachRoundTrips() throws {
        try expectRoundTrip(Detach(handle: .max, closed: true, error: AMQPError(condition: ErrorCondition("amqp:link:detach-forced"))))
        // handle 0 alone: c0 02 01 43.
        try expectWire(Detach(handle: 0), hexBytes("00 53 16 c0 02 01 43"))
        // handle 2 (52 02) and closed (41): 3 bytes, size 4.
        try expectWire(Detach(handle: 2, closed: true), hexBytes("00 53 16 c0 04 02 52 02 41"))
        #expect(try encodedBytes(Detach(handle: 0, closed: false)) == hexBytes("00 53 16 c0 02 01 43"))
    }

    @Test func detachErrors() {
        expectDecodeError(Detach.self, hexBytes("00 53 16 45"), .missingMandatoryField, detail: "detach.handle")
        expectDecodeError(Detach.self, hexBytes("00 53 16 c0 04 02 43 50 01"), .unexpectedType, detail: "detach.closed")
    }

    // MARK: source

    @Test func sourceRoundTrips() throws {
        try expectRoundTrip(fullSource)
        try expectRoundTrip(Source(distributionMode: .other("x-custom"), defaultOutcome: .rejected(nil)))
        try expectRoundTrip(Source(distributionMode: .move, defaultOutcome: .declared(txnID: [9])))
        // Nothing set: no fields.
        try expectWire(Source(), hexBytes("00 53 28 45"))
        // address "q": c0 04 01 a1 01 71.
        try expectWire(Source(address: "q"), hexBytes("00 53 28 c0 04 01 a1 01 71"))
    }

    @Test func sourceOmitsDefaultsAndKeepsOthers() throws {
        #expect(try encodedBytes(Source(durable: .none, expiryPolicy: .sessionEnd, timeout: 0, dynamic: false))
            == hexBytes("00 53 28 45"))
        // expiry-policy never: two nulls, then sym8 "never" (a3 05 + 5): 9 bytes, size 10.
        try expectWire(Source(expiryPolicy: .never), hexBytes("00 53 28 c0 0a 03 40 40 a3 05") + Array("never".utf8))
    }

    @Test func sourceUnknownValues() {
        // durable smalluint 3: 40 52 03, size 4.
        expectDecodeError(Source.self, hexBytes("00 53 28 c0 04 02 40 52 03"), .invalidFieldValue, detail: "source.durable")
        // expiry-policy sym8 "forever": 1 + 1 + 9 = 11, size 12.
        expectDecodeError(
            Source.self, hexBytes("00 53 28 c0 0c 03 40 40 a3 07") + Array("forever".utf8), .invalidFieldValue,
            detail: "source.expiry-policy")
        // expiry-policy as str8 "never".
        expectDecodeError(
            Source.self, hexBytes("00 53 28 c0 0a 03 40 40 a1 05") + Array("never".utf8), .unexpectedType,
            detail: "source.expiry-policy")
        // address as sym8 "q".
        expectDecodeError(Source.self, hexBytes("00 53 28 c0 04 01 a3 01 71"), .unexpectedType, detail: "source.address")
    }

    @Test func sourceOutcomesAcceptOneSymbol() throws {
        // outcomes is field 10: nine nulls, then sym8 "amqp:accepted:list" (2 + 18 bytes):
        // 29 bytes, size 30, 10 fields.
        let bytes = hexBytes("00 53 28 c0 1e 0a 40 40 40 40 40 40 40 40 40 a3 12") + Array("amqp:accepted:list".utf8)
        #expect(try decodeComposite(Source.self, bytes).outcomes == ["amqp:accepted:list"])
    }

    @Test func sourceNodePropertiesNeedDynamic() {
        // dynamic-node-properties (field 6) as an empty map8 (c1 01 00), dynamic absent.
        expectDecodeError(
            Source.self, hexBytes("00 53 28 c0 09 06 40 40 40 40 40 c1 01 00"), .invalidFieldValue,
            detail: "source.dynamic-node-properties")
        expectInvalidOnEncode(Source(dynamicNodeProperties: [:]), detail: "source.dynamic-node-properties")
    }

    @Test func sourceDefaultOutcomeMustBeAnOutcome() {
        // default-outcome (field 9) as received(0, 0): 00 53 23 c0 03 02 43 44 (uint0,
        // ulong0): 8 nulls + 8 bytes = 16, size 17.
        expectDecodeError(
            Source.self, hexBytes("00 53 28 c0 11 09 40 40 40 40 40 40 40 40 00 53 23 c0 03 02 43 44"), .invalidFieldValue,
            detail: "source.default-outcome")
        expectInvalidOnEncode(
            Source(defaultOutcome: .received(sectionNumber: 0, sectionOffset: 0)), detail: "source.default-outcome")
    }

    // MARK: target, coordinator, lifetime policies

    @Test func targetRoundTrips() throws {
        try expectRoundTrip(fullTarget)
        try expectWire(Target(), hexBytes("00 53 29 45"))
        try expectWire(Target(address: "q"), hexBytes("00 53 29 c0 04 01 a1 01 71"))
        expectInvalidOnEncode(Target(dynamicNodeProperties: ["a": .null]), detail: "target.dynamic-node-properties")
        // durable smalluint 7.
        expectDecodeError(Target.self, hexBytes("00 53 29 c0 04 02 40 52 07"), .invalidFieldValue, detail: "target.durable")
    }

    @Test func attachTargetDispatchesOnDescriptor() throws {
        try expectWire(AttachTarget.target(Target()), hexBytes("00 53 29 45"))
        try expectWire(AttachTarget.coordinator(Coordinator()), hexBytes("00 53 30 45"))
        expectDecodeError(AttachTarget.self, hexBytes("00 53 28 45"), .unexpectedDescriptor, detail: "attach.target")
    }

    @Test func coordinatorRoundTrips() throws {
        // capabilities: array8 of one sym8 "amqp:local-transactions" (23 bytes):
        // e0 1a 01 a3 17 … (size 26 = count + constructor + 1 + 23); the list holds 28 bytes.
        let bytes = hexBytes("00 53 30 c0 1d 01 e0 1a 01 a3 17") + Array("amqp:local-transactions".utf8)
        try expectWire(Coordinator(capabilities: [Coordinator.localTransactions]), bytes)
        try expectRoundTrip(Coordinator(capabilities: [Coordinator.multipleTransactionsPerSession, Coordinator.promotableTransactions]))
    }

    @Test func lifetimePolicies() throws {
        for (policy, code) in [(LifetimePolicy.deleteOnClose, 0x2b), (.deleteOnNoLinks, 0x2c), (.deleteOnNoMessages, 0x2d),
                               (.deleteOnNoLinksOrMessages, 0x2e)] as [(LifetimePolicy, UInt8)] {
            try expectWire(policy, [0x00, 0x53, code, 0x45])
            #expect(LifetimePolicy(policy.value) == policy)
        }
        // A symbolic descriptor, as some peers send it.
        #expect(LifetimePolicy(.described(descriptor: .symbol("amqp:delete-on-no-messages:list"), value: .list([])))
            == .deleteOnNoMessages)
        #expect(LifetimePolicy(.described(descriptor: .ulong(0x24), value: .list([]))) == nil)
        #expect(LifetimePolicy(.string("delete-on-close")) == nil)
        expectDecodeError(LifetimePolicy.self, hexBytes("00 53 24 45"), .unexpectedDescriptor, detail: "lifetime-policy")

        var properties = Fields()
        properties.lifetimePolicy = .deleteOnClose
        #expect(properties["lifetime-policy"] == .described(descriptor: .ulong(0x2b), value: .list([])))
        let source = try decodeComposite(Source.self, try encodedBytes(Source(dynamic: true, dynamicNodeProperties: properties)))
        #expect(source.dynamicNodeProperties?.lifetimePolicy == .deleteOnClose)
        properties.lifetimePolicy = nil
        #expect(properties.isEmpty)
    }
}
