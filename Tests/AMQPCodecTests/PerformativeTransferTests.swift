// The hot-path performatives (transfer, flow, disposition) and the delivery states they
// carry. Byte derivations use the format codes listed at the top of
// PerformativeCodingTests.swift.

import AMQPCodec
import Testing

let everyDeliveryState: [DeliveryState] = [
    .received(sectionNumber: 3, sectionOffset: 1 << 33),
    .accepted,
    .rejected(nil),
    .rejected(AMQPError(condition: ErrorCondition("amqp:decode-error"), description: "bad", info: ["n": .uint(1)])),
    .released,
    .modified(),
    .modified(deliveryFailed: true, undeliverableHere: true, messageAnnotations: ["x-opt-retry": .int(2)]),
    .declared(txnID: [0, 1, 2, 3]),
    .transactionalState(txnID: [7], outcome: nil),
    .transactionalState(txnID: [7], outcome: .modified(deliveryFailed: false, undeliverableHere: true)),
]

@Suite struct PerformativeTransferTests {
    // MARK: transfer

    @Test func transferRoundTripsWithEveryField() throws {
        for state in everyDeliveryState {
            try expectRoundTrip(Transfer(
                handle: 9, deliveryID: .max, deliveryTag: DeliveryTag(Array(repeating: 0xAB, count: 32)),
                messageFormat: 0x0153_4D00, settled: false, more: true, rcvSettleMode: .second, state: state,
                resume: true, aborted: true, batchable: true))
        }
    }

    @Test func transferWithOnlyTheHandle() throws {
        // handle 0 as uint0 (43); every other field absent: list8 size 2, 1 field.
        try expectWire(Transfer(handle: 0), hexBytes("00 53 14 c0 02 01 43"))
        #expect(try encodedBytes(Transfer(handle: 0, more: false, resume: false, aborted: false, batchable: false))
            == hexBytes("00 53 14 c0 02 01 43"))
    }

    @Test func transferBytes() throws {
        // 52 01        handle: smalluint 1
        // 52 05        delivery-id: smalluint 5
        // a0 02 74 31  delivery-tag: vbin8 "t1"
        // 43           message-format: uint0
        // 41           settled: true
        // 10 bytes, size 11, 5 fields.
        try expectWire(
            Transfer(handle: 1, deliveryID: 5, deliveryTag: DeliveryTag([0x74, 0x31]), messageFormat: 0, settled: true),
            hexBytes("00 53 14 c0 0b 05 52 01 52 05 a0 02 74 31 43 41"))
        // batchable alone: handle, nine nulls, true: 11 bytes, size 12, 11 fields.
        try expectWire(Transfer(handle: 0, batchable: true), hexBytes("00 53 14 c0 0c 0b 43 40 40 40 40 40 40 40 40 40 41"))
        // settled false is kept (it has no default); an explicit more=false decodes as false.
        try expectWire(Transfer(handle: 0, settled: false), hexBytes("00 53 14 c0 06 05 43 40 40 40 42"))
        #expect(try decodeComposite(Transfer.self, hexBytes("00 53 14 c0 07 06 43 40 40 40 40 42")) == Transfer(handle: 0))
    }

    @Test func transferErrors() {
        expectDecodeError(Transfer.self, hexBytes("00 53 14 45"), .missingMandatoryField, detail: "transfer.handle")
        expectDecodeError(Transfer.self, hexBytes("00 53 14 c0 02 01 40"), .missingMandatoryField, detail: "transfer.handle")
        // handle as smallulong.
        expectDecodeError(Transfer.self, hexBytes("00 53 14 c0 03 01 53 01"), .unexpectedType, detail: "transfer.handle")
        // delivery-tag as str8 "x": 1 + 1 + 3 = 5, size 6.
        expectDecodeError(Transfer.self, hexBytes("00 53 14 c0 06 03 43 40 a1 01 78"), .unexpectedType, detail: "transfer.delivery-tag")
        // rcv-settle-mode ubyte 2 after five nulls: 1 + 5 + 2 = 8, size 9.
        expectDecodeError(
            Transfer.self, hexBytes("00 53 14 c0 09 07 43 40 40 40 40 40 50 02"), .invalidFieldValue,
            detail: "transfer.rcv-settle-mode")
        // state described as a source (0x28): 1 + 6 + 4 = 11, size 12.
        expectDecodeError(
            Transfer.self, hexBytes("00 53 14 c0 0c 08 43 40 40 40 40 40 40 00 53 28 45"), .unexpectedDescriptor,
            detail: "delivery-state")
        // A 33-byte tag: vbin8 of 0x21 bytes; 1 + 1 + 35 = 37, size 38.
        let longTag = hexBytes("00 53 14 c0 26 03 43 40 a0 21") + Array(repeating: 0, count: 33)
        #expect(decodeCompositeError(Transfer.self, longTag)?.code == .deliveryTagTooLong)
    }

    // MARK: flow

    @Test func flowRoundTrips() throws {
        try expectRoundTrip(Flow(
            nextIncomingID: 1, incomingWindow: 2, nextOutgoingID: 3, outgoingWindow: 4, handle: 5, deliveryCount: 6,
            linkCredit: 7, available: 8, drain: true, echo: true, properties: ["k": .string("v")]))
        try expectRoundTrip(Flow(incomingWindow: .max, nextOutgoingID: .max, outgoingWindow: .max, echo: true))
        // Mandatory fields only: next-incoming-id null, then three uint0: size 5, 4 fields.
        try expectWire(Flow(incomingWindow: 0, nextOutgoingID: 0, outgoingWindow: 0), hexBytes("00 53 13 c0 05 04 40 43 43 43"))
    }

    @Test func flowBytes() throws {
        // 43               next-incoming-id: uint0
        // 70 00 00 08 00   incoming-window: uint 2048
        // 52 01            next-outgoing-id: smalluint 1
        // 70 ff ff ff ff   outgoing-window: uint 4294967295
        // 43               handle: uint0
        // 43               delivery-count: uint0
        // 52 64            link-credit: smalluint 100
        // 17 bytes, size 18, 7 fields; available, drain, echo, properties dropped.
        try expectWire(
            Flow(nextIncomingID: 0, incomingWindow: 2048, nextOutgoingID: 1, outgoingWindow: .max, handle: 0,
                 deliveryCount: 0, linkCredit: 100, drain: false, echo: false),
            hexBytes("00 53 13 c0 12 07 43 70 00 00 08 00 52 01 70 ff ff ff ff 43 43 52 64"))
    }

    @Test func flowErrors() {
        expectDecodeError(Flow.self, hexBytes("00 53 13 c0 02 01 40"), .missingMandatoryField, detail: "flow.incoming-window")
        expectDecodeError(Flow.self, hexBytes("00 53 13 c0 03 02 40 43"), .missingMandatoryField, detail: "flow.next-outgoing-id")
        expectDecodeError(Flow.self, hexBytes("00 53 13 c0 04 03 40 43 43"), .missingMandatoryField, detail: "flow.outgoing-window")
        // handle as ushort 1 (60 00 01): 4 + 3 = 7, size 8.
        expectDecodeError(Flow.self, hexBytes("00 53 13 c0 08 05 40 43 43 43 60 00 01"), .unexpectedType, detail: "flow.handle")
        // echo as str8 "": 4 + 5 nulls + 2 = 11, size 12, 10 fields.
        expectDecodeError(
            Flow.self, hexBytes("00 53 13 c0 0c 0a 40 43 43 43 40 40 40 40 40 a1 00"), .unexpectedType, detail: "flow.echo")
    }

    @Test func flowLinkFieldsNeedAHandle() {
        // link-credit 10 with a null handle: 4 + 1 + 1 + 2 = 8, size 9, 7 fields.
        let e = decodeCompositeError(Flow.self, hexBytes("00 53 13 c0 09 07 40 43 43 43 40 40 52 0a"))
        #expect(e?.code == .invalidFieldValue)
        #expect(e?.detail.contains("flow.link-credit") == true)
        #expect(e?.condition == .invalidField)
        // drain true with a null handle: four nulls after the windows, then 41.
        expectDecodeError(Flow.self, hexBytes("00 53 13 c0 0a 09 40 43 43 43 40 40 40 40 41"), .invalidFieldValue, detail: "flow.drain")
        expectInvalidOnEncode(Flow(incomingWindow: 1, nextOutgoingID: 1, outgoingWindow: 1, linkCredit: 10), detail: "flow.link-credit")
        expectInvalidOnEncode(Flow(incomingWindow: 1, nextOutgoingID: 1, outgoingWindow: 1, deliveryCount: 0), detail: "flow.delivery-count")
        expectInvalidOnEncode(Flow(incomingWindow: 1, nextOutgoingID: 1, outgoingWindow: 1, available: 0), detail: "flow.available")
        expectInvalidOnEncode(Flow(incomingWindow: 1, nextOutgoingID: 1, outgoingWindow: 1, drain: true), detail: "flow.drain")
    }

    // MARK: disposition

    @Test func dispositionRoundTrips() throws {
        for state in everyDeliveryState {
            try expectRoundTrip(Disposition(role: .sender, first: 1, last: .max, settled: true, state: state, batchable: true))
        }
        // role false (42), first uint0 (43): size 3, 2 fields.
        try expectWire(Disposition(role: .sender, first: 0), hexBytes("00 53 15 c0 03 02 42 43"))
    }

    @Test func dispositionAcceptedBytes() throws {
        // 41           role: true (receiver)
        // 52 03        first: smalluint 3
        // 40           last: null
        // 41           settled: true
        // 00 53 24 45  state: accepted, a described list0
        // 9 bytes, size 10, 5 fields; batchable dropped.
        try expectWire(
            Disposition(role: .receiver, first: 3, settled: true, state: .accepted, batchable: false),
            hexBytes("00 53 15 c0 0a 05 41 52 03 40 41 00 53 24 45"))
    }

    @Test func dispositionErrors() {
        expectDecodeError(Disposition.self, hexBytes("00 53 15 45"), .missingMandatoryField, detail: "disposition.role")
        expectDecodeError(Disposition.self, hexBytes("00 53 15 c0 02 01 41"), .missingMandatoryField, detail: "disposition.first")
        // role as ubyte 1.
        expectDecodeError(Disposition.self, hexBytes("00 53 15 c0 04 02 50 01 43"), .unexpectedType, detail: "disposition.role")
        // state as a plain list0: 1 + 1 + 1 + 1 + 1 = 5, size 6.
        expectDecodeError(Disposition.self, hexBytes("00 53 15 c0 06 05 41 43 40 40 45"), .unexpectedType, detail: "disposition.state")
    }

    // MARK: delivery states

    @Test func deliveryStatesRoundTrip() throws {
        for state in everyDeliveryState { try expectRoundTrip(state) }
    }

    @Test func deliveryStateBytes() throws {
        // received: section-number smalluint 1, section-offset smallulong 2: size 5.
        try expectWire(DeliveryState.received(sectionNumber: 1, sectionOffset: 2), hexBytes("00 53 23 c0 05 02 52 01 53 02"))
        try expectWire(DeliveryState.accepted, hexBytes("00 53 24 45"))
        try expectWire(DeliveryState.rejected(nil), hexBytes("00 53 25 45"))
        try expectWire(DeliveryState.released, hexBytes("00 53 26 45"))
        // modified with both flags false and no annotations: every field dropped.
        try expectWire(DeliveryState.modified(), hexBytes("00 53 27 45"))
        try expectWire(DeliveryState.modified(deliveryFailed: true), hexBytes("00 53 27 c0 02 01 41"))
        // declared: txn-id vbin8 01 02: size 5.
        try expectWire(DeliveryState.declared(txnID: [1, 2]), hexBytes("00 53 33 c0 05 01 a0 02 01 02"))
        // transactional-state: txn-id vbin8 01 (3 bytes), outcome accepted (4): size 8.
        try expectWire(
            DeliveryState.transactionalState(txnID: [1], outcome: .accepted), hexBytes("00 53 34 c0 08 02 a0 01 01 00 53 24 45"))
        #expect(DeliveryState.accepted.isOutcome)
        #expect(!DeliveryState.received(sectionNumber: 0, sectionOffset: 0).isOutcome)
    }

    @Test func deliveryStateErrors() {
        expectDecodeError(DeliveryState.self, hexBytes("00 53 23 c0 02 01 43"), .missingMandatoryField, detail: "received.section-offset")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 23 c0 05 02 53 01 53 02"), .unexpectedType, detail: "received.section-number")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 33 45"), .missingMandatoryField, detail: "declared.txn-id")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 34 45"), .missingMandatoryField, detail: "transactional-state.txn-id")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 27 c0 03 01 50 01"), .unexpectedType, detail: "modified.delivery-failed")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 25 c0 02 01 45"), .unexpectedType, detail: "rejected.error")
        expectDecodeError(DeliveryState.self, hexBytes("00 53 10 45"), .unexpectedDescriptor, detail: "delivery-state")
        // A provisional outcome that is not an outcome: received(0, 0) (8 bytes): size 12.
        expectDecodeError(
            DeliveryState.self, hexBytes("00 53 34 c0 0c 02 a0 01 01 00 53 23 c0 03 02 43 44"), .invalidFieldValue,
            detail: "transactional-state.outcome")
        expectInvalidOnEncode(
            DeliveryState.transactionalState(txnID: [1], outcome: .transactionalState(txnID: [2])),
            detail: "transactional-state.outcome")
    }
}

/// Transfer, flow and disposition decode their usual encodings through fast paths; these
/// check that every other legal encoding of the same values decodes the same, and that
/// malformed ones fail as the general decoder makes them fail.
@Suite struct PerformativeEncodingVariantTests {
    @Test func widerEncodingsDecodeTheSame() throws {
        // handle as uint 70 00 00 00 01; delivery-id as uint 70 00 00 00 05; tag as vbin32
        // b0 00 00 00 02 74 31; message-format uint0; settled as boolean 56 01:
        // 5 + 5 + 7 + 1 + 2 = 20 bytes, list32 d0 <size 24> <count 5>.
        let wide = hexBytes("00 53 14 d0 00 00 00 18 00 00 00 05 70 00 00 00 01 70 00 00 00 05 b0 00 00 00 02 74 31 43 56 01")
        #expect(try decodeComposite(Transfer.self, wide)
            == Transfer(handle: 1, deliveryID: 5, deliveryTag: DeliveryTag([0x74, 0x31]), messageFormat: 0, settled: true))

        // accepted as a list8 with no elements (c0 01 00) and with a ulong descriptor
        // (80 + 8 bytes): role true, first 0, last null, settled false (56 00).
        let accepted = hexBytes("00 80 00 00 00 00 00 00 00 24 c0 01 00")
        let disposition = hexBytes("00 53 15 c0") + [UInt8(1 + 5 + accepted.count), 5] + hexBytes("41 43 40 56 00") + accepted
        #expect(try decodeComposite(Disposition.self, disposition) == Disposition(role: .receiver, first: 0, state: .accepted))

        // released with the descriptor as sym8 "amqp:released:list" (18 bytes).
        let released = hexBytes("00 a3 12") + Array("amqp:released:list".utf8) + hexBytes("45")
        let d2 = hexBytes("00 53 15 c0") + [UInt8(1 + 4 + released.count), 5] + hexBytes("41 43 40 40") + released
        #expect(try decodeComposite(Disposition.self, d2) == Disposition(role: .receiver, first: 0, state: .released))

        // flow with delivery-count as uint 70 00 00 00 07, drain as 56 01, echo as 56 00:
        // 5 + 5 + 2 + 2 + 2 = 16 bytes, size 17, 10 fields.
        let flow = hexBytes("00 53 13 c0 11 0a 40 43 43 43 43 70 00 00 00 07 40 40 56 01 56 00")
        #expect(try decodeComposite(Flow.self, flow)
            == Flow(incomingWindow: 0, nextOutgoingID: 0, outgoingWindow: 0, handle: 0, deliveryCount: 7, drain: true))
    }

    @Test func malformedScalarsFail() {
        // A uint cut short inside its list: the list holds 3 bytes after the count.
        #expect(decodeCompositeError(Transfer.self, hexBytes("00 53 14 c0 04 01 70 00 00"))?.code == .truncated)
        // A boolean byte that is neither 0 nor 1 (settled: 56 02): 6 bytes, size 7.
        #expect(decodeCompositeError(Transfer.self, hexBytes("00 53 14 c0 07 05 43 40 40 40 56 02"))?.code == .invalidBoolean)
        // A vbin8 tag longer than the list.
        #expect(decodeCompositeError(Transfer.self, hexBytes("00 53 14 c0 05 03 43 40 a0 05"))?.code == .sizeExceedsInput)
        // A state cut short: 00 53 24 without its list.
        #expect(decodeCompositeError(Disposition.self, hexBytes("00 53 15 c0 08 05 41 43 40 40 00 53 24")) != nil)
    }
}
