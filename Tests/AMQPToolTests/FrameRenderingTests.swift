import AMQPCodec
import AMQPTool
import Testing

/// Renders every header and frame of a capture, as `amqp decode --frames` prints them.
func renderFrames(_ capture: [UInt8], decoder: FrameDecoder = FrameDecoder()) throws -> [String] {
    var lines: [String] = []
    try capture.withUnsafeBytes { raw in
        try FrameStream.walk(raw, decoder: decoder) { (item) throws(DecodeError) in
            switch item {
            case .protocolHeader(let h): lines.append(JSONRenderer.render(h))
            case .frame(let f): lines.append(try JSONRenderer.render(f))
            }
        }
    }
    return lines
}

/// Like `renderFrames`, but returns the lines printed before the error too.
func renderFramesUntilError(_ capture: [UInt8]) -> (lines: [String], error: DecodeError?) {
    var lines: [String] = []
    let error: DecodeError? = capture.withUnsafeBytes { raw in
        do throws(DecodeError) {
            try FrameStream.walk(raw) { (item) throws(DecodeError) in
                switch item {
                case .protocolHeader(let h): lines.append(JSONRenderer.render(h))
                case .frame(let f): lines.append(try JSONRenderer.render(f))
                }
            }
            return nil
        } catch {
            return error
        }
    }
    return (lines, error)
}

/// A described list as a performative: `descriptor` and its fields.
func performative(_ code: UInt64, _ fields: [AMQPValue]) -> AMQPValue {
    .described(descriptor: .ulong(code), value: .list(fields))
}

/// One frame carrying `body` (a performative, then optional payload bytes).
func frame(_ body: AMQPValue, type: FrameHeader.FrameType = .amqp, channel: UInt16 = 0, payload: [UInt8] = []) throws -> [UInt8] {
    try AMQPEncoder.encode { (e) throws(EncodeError) in
        try FrameEncoder.encodeFrame(type: type, channel: channel, into: &e) { (e) throws(EncodeError) in
            try body.encode(into: &e)
            for b in payload { try e.writeByte(b) }
        }
    }
}

/// What one side of a SASL-then-AMQP connection sends, built with the codec's encoders.
func saslAndAMQPCapture() throws -> [UInt8] {
    var capture = ProtocolHeader.sasl.bytes
    capture += try frame(performative(Descriptors.saslMechanisms, [.array(.symbols(["PLAIN", "ANONYMOUS"]))]), type: .sasl)
    capture += try frame(performative(Descriptors.saslInit, [.symbol("PLAIN"), .binary([0x00, 0x75, 0x00, 0x70]), .string("h")]), type: .sasl)
    capture += try frame(performative(Descriptors.saslOutcome, [.ubyte(0)]), type: .sasl)
    capture += ProtocolHeader.amqp.bytes
    capture += try frame(performative(Descriptors.open, [.string("c1"), .null, .uint(512), .ushort(7), .uint(30000)]))
    capture += try frame(performative(Descriptors.begin, [.null, .uint(1), .uint(2048), .uint(0)]), channel: 1)
    capture += try AMQPEncoder.encode { (e) throws(EncodeError) in try FrameEncoder.encodeEmptyFrame(into: &e) }
    let data = try AMQPValue.described(descriptor: .ulong(Descriptors.data), value: .binary(Array("hello".utf8))).encoded()
    capture += try frame(
        performative(Descriptors.transfer, [.uint(0), .uint(0), .binary([1, 2]), .uint(0), .boolean(true)]),
        channel: 1, payload: data)
    capture += try frame(
        performative(Descriptors.close, [
            .described(descriptor: .ulong(Descriptors.error), value: .list([.symbol("amqp:internal-error"), .string("bye")]))
        ]))
    return capture
}

@Suite("JSON rendering of frames")
struct FrameRenderingTests {
    @Test func saslThenAMQPCapture() throws {
        let expected = [
            #"{"protocol-header":{"id":"sasl","major":1,"minor":0,"revision":0}}"#,
            #"{"frame":{"size":34,"doff":2,"type":"sasl","channel":0},"performative":{"name":"sasl-mechanisms","fields":{"sasl-server-mechanisms":{"type":"array","element":"symbol","value":[{"type":"symbol","value":"PLAIN"},{"type":"symbol","value":"ANONYMOUS"}]}}}}"#,
            #"{"frame":{"size":30,"doff":2,"type":"sasl","channel":0},"performative":{"name":"sasl-init","fields":{"mechanism":{"type":"symbol","value":"PLAIN"},"initial-response":{"type":"binary","value":"00750070"},"hostname":{"type":"string","value":"h"}}}}"#,
            #"{"frame":{"size":16,"doff":2,"type":"sasl","channel":0},"performative":{"name":"sasl-outcome","fields":{"code":{"type":"ubyte","value":0}}}}"#,
            #"{"protocol-header":{"id":"amqp","major":1,"minor":0,"revision":0}}"#,
            #"{"frame":{"size":32,"doff":2,"type":"amqp","channel":0},"performative":{"name":"open","fields":{"container-id":{"type":"string","value":"c1"},"max-frame-size":{"type":"uint","value":512},"channel-max":{"type":"ushort","value":7},"idle-time-out":{"type":"uint","value":30000}}}}"#,
            #"{"frame":{"size":23,"doff":2,"type":"amqp","channel":1},"performative":{"name":"begin","fields":{"next-outgoing-id":{"type":"uint","value":1},"incoming-window":{"type":"uint","value":2048},"outgoing-window":{"type":"uint","value":0}}}}"#,
            #"{"frame":{"size":8,"doff":2,"type":"amqp","channel":0},"empty":true}"#,
            #"{"frame":{"size":32,"doff":2,"type":"amqp","channel":1},"performative":{"name":"transfer","fields":{"handle":{"type":"uint","value":0},"delivery-id":{"type":"uint","value":0},"delivery-tag":{"type":"binary","value":"0102"},"message-format":{"type":"uint","value":0},"settled":{"type":"boolean","value":true}}},"payload":"005375a00568656c6c6f"}"#,
            #"{"frame":{"size":46,"doff":2,"type":"amqp","channel":0},"performative":{"name":"close","fields":{"error":{"type":"described","name":"amqp:error:list","descriptor":{"type":"ulong","value":"29"},"value":{"type":"list","value":[{"type":"symbol","value":"amqp:internal-error"},{"type":"string","value":"bye"}]}}}}}"#,
        ]
        let lines = try renderFrames(try saslAndAMQPCapture())
        #expect(lines.count == expected.count)
        for (got, want) in zip(lines, expected) { #expect(got == want) }
    }

    @Test func headerIsOptional() throws {
        let capture = try frame(performative(Descriptors.end, []))
        #expect(try renderFrames(capture) == [#"{"frame":{"size":12,"doff":2,"type":"amqp","channel":0},"performative":{"name":"end","fields":{}}}"#])
    }

    @Test func clientPipelinesTheAMQPHeaderBeforeTheOutcome() throws {
        // A client's side: SASL header, sasl-init, then the AMQP header at once.
        var capture = ProtocolHeader.sasl.bytes
        capture += try frame(performative(Descriptors.saslInit, [.symbol("ANONYMOUS")]), type: .sasl)
        capture += ProtocolHeader.amqp.bytes
        capture += try frame(performative(Descriptors.open, [.string("c")]))
        #expect(try renderFrames(capture) == [
            #"{"protocol-header":{"id":"sasl","major":1,"minor":0,"revision":0}}"#,
            #"{"frame":{"size":25,"doff":2,"type":"sasl","channel":0},"performative":{"name":"sasl-init","fields":{"mechanism":{"type":"symbol","value":"ANONYMOUS"}}}}"#,
            #"{"protocol-header":{"id":"amqp","major":1,"minor":0,"revision":0}}"#,
            #"{"frame":{"size":17,"doff":2,"type":"amqp","channel":0},"performative":{"name":"open","fields":{"container-id":{"type":"string","value":"c"}}}}"#,
        ])
    }

    @Test func otherProtocolHeaders() throws {
        #expect(try renderFrames(ProtocolHeader.tls.bytes) == [#"{"protocol-header":{"id":"tls","major":1,"minor":0,"revision":0}}"#])
        #expect(try renderFrames(bytes("414d5150 00 01 02 03")) == [#"{"protocol-header":{"id":"amqp","major":1,"minor":2,"revision":3}}"#])
    }

    @Test func symbolicPerformativeDescriptor() throws {
        let body = AMQPValue.described(descriptor: .symbol("amqp:detach:list"), value: .list([.uint(3), .boolean(true)]))
        #expect(try renderFrames(try frame(body, channel: 2)) == [
            #"{"frame":{"size":33,"doff":2,"type":"amqp","channel":2},"performative":{"name":"detach","fields":{"handle":{"type":"uint","value":3},"closed":{"type":"boolean","value":true}}}}"#
        ])
    }

    @Test func fieldsBeyondTheSpecificationAreKeyedByPosition() throws {
        let capture = try frame(performative(Descriptors.end, [.null, .uint(5)]))
        #expect(try renderFrames(capture) == [
            #"{"frame":{"size":17,"doff":2,"type":"amqp","channel":0},"performative":{"name":"end","fields":{"1":{"type":"uint","value":5}}}}"#
        ])
    }

    @Test func unknownDescriptorPrintsAsADescribedNode() throws {
        let capture = try frame(.described(descriptor: .ulong(0x99), value: .list([])), payload: [0xFF])
        #expect(try renderFrames(capture) == [
            #"{"frame":{"size":13,"doff":2,"type":"amqp","channel":0},"performative":{"type":"described","descriptor":{"type":"ulong","value":"153"},"value":{"type":"list","value":[]}},"payload":"ff"}"#
        ])
        // A known descriptor that is not a performative, and a performative that is not a list.
        let error = try frame(.described(descriptor: .ulong(Descriptors.error), value: .list([.symbol("x")])))
        let map = try frame(.described(descriptor: .ulong(Descriptors.open), value: .map(AMQPMap())))
        #expect(try renderFrames(error + map) == [
            #"{"frame":{"size":17,"doff":2,"type":"amqp","channel":0},"performative":{"type":"described","name":"amqp:error:list","descriptor":{"type":"ulong","value":"29"},"value":{"type":"list","value":[{"type":"symbol","value":"x"}]}}}"#,
            #"{"frame":{"size":14,"doff":2,"type":"amqp","channel":0},"performative":{"type":"described","name":"amqp:open:list","descriptor":{"type":"ulong","value":"16"},"value":{"type":"map","value":[]}}}"#,
        ])
    }

    @Test func extendedHeader() throws {
        // doff 3: four bytes of extended header, then no body.
        #expect(try renderFrames(bytes("0000000c 03 00 0005 deadbeef")) == [
            #"{"frame":{"size":12,"doff":3,"type":"amqp","channel":5},"extended-header":"deadbeef","empty":true}"#
        ])
        // doff 3 with a performative after the extended header.
        #expect(try renderFrames(bytes("00000010 03 01 0000 01020304 005344 45")) == [
            #"{"frame":{"size":16,"doff":3,"type":"sasl","channel":0},"extended-header":"01020304","performative":{"name":"sasl-outcome","fields":{}}}"#
        ])
    }

    @Test func malformedFramePrintsWhatCameBefore() throws {
        let good = try frame(performative(Descriptors.close, []))
        // A close whose list holds an unknown constructor: header 8 + frame 12 + frame
        // header 8 + descriptor 3 + list header 3 = byte 34.
        let bad = bytes("0000000f 02 00 0000 005318 c0 02 01 57")
        let (lines, error) = renderFramesUntilError(ProtocolHeader.amqp.bytes + good + bad)
        #expect(lines == [
            #"{"protocol-header":{"id":"amqp","major":1,"minor":0,"revision":0}}"#,
            #"{"frame":{"size":12,"doff":2,"type":"amqp","channel":0},"performative":{"name":"close","fields":{}}}"#,
        ])
        #expect(error == DecodeError(.unknownConstructor, at: 34, detail: "0x57"))
    }

    @Test func truncatedCapture() throws {
        let good = try frame(performative(Descriptors.close, []))
        let (lines, error) = renderFramesUntilError(good + Array(good.prefix(10)))
        #expect(lines.count == 1)
        #expect(error == DecodeError(.truncated, at: 22, detail: "frame at byte 12 needs 2 more bytes", condition: .framingError))
        let (_, headerError) = renderFramesUntilError(Array(ProtocolHeader.amqp.bytes.prefix(6)))
        #expect(headerError == DecodeError(.truncated, at: 6, detail: "protocol header at byte 0 needs 2 more bytes", condition: .framingError))
    }

    @Test func badFrameHeaderAndBody() throws {
        #expect(renderFramesUntilError(bytes("00000004 02 00 0000")).error?.code == .invalidFrameHeader)
        #expect(renderFramesUntilError(bytes("00000008 02 07 0000")).error?.code == .unknownFrameType)
        #expect(renderFramesUntilError(bytes("0000000a 02 00 0000 4040")).error == DecodeError(
            .invalidPerformative, at: 8, detail: "body does not start with a described value"))
        #expect(renderFramesUntilError(bytes("414d5150 09 01 00 00")).error?.code == .invalidProtocolHeader)
    }

    @Test func performativeNestingFollowsTheDecoderLimits() throws {
        // open → list → list → list: three levels below the performative.
        let body = performative(Descriptors.open, [.list([.list([.list([])])])])
        let capture = try frame(body)
        #expect(try renderFrames(capture, decoder: FrameDecoder(limits: DecodeLimits(maxDepth: 4))).count == 1)
        #expect(throws: DecodeError.self) {
            try renderFrames(capture, decoder: FrameDecoder(limits: DecodeLimits(maxDepth: 3)))
        }
    }
}
