// open, begin, end and close. Byte derivations use the format codes listed at the top
// of PerformativeCodingTests.swift.

import AMQPCodec
import Testing

@Suite struct PerformativeConnectionTests {
    // MARK: open

    @Test func openRoundTripsWithEveryField() throws {
        try expectRoundTrip(Open(
            containerID: "container-1", hostname: "broker.example", maxFrameSize: 512, channelMax: 0,
            idleTimeOut: 60000, outgoingLocales: ["en-US"], incomingLocales: ["en-US", "de-DE"],
            offeredCapabilities: ["ANONYMOUS-RELAY"], desiredCapabilities: ["DELAYED_DELIVERY", "x"],
            properties: ["product": "swift-amqp", "version": .string("0.1")]))
    }

    @Test func openRoundTripsWithOnlyMandatoryFields() throws {
        try expectRoundTrip(Open(containerID: ""))
    }

    @Test func minimalOpenBytes() throws {
        // 00 53 10         described, smallulong 0x10 (open)
        // c0 05 01         list8, size 5 (count byte + 4), 1 field
        // a1 02 63 31      container-id: str8 "c1"
        // Every other field is absent or at its default, so the list ends there.
        try expectWire(Open(containerID: "c1"), hexBytes("00 53 10 c0 05 01 a1 02 63 31"))
    }

    @Test func openOmitsTrailingDefaults() throws {
        // Defaults given explicitly encode exactly like the minimal open.
        #expect(try encodedBytes(Open(containerID: "c1", maxFrameSize: 4_294_967_295, channelMax: 65535))
            == hexBytes("00 53 10 c0 05 01 a1 02 63 31"))
        // idle-time-out 30000 = 0x7530 needs uint (70 + 4 bytes); the three fields before
        // it are null (40): 4 + 3 + 5 = 12 bytes of fields, size 13, 5 fields.
        try expectWire(
            Open(containerID: "c1", idleTimeOut: 30000),
            hexBytes("00 53 10 c0 0d 05 a1 02 63 31 40 40 40 70 00 00 75 30"))
    }

    @Test func openDecodesNullsAsDefaults() throws {
        // container-id, then nulls for hostname, max-frame-size, channel-max.
        let open = try decodeComposite(Open.self, hexBytes("00 53 10 c0 08 04 a1 02 63 31 40 40 40"))
        #expect(open.maxFrameSize == .max)
        #expect(open.channelMax == 65535)
        #expect(open.hostname == nil)
        #expect(open == Open(containerID: "c1"))
    }

    @Test func openMultipleFieldAcceptsOneSymbol() throws {
        // offered-capabilities (field 8) as a single sym8 "x": a3 01 78, after c1 and six
        // nulls: 4 + 6 + 3 = 13 bytes, size 14, 8 fields.
        let single = hexBytes("00 53 10 c0 0e 08 a1 02 63 31 40 40 40 40 40 40 a3 01 78")
        let open = try decodeComposite(Open.self, single)
        #expect(open.offeredCapabilities == ["x"])
        // Encoded back as an array: e0 04 01 a3 01 78 (array8, size 4 = count + constructor
        // + 2 bytes of element, 1 element, sym8, "x"): 4 + 6 + 6 = 16, size 17.
        #expect(try encodedBytes(open) == hexBytes("00 53 10 c0 11 08 a1 02 63 31 40 40 40 40 40 40 e0 04 01 a3 01 78"))
    }

    @Test func openWithoutContainerID() {
        // list0, and a list holding one null.
        expectDecodeError(Open.self, hexBytes("00 53 10 45"), .missingMandatoryField, detail: "open.container-id")
        expectDecodeError(Open.self, hexBytes("00 53 10 c0 02 01 40"), .missingMandatoryField, detail: "open.container-id")
    }

    @Test func openFieldsOfTheWrongType() {
        // container-id as sym8 "c1".
        expectDecodeError(Open.self, hexBytes("00 53 10 c0 05 01 a3 02 63 31"), .unexpectedType, detail: "open.container-id")
        // channel-max as smalluint 5 instead of ushort: 4 + 1 + 1 + 2 = 8, size 9.
        expectDecodeError(Open.self, hexBytes("00 53 10 c0 09 04 a1 02 63 31 40 40 52 05"), .unexpectedType, detail: "open.channel-max")
        // offered-capabilities as str8 "x".
        expectDecodeError(
            Open.self, hexBytes("00 53 10 c0 0e 08 a1 02 63 31 40 40 40 40 40 40 a1 01 78"), .unexpectedType,
            detail: "open.offered-capabilities")
        // properties with a string key: map8 size 5, 2 elements, str8 "k", null.
        expectDecodeError(
            Open.self, hexBytes("00 53 10 c0 14 0a a1 02 63 31 40 40 40 40 40 40 40 40 c1 05 02 a1 01 6b 40"),
            .unexpectedType, detail: "fields key")
    }

    @Test func openMaxFrameSizeBelow512IsInvalid() throws {
        // max-frame-size 511 = uint 00 00 01 ff: 4 + 1 + 5 = 10, size 11, 3 fields.
        let bytes = hexBytes("00 53 10 c0 0b 03 a1 02 63 31 40 70 00 00 01 ff")
        let e = decodeCompositeError(Open.self, bytes)
        #expect(e?.code == .invalidFieldValue)
        #expect(e?.detail.contains("open.max-frame-size") == true)
        #expect(e?.condition == .invalidField)
        expectInvalidOnEncode(Open(containerID: "c1", maxFrameSize: 511), detail: "open.max-frame-size")
        // 512 itself is fine.
        try expectRoundTrip(Open(containerID: "c1", maxFrameSize: 512))
    }

    // MARK: begin

    @Test func beginRoundTripsWithEveryField() throws {
        try expectRoundTrip(Begin(
            remoteChannel: 3, nextOutgoingID: .max, incomingWindow: 2048, outgoingWindow: 0, handleMax: 1023,
            offeredCapabilities: ["a"], desiredCapabilities: ["b"], properties: ["k": .uint(1)]))
    }

    @Test func beginWithOnlyMandatoryFields() throws {
        // 40               remote-channel: null
        // 52 01            next-outgoing-id: smalluint 1
        // 70 00 00 13 88   incoming-window: uint 5000
        // 70 00 00 13 88   outgoing-window: uint 5000
        // 1 + 2 + 5 + 5 = 13 bytes, size 14, 4 fields; handle-max at its default is dropped.
        try expectWire(
            Begin(nextOutgoingID: 1, incomingWindow: 5000, outgoingWindow: 5000, handleMax: .max),
            hexBytes("00 53 11 c0 0e 04 40 52 01 70 00 00 13 88 70 00 00 13 88"))
    }

    @Test func beginMissingAndMistypedFields() {
        expectDecodeError(Begin.self, hexBytes("00 53 11 c0 02 01 40"), .missingMandatoryField, detail: "begin.next-outgoing-id")
        expectDecodeError(Begin.self, hexBytes("00 53 11 c0 04 02 40 52 01"), .missingMandatoryField, detail: "begin.incoming-window")
        expectDecodeError(Begin.self, hexBytes("00 53 11 c0 04 03 40 43 43"), .missingMandatoryField, detail: "begin.outgoing-window")
        // remote-channel as smalluint 1 instead of ushort.
        expectDecodeError(Begin.self, hexBytes("00 53 11 c0 06 04 52 01 43 43 43"), .unexpectedType, detail: "begin.remote-channel")
    }

    // MARK: end and close

    @Test func endAndCloseRoundTrip() throws {
        let error = AMQPError(condition: ErrorCondition("amqp:not-allowed"), description: "no", info: ["a": .boolean(true)])
        try expectRoundTrip(End(error: error))
        try expectRoundTrip(Close(error: error))
        // Without an error: no fields at all, so list0.
        try expectWire(End(), hexBytes("00 53 17 45"))
        try expectWire(Close(), hexBytes("00 53 18 45"))
    }

    @Test func closeWithErrorBytes() throws {
        // The error: 00 53 1d, list8 of 2 fields:
        //   a3 13 "amqp:internal-error"   condition, sym8 of 19 bytes (21 bytes)
        //   a1 04 "boom"                  description, str8 (6 bytes)
        //   27 bytes of fields: c0 1c 02; the error takes 3 + 3 + 27 = 33 bytes.
        // The close: 00 53 18, list8 size 34 (0x22), 1 field: the error.
        let bytes = hexBytes("00 53 18 c0 22 01")
            + hexBytes("00 53 1d c0 1c 02 a3 13") + Array("amqp:internal-error".utf8)
            + hexBytes("a1 04 62 6f 6f 6d")
        try expectWire(Close(error: AMQPError(condition: ErrorCondition("amqp:internal-error"), description: "boom")), bytes)
    }

    @Test func closeErrorMustBeAnError() {
        // error as str8 "".
        expectDecodeError(Close.self, hexBytes("00 53 18 c0 03 01 a1 00"), .unexpectedType, detail: "close.error")
        // error with the accepted descriptor.
        expectDecodeError(Close.self, hexBytes("00 53 18 c0 05 01 00 53 24 45"), .unexpectedDescriptor, detail: "amqp:error:list")
        // error without its condition.
        expectDecodeError(End.self, hexBytes("00 53 17 c0 05 01 00 53 1d 45"), .missingMandatoryField, detail: "error.condition")
    }
}
