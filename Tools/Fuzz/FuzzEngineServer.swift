// fuzz-corpus: engine-server
//
// Input: one knob byte (see `Knobs`; bit 7 sets `autoAccept`, else the driver accepts
// each session and link as an application would), then what a client sends to a
// listener after its protocol header: OPEN, BEGIN, ATTACH, FLOW, TRANSFER... valid or not.
//
// Oracles: `EngineDriver` (bounded consumption, output, events and footprint; typed
// errors; a clean end when the transport closes).

import AMQPCodec
import AMQPEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let knobs = Knobs(data[0])
    var configuration = knobs.configuration(role: .server)
    if data[0] & 0x80 != 0 { configuration.autoAccept = AutoAcceptPolicy() }
    var engine = ConnectionEngine(configuration: configuration)
    engine.open()
    var driver = EngineDriver(engine: engine, knobs: knobs)
    driver.run(prefix: amqpHeader, input: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
