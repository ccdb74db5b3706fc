// fuzz-corpus: engine-client
//
// Input: one knob byte (see `Knobs`), then what a server sends to a client after its
// protocol header: frames, valid or not. The client has opened and pipelined a session
// with a sender (one message queued) and a receiver, so frames that answer them reach
// the session and link code.
//
// Oracles: `EngineDriver` (bounded consumption, output, events and footprint; typed
// errors; a clean end when the transport closes).

import AMQPCodec
import AMQPEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let knobs = Knobs(data[0])
    var engine = ConnectionEngine(configuration: knobs.configuration(role: .client))
    engine.open()
    pipelineLinks(&engine)
    var driver = EngineDriver(engine: engine, knobs: knobs)
    driver.run(prefix: amqpHeader, input: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
