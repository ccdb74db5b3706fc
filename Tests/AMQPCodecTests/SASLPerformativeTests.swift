// The SASL frame bodies (part 5, section 5.3.3) and SASL frames. Byte derivations use the
// format codes listed at the top of PerformativeCodingTests.swift.

import AMQPCodec
import Testing

let sampleSASLPerformatives: [SASLPerformative] = [
    .saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN", "ANONYMOUS", "EXTERNAL"])),
    .saslInit(SASLInit(mechanism: "PLAIN", initialResponse: Array("\0user\0pass".utf8), hostname: "example.com")),
    .saslChallenge(SASLChallenge(challenge: [1, 2, 3])),
    .saslResponse(SASLResponse(response: [])),
    .saslOutcome(SASLOutcome(code: .ok, additionalData: [0xFF])),
]

@Suite struct SASLPerformativeTests {
    @Test func everyBodyRoundTrips() throws {
        #expect(sampleSASLPerformatives.map(\.name) == ["sasl-mechanisms", "sasl-init", "sasl-challenge", "sasl-response", "sasl-outcome"])
        for p in sampleSASLPerformatives {
            let bytes = try expectRoundTrip(p)
            #expect(bytes[2] == UInt8(p.descriptor))
        }
        // Mandatory fields only.
        try expectRoundTrip(SASLMechanisms(saslServerMechanisms: ["ANONYMOUS"]))
        try expectRoundTrip(SASLInit(mechanism: "ANONYMOUS"))
        try expectRoundTrip(SASLOutcome(code: .sysTemp))
        for code in [SASLCode.ok, .auth, .sys, .sysPerm, .sysTemp] { try expectRoundTrip(SASLOutcome(code: code)) }
    }

    @Test func saslInitPlainBytes() throws {
        // 00 53 41                         described, smallulong 0x41 (sasl-init)
        // a3 05 50 4c 41 49 4e             mechanism: sym8 "PLAIN" (7 bytes)
        // a0 0a 00 75 73 65 72 00 70 61 73 73
        //                                  initial-response: vbin8 "\0user\0pass" (12 bytes)
        // 19 bytes of fields: list8 size 20 (0x14), 2 fields; hostname dropped.
        let body = hexBytes("00 53 41 c0 14 02 a3 05 50 4c 41 49 4e a0 0a 00 75 73 65 72 00 70 61 73 73")
        let plain = SASLInit(mechanism: "PLAIN", initialResponse: Array("\0user\0pass".utf8))
        try expectWire(plain, body)
        // As a frame: size 8 + 25 = 33 (0x21), doff 2, type 1 (SASL), channel 0.
        let frame = try AMQPEncoder.encode { (e) throws(EncodeError) in try FrameEncoder.encode(.saslInit(plain), into: &e) }
        #expect(frame == hexBytes("00 00 00 21 02 01 00 00") + body)
    }

    @Test func saslOutcomeBytes() throws {
        // code: ubyte 0 (50 00): size 3, 1 field.
        try expectWire(SASLOutcome(code: .ok), hexBytes("00 53 44 c0 03 01 50 00"))
        // code auth (50 01), additional-data vbin8 "x": 2 + 3 = 5, size 6.
        try expectWire(SASLOutcome(code: .auth, additionalData: [0x78]), hexBytes("00 53 44 c0 06 02 50 01 a0 01 78"))
    }

    @Test func mechanismsAcceptOneSymbol() throws {
        // sym8 "PLAIN" alone: 7 bytes, size 8.
        let single = hexBytes("00 53 40 c0 08 01 a3 05 50 4c 41 49 4e")
        let m = try decodeComposite(SASLMechanisms.self, single)
        #expect(m.saslServerMechanisms == ["PLAIN"])
        // Re-encoded as array8: size 8 (count, constructor, 1 + 5 bytes), 1 element, sym8.
        #expect(try encodedBytes(m) == hexBytes("00 53 40 c0 0b 01 e0 08 01 a3 05 50 4c 41 49 4e"))
    }

    @Test func mechanismsMustNotBeEmpty() {
        expectDecodeError(
            SASLMechanisms.self, hexBytes("00 53 40 45"), .missingMandatoryField, detail: "sasl-mechanisms.sasl-server-mechanisms")
        // An empty array8 of sym8: e0 02 00 a3, size 5.
        expectDecodeError(
            SASLMechanisms.self, hexBytes("00 53 40 c0 05 01 e0 02 00 a3"), .invalidFieldValue,
            detail: "sasl-mechanisms.sasl-server-mechanisms")
        expectInvalidOnEncode(SASLMechanisms(saslServerMechanisms: []), detail: "sasl-server-mechanisms")
        // An array of strings: e0 04 01 a1 01 78.
        expectDecodeError(
            SASLMechanisms.self, hexBytes("00 53 40 c0 07 01 e0 04 01 a1 01 78"), .unexpectedType,
            detail: "sasl-mechanisms.sasl-server-mechanisms")
    }

    @Test func missingAndMistypedFields() {
        expectDecodeError(SASLInit.self, hexBytes("00 53 41 45"), .missingMandatoryField, detail: "sasl-init.mechanism")
        expectDecodeError(SASLInit.self, hexBytes("00 53 41 c0 03 01 a1 00"), .unexpectedType, detail: "sasl-init.mechanism")
        // initial-response as str8 "".
        expectDecodeError(SASLInit.self, hexBytes("00 53 41 c0 05 02 a3 00 a1 00"), .unexpectedType, detail: "sasl-init.initial-response")
        expectDecodeError(SASLChallenge.self, hexBytes("00 53 42 45"), .missingMandatoryField, detail: "sasl-challenge.challenge")
        expectDecodeError(SASLChallenge.self, hexBytes("00 53 42 c0 03 01 a1 00"), .unexpectedType, detail: "sasl-challenge.challenge")
        expectDecodeError(SASLResponse.self, hexBytes("00 53 43 c0 02 01 40"), .missingMandatoryField, detail: "sasl-response.response")
        expectDecodeError(SASLOutcome.self, hexBytes("00 53 44 45"), .missingMandatoryField, detail: "sasl-outcome.code")
        // code as smalluint 0.
        expectDecodeError(SASLOutcome.self, hexBytes("00 53 44 c0 03 01 52 00"), .unexpectedType, detail: "sasl-outcome.code")
    }

    @Test func unknownSASLCode() {
        let e = decodeCompositeError(SASLOutcome.self, hexBytes("00 53 44 c0 03 01 50 05"))
        #expect(e?.code == .invalidFieldValue)
        #expect(e?.detail.contains("sasl-outcome.code") == true)
        #expect(e?.condition == .invalidField)
    }

    @Test func dispatch() throws {
        // Symbolic: sym8 "amqp:sasl-outcome:list" (22 bytes = 0x16), then the list.
        let symbolic = hexBytes("00 a3 16") + Array("amqp:sasl-outcome:list".utf8) + hexBytes("c0 03 01 50 01")
        #expect(try decodeComposite(SASLPerformative.self, symbolic) == .saslOutcome(SASLOutcome(code: .auth)))
        expectDecodeError(SASLPerformative.self, hexBytes("00 53 10 c0 05 01 a1 02 63 31"), .unexpectedDescriptor, detail: "0x10")
        expectDecodeError(SASLInit.self, hexBytes("00 53 40 c0 03 01 a3 00"), .unexpectedDescriptor, detail: "amqp:sasl-init:list")
    }

    @Test func everyBodyRoundTripsThroughAFrame() throws {
        for p in sampleSASLPerformatives {
            let bytes = try AMQPEncoder.encode { (e) throws(EncodeError) in try FrameEncoder.encode(p, into: &e) }
            try withDecodedFrame(bytes) { (f) throws in
                #expect(f.header.type == .sasl)
                #expect(f.header.channel == 0)
                #expect(try f.saslPerformative() == p)
                #expect(f.payload.count == 0)
            }
        }
    }
}
