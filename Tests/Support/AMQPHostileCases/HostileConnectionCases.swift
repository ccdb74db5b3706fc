import AMQPCodec
import AMQPEngine
import AMQPTesting

// What a hostile (or merely broken) peer can do to the connection layer, and what the
// engine must answer. Run by HostilePeerTests; session and link cases live in
// HostileSessionCases.swift.

private func frame(_ p: Performative, channel: UInt16 = 0) -> [UInt8] { FrameBytes.frame(p, channel: channel) }
private func frame(_ p: SASLPerformative) -> [UInt8] { FrameBytes.frame(p) }
private func bodyFrame(_ value: AMQPValue, type: UInt8 = 0) -> [UInt8] { FrameBytes.rawFrame(type: type, body: FrameBytes.body(value)) }
private let closeBody = FrameBytes.body(.close(Close()))
private let str8X: [UInt8] = [0xA1, 1, 0x78]  // "x"

/// OPEN whose fields are given as raw encodings.
private func rawOpen(_ fields: [[UInt8]]) -> [UInt8] {
    FrameBytes.rawFrame(body: FrameBytes.describedList(0x10, rawFields: fields))
}

/// Lists nested `depth` deep (list32, one element each), innermost empty.
private func nestedLists(depth: Int) -> [UInt8] {
    var inner: [UInt8] = [0x45]
    for _ in 0..<depth {
        inner = [0xD0] + FrameBytes.bigEndian(UInt32(inner.count + 4)) + FrameBytes.bigEndian(1) + inner
    }
    return inner
}

/// A map32 holding `count` keys and values, already encoded.
private func map32(_ entries: [UInt8], count: UInt32) -> [UInt8] {
    [0xD1] + FrameBytes.bigEndian(UInt32(entries.count + 4)) + FrameBytes.bigEndian(count) + entries
}

extension HostileCase {
    package static let connection: [HostileCase] = [
        // MARK: Protocol headers
        HostileCase(
            "frames before the protocol header", at: .start, send: frame(.open(peerOpen())),
            expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "HTTP request instead of a header", at: .start, send: Array("GET / HTTP/1.1\r\nHost: broker\r\n\r\n".utf8),
            expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "a header cut short, then garbage", at: .start, send: Array("AMQ".utf8) + [0xFF, 0, 0, 0, 0],
            expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "the TLS protocol id to a plain engine", at: .start, send: ProtocolHeader.tls.bytes,
            expect: .fails(.framingError, "sent protocol header AMQP 2 1.0.0; expected AMQP 0 1.0.0")),
        HostileCase(
            "a TLS ClientHello record instead of a header", at: .start,
            send: [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00],
            expect: .fails(.framingError, "the peer speaks TLS")),
        HostileCase(
            "a TLS alert record instead of the SASL header", sasl: true, at: .start,
            send: [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32],
            expect: .fails(.framingError, "the peer speaks TLS")),
        HostileCase(
            "a TLS content type with another version", at: .start, send: [0x16, 0x04, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00],
            expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "unknown protocol id 9", at: .start, send: [0x41, 0x4D, 0x51, 0x50, 9, 1, 0, 0],
            expect: .fails(.framingError, "unknown protocol id 9")),
        HostileCase(
            "an AMQP 0-9-1 header", at: .start, send: [0x41, 0x4D, 0x51, 0x50, 0, 0, 9, 1],
            expect: .fails(.framingError, "sent protocol header AMQP 0 0.9.1")),
        HostileCase(
            "version 1.0.1", at: .start, send: ProtocolHeader(id: .amqp, major: 1, minor: 0, revision: 1).bytes,
            expect: .fails(.framingError, "sent protocol header AMQP 0 1.0.1")),
        HostileCase(
            "version 2.0.0", at: .start, send: ProtocolHeader(id: .amqp, major: 2).bytes,
            expect: .fails(.framingError, "sent protocol header AMQP 0 2.0.0")),
        HostileCase(
            "the SASL header to an engine without SASL", at: .start, send: ProtocolHeader.sasl.bytes,
            expect: .fails(.framingError, "expected AMQP 0 1.0.0")),
        HostileCase(
            "the AMQP header to an engine that requires SASL", sasl: true, at: .start, send: ProtocolHeader.amqp.bytes,
            expect: .fails(.framingError, "expected AMQP 3 1.0.0 (SASL)")),
        HostileCase(
            "the protocol header again after OPEN", at: .opened, send: ProtocolHeader.amqp.bytes,
            expect: .closes(.framingError, "data offset 0 is below 2")),

        // MARK: SASL
        HostileCase(
            "a SASL frame before the SASL header", sasl: true, at: .start,
            send: frame(.saslInit(SASLInit(mechanism: "ANONYMOUS"))), expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "an AMQP frame during SASL", sasl: true, at: .saslHeaders, send: frame(.open(peerOpen())),
            expect: .fails(.framingError, "expected a SASL frame during SASL negotiation, got an AMQP frame")),
        HostileCase(
            "an empty AMQP frame during SASL", sasl: true, at: .saslHeaders, send: FrameBytes.emptyFrame(),
            expect: .fails(.framingError, "expected a SASL frame during SASL negotiation, got an AMQP frame")),
        HostileCase(
            "an empty SASL frame during SASL", sasl: true, at: .saslHeaders, send: FrameBytes.rawFrame(type: 1, body: []),
            expect: .fails(.framingError, "got an empty frame")),
        HostileCase(
            "a SASL frame over 512 bytes", sasl: true, at: .saslHeaders,
            send: { role in
                role == .client
                    ? frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: (0..<60).map { Symbol("MECHANISM-\($0)") })))
                    : frame(.saslInit(SASLInit(mechanism: "PLAIN", initialResponse: [UInt8](repeating: 0x61, count: 600))))
            },
            expect: { _ in .fails(.framingError, "maximum 512") }),
        HostileCase(
            "sasl-init with a mechanism that was not offered", roles: [.server], sasl: true, at: .saslHeaders,
            send: frame(.saslInit(SASLInit(mechanism: "GSSAPI"))),
            expect: .refusesSASL(.auth, .unauthorizedAccess, "GSSAPI, which was not offered")),
        HostileCase(
            "more SASL rounds than allowed", roles: [.server], sasl: true, at: .saslHeaders, authenticator: Challenger(rounds: 1_000),
            send: frame(.saslInit(SASLInit(mechanism: "PLAIN"))) + (1...20).flatMap { frame(.saslResponse(SASLResponse(response: [UInt8($0)]))) },
            expect: .refusesSASL(.auth, .unauthorizedAccess, "more than 8 SASL rounds")),
        HostileCase(
            "sasl-init twice", roles: [.server], sasl: true, at: .saslHeaders,
            send: frame(.saslInit(SASLInit(mechanism: "ANONYMOUS"))) + frame(.saslInit(SASLInit(mechanism: "ANONYMOUS"))),
            expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "sasl-mechanisms twice", roles: [.client], sasl: true, at: .saslHeaders,
            send: frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"]))) + frame(.saslMechanisms(SASLMechanisms(saslServerMechanisms: ["PLAIN"]))),
            expect: .fails(.illegalState, "unexpected sasl-mechanisms")),
        HostileCase(
            "no SASL mechanisms offered", roles: [.client], sasl: true, at: .saslHeaders,
            send: FrameBytes.rawFrame(type: 1, body: FrameBytes.describedList(0x40, rawFields: [[0xE0, 2, 0, 0xA3]])),
            expect: .fails(.framingError, "malformed SASL frame")),
        HostileCase(
            "sasl-outcome with an unknown code", roles: [.client], sasl: true, at: .saslInitSent,
            send: FrameBytes.rawFrame(type: 1, body: FrameBytes.describedList(0x44, rawFields: [[0x50, 9]])),
            expect: .fails(.framingError, "malformed SASL frame")),
        HostileCase(
            "an AMQP performative in a SASL frame", sasl: true, at: .saslHeaders,
            send: FrameBytes.rawFrame(type: 1, body: FrameBytes.body(.open(peerOpen()))),
            expect: .fails(.framingError, "malformed SASL frame")),
        HostileCase(
            "a SASL performative in an AMQP frame", at: .opened,
            send: FrameBytes.rawFrame(type: 0, body: FrameBytes.body(.saslInit(SASLInit(mechanism: "PLAIN")))),
            expect: .closes(.decodeError, "is not an AMQP performative")),
        HostileCase(
            "a SASL frame between the outcome and the AMQP header", sasl: true, at: .saslDone,
            send: frame(.saslOutcome(SASLOutcome(code: .ok))), expect: .fails(.framingError, "does not speak AMQP")),
        HostileCase(
            "a SASL frame after SASL completed", sasl: true, at: .opened, send: frame(.saslInit(SASLInit(mechanism: "PLAIN"))),
            expect: .closes(.framingError, "a SASL frame arrived after SASL finished")),

        // MARK: OPEN and CLOSE out of order
        HostileCase("OPEN twice", at: .opened, send: frame(.open(peerOpen())), expect: .closes(.illegalState, "a second OPEN arrived")),
        HostileCase(
            "OPEN on channel 1", at: .headers, send: frame(.open(peerOpen()), channel: 1),
            expect: .closes(.framingError, "OPEN on channel 1")),
        HostileCase(
            "BEGIN before OPEN", at: .headers, send: frame(.begin(Begin(nextOutgoingID: 0, incomingWindow: 1, outgoingWindow: 1))),
            expect: .closes(.illegalState, "begin arrived before OPEN")),
        HostileCase("CLOSE before OPEN", at: .headers, send: frame(.close(Close())), expect: .closesCleanly),
        HostileCase(
            "bytes after CLOSE", at: .opened, send: frame(.close(Close())) + [0xDE, 0xAD, 0xBE, 0xEF] + frame(.open(peerOpen())),
            expect: .closesCleanly),

        // MARK: Frame headers
        HostileCase(
            "a frame over max-frame-size", at: .opened, send: FrameBytes.rawFrame(body: closeBody, size: 4_097),
            expect: .closes(.framingError, "size 4097, maximum 4096")),
        HostileCase(
            "a frame size below 8", at: .opened, send: FrameBytes.rawFrame(body: [], size: 4),
            expect: .closes(.framingError, "size 4 is below 8")),
        HostileCase(
            "a data offset below 2", at: .opened, send: FrameBytes.rawFrame(dataOffset: 1, body: closeBody),
            expect: .closes(.framingError, "data offset 1 is below 2")),
        HostileCase(
            "a data offset beyond the frame", at: .opened, send: FrameBytes.rawFrame(dataOffset: 10, body: [0, 0, 0, 0]),
            expect: .closes(.framingError, "data offset 10 words exceeds size 12")),
        HostileCase(
            "an unknown frame type", at: .opened, send: FrameBytes.rawFrame(type: 7, body: closeBody),
            expect: .closes(.framingError, "unknown frame type")),
        HostileCase(
            "a 4 GiB frame size with max-frame-size unlimited", at: .opened, maxFrameSize: .max,
            send: FrameBytes.rawFrame(body: [UInt8](repeating: 0, count: 1_000), size: .max), expect: .waitsForMore),
        HostileCase(
            "an extended header (data offset 3) is skipped", at: .headers,
            send: FrameBytes.rawFrame(extendedHeader: [1, 2, 3, 4], body: FrameBytes.body(.open(peerOpen()))),
            expect: .tolerates(.opened)),

        // MARK: Frame bodies
        HostileCase(
            "a body that is not a described value", at: .opened, send: FrameBytes.rawFrame(body: [0x45]),
            expect: .closes(.decodeError, "body does not start with a described value")),
        HostileCase(
            "an unknown performative descriptor", at: .opened, send: bodyFrame(.described(descriptor: .ulong(0x19), value: .list([]))),
            expect: .closes(.decodeError, "is not an AMQP performative")),
        HostileCase(
            "a symbolic descriptor naming no performative", at: .opened,
            send: bodyFrame(.described(descriptor: .symbol("amqp:launch:list"), value: .list([]))),
            expect: .closes(.decodeError, "is not an AMQP performative")),
        HostileCase(
            "a performative with fields of the wrong types", at: .headers,
            send: bodyFrame(.described(descriptor: .ulong(0x10), value: .list([.uint(42), .boolean(true)]))),
            expect: .closes(.decodeError, "open.container-id is uint")),
        HostileCase(
            "OPEN without its mandatory container-id", at: .headers,
            send: bodyFrame(.described(descriptor: .ulong(0x10), value: .list([]))), expect: .closes(.decodeError, "open.container-id")),
        HostileCase(
            "OPEN with max-frame-size below 512", at: .headers, send: rawOpen([str8X, [0x40], [0x52, 100]]),
            expect: .closes(.invalidField, "max-frame-size: 100 is below 512")),
        HostileCase(
            "a nesting bomb inside OPEN properties", at: .headers,
            send: rawOpen([str8X] + Array(repeating: [0x40], count: 8) + [map32([0xA3, 1, 0x6B] + nestedLists(depth: 200), count: 2)]),
            expect: .closes(.decodeError, "nesting deeper than the limit")),
        HostileCase(
            "an element count larger than the frame", at: .headers,
            send: FrameBytes.rawFrame(body: [0x00, 0x53, 0x10, 0xD0] + FrameBytes.bigEndian(8) + FrameBytes.bigEndian(0x7FFF_FFFF) + str8X + [0x40]),
            expect: .closes(.decodeError, "count")),
        HostileCase(
            "a list larger than its frame", at: .opened, send: FrameBytes.rawFrame(body: [0x00, 0x53, 0x18, 0xC0, 0xFF, 0x01, 0x40]),
            expect: .closes(.decodeError, "size exceeds the bytes left")),
        HostileCase(
            "invalid UTF-8 in container-id", at: .headers, send: rawOpen([[0xA1, 2, 0xC3, 0x28]]),
            expect: .closes(.decodeError, "invalid UTF-8")),
        HostileCase(
            "a non-ASCII symbol in offered-capabilities", at: .headers,
            send: rawOpen([str8X] + Array(repeating: [0x40], count: 6) + [[0xA3, 2, 0x63, 0xE9]]),
            expect: .closes(.decodeError, "non-ASCII")),

        // MARK: Floods
        HostileCase(
            "a flood of empty frames", at: .opened, send: (0..<10_000).flatMap { _ in FrameBytes.emptyFrame() }, expect: .tolerates(nil)),
        HostileCase(
            "empty frames on channels nobody opened", at: .opened, send: (0..<100).flatMap { FrameBytes.emptyFrame(channel: UInt16($0 * 601)) },
            expect: .tolerates(nil)),
    ]
}
