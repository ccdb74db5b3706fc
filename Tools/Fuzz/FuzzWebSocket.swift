// fuzz-corpus: websocket
// fuzz-sources: Sources/AMQPWebSocket/WebSocketFrame.swift Sources/AMQPWebSocket/WebSocketError.swift Sources/AMQPWebSocket/HTTPHeaders.swift Sources/AMQPWebSocket/WebSocketHandshake.swift Sources/AMQPWebSocket/WebSocketConfiguration.swift Sources/AMQPWebSocket/SHA1.swift
//
// The WebSocket layer's parsers (AMQPWebSocket, compiled into this target from the
// files named above: they need neither the reactor nor the engine).
//
// Input: one configuration byte, then bytes as a peer sends them.
// Configuration: bit 0: the bytes come from a server (frames must be unmasked) or a
// client (masked); bit 1: the bytes start with a handshake head (a server's answer for
// a client, a client's request for a server), frames after it; bit 2: a 1,000-byte
// payload bound instead of 1 MiB; bits 3-7 seed the cuts.
//
// Oracles:
// - the end of the head is found at the same place from the whole input and from every
//   prefix that holds it, and never from a shorter one;
// - the server's answer is an HTTP/1.1 response: 101 exactly when there is no refusal,
//   a refusal with the status of its response; the client's check and the server's
//   answer never trap;
// - frames read the same (payload bytes, control frames, error code and close status,
//   bytes consumed) however the input and the output room are cut;
// - a control frame's payload is at most 125 bytes, payload never exceeds the input,
//   and nothing is read after an error.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let config = data[0]
    let fromServer = config & 1 != 0
    let maxPayload = config & 4 != 0 ? 1_000 : 1 << 20
    var input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    if config & 2 != 0 {
        guard let end = checkHead(input, fromServer: fromServer) else { return 0 }
        input = UnsafeRawBufferPointer(rebasing: input[end...])
    }
    let whole = readAll(input, fromServer: fromServer, maxPayload: maxPayload, cuts: nil)
    var seed = UInt64(config >> 3) &+ 1
    let cut = readAll(input, fromServer: fromServer, maxPayload: maxPayload, cuts: &seed)
    expect(whole.payload == cut.payload, "payload differs when cut: \(whole.payload.count) bytes whole, \(cut.payload.count) cut")
    expect(whole.controls.count == cut.controls.count, "\(whole.controls.count) control frames whole, \(cut.controls.count) cut")
    for (a, b) in zip(whole.controls, cut.controls) { expect(a.0 == b.0 && a.1 == b.1, "control frame \(a.0) differs when cut") }
    expect(whole.error?.code == cut.error?.code && whole.error?.closeStatus == cut.error?.closeStatus,
           "error \(String(describing: whole.error)) whole, \(String(describing: cut.error)) cut")
    expect(whole.consumed == cut.consumed, "consumed \(whole.consumed) whole, \(cut.consumed) cut")
    expect(whole.payload.count <= input.count, "more payload than input")
    return 0
}

/// Checks the head at the start of `input`; returns where frames start, or nil.
func checkHead(_ input: UnsafeRawBufferPointer, fromServer: Bool) -> Int? {
    let end = HTTPHeaders.headEnd(input)
    // Every prefix: nil before the end, the same end from it on (sampled past 64 bytes).
    var ks = Array(0...min(input.count, 64))
    if let end { ks += [end - 1, end, min(end + 1, input.count)] }
    for k in ks where k >= 0 && k <= input.count {
        let e = HTTPHeaders.headEnd(UnsafeRawBufferPointer(rebasing: input[..<k]))
        if let end, k >= end { expect(e == end, "head end \(String(describing: e)) from a \(k)-byte prefix, \(end) from all") }
        else { expect(e == nil, "head end \(String(describing: e)) from a \(k)-byte prefix, \(String(describing: end)) from all") }
    }
    guard let end else { return nil }
    let head = UnsafeRawBufferPointer(rebasing: input[..<end])
    if fromServer {
        let c = WebSocketConfiguration.client(host: "localhost")
        do throws(WebSocketError) {
            try WebSocketHandshake.checkResponse(head, key: "dGhlIHNhbXBsZSBub25jZQ==", configuration: c)
        } catch {
            expect(!error.detail.isEmpty, "a handshake error without detail")
        }
    } else {
        for c in [WebSocketConfiguration.server(), .server(path: "/$servicebus/websocket/")] {
            let answer = WebSocketHandshake.answer(head, configuration: c)
            let text = String(decoding: answer.response, as: UTF8.self)
            expect(text.hasPrefix("HTTP/1.1 ") && text.hasSuffix("\r\n\r\n"), "an answer that is not an HTTP/1.1 response")
            if let refusal = answer.refusal {
                expect(refusal.httpStatus.map { text.hasPrefix("HTTP/1.1 \($0) ") } == true, "a refusal whose status is not its response's")
            } else {
                expect(text.hasPrefix("HTTP/1.1 101 "), "an upgrade answered with another status")
            }
        }
    }
    return end
}

struct Outcome {
    var payload: [UInt8] = []
    var controls: [(WebSocketOpcode, [UInt8])] = []
    var error: WebSocketError? = nil
    var consumed = 0
}

/// Reads `input` whole, or (with `cuts`) offered in pieces of 1 to 64 bytes into output
/// rooms of 1 to 256 bytes, as a reactor would re-offer what is not consumed.
func readAll(_ input: UnsafeRawBufferPointer, fromServer: Bool, maxPayload: Int, cuts: UnsafeMutablePointer<UInt64>?) -> Outcome {
    var reader = WebSocketFrameReader(readsServerFrames: fromServer, maxPayload: maxPayload)
    var o = Outcome()
    var available = cuts == nil ? input.count : 0
    var out = [UInt8](repeating: 0, count: cuts == nil ? max(input.count, 1) : 256)
    var rounds = 0
    while rounds < 1_000_000 {
        rounds += 1
        if let cuts, available < input.count {
            cuts.pointee = cuts.pointee &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            available = min(input.count, available + Int(cuts.pointee >> 58) + 1)
        }
        let room = cuts.map { Int($0.pointee >> 40 & 0xFF) + 1 } ?? out.count
        let offered = UnsafeRawBufferPointer(rebasing: input[o.consumed..<available])
        let r = out.withUnsafeMutableBytes { reader.read(offered, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<min(room, $0.count)])) }
        expect(r.consumed <= offered.count && r.written <= min(room, out.count), "read past its input or output")
        o.consumed += r.consumed
        o.payload += out[..<r.written]
        if let c = r.control {
            expect(c.payload.count <= 125 && c.opcode.isControl, "a control frame of \(c.payload.count) bytes")
            o.controls.append((c.opcode, c.payload))
        }
        if let e = r.error {
            o.error = e
            let again = out.withUnsafeMutableBytes { reader.read(offered, into: $0) }
            expect(again.consumed == 0 && again.written == 0 && again.error == nil, "read after an error")
            return o
        }
        if r.consumed == 0 && r.written == 0 && r.control == nil && available == input.count { return o }
    }
    oracleFailure("the reader made no progress")
}
