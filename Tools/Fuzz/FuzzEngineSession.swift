// fuzz-corpus: engine-session
//
// Input: one knob byte (see `Knobs`; bit 7 as in FuzzEngineServer), then what a client
// sends to a listener after a valid protocol header, OPEN and BEGIN on channel 0: the
// fuzzer starts inside an open session, where ATTACH, FLOW, TRANSFER, DISPOSITION and
// DETACH are handled, so its mutations are spent on link and transfer code.
//
// Oracles: `EngineDriver` (bounded consumption, output, events and footprint; typed
// errors; a clean end when the transport closes).

import AMQPCodec
import AMQPEngine

/// Header, OPEN and BEGIN, as a client sends them.
let sessionPrefix: [UInt8] = {
    let frames = try? AMQPEncoder.encode { (e) throws(EncodeError) in
        try FrameEncoder.encode(.open(Open(containerID: "fuzz-peer")), channel: 0, into: &e)
        try FrameEncoder.encode(.begin(Begin(nextOutgoingID: 0, incomingWindow: 5_000, outgoingWindow: 5_000)), channel: 0, into: &e)
    }
    return amqpHeader + (frames ?? [])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let knobs = Knobs(data[0])
    var configuration = knobs.configuration(role: .server)
    if data[0] & 0x80 != 0 { configuration.autoAccept = AutoAcceptPolicy() }
    var engine = ConnectionEngine(configuration: configuration)
    engine.open()
    var driver = EngineDriver(engine: engine, knobs: knobs)
    driver.run(prefix: sessionPrefix, input: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
