// fuzz-corpus: sasl-client
//
// Input: one knob byte (see `Knobs`; bit 7 picks PLAIN over ANONYMOUS), then what a server sends after the SASL protocol header:
// sasl-mechanisms, challenges, the outcome, then the AMQP header and frames.
//
// Oracles: `EngineDriver` (bounded consumption, output, events and footprint; typed
// errors; a clean end when the transport closes).

import AMQPCodec
import AMQPEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let knobs = Knobs(data[0])
    var configuration = knobs.configuration(role: .client)
    configuration.sasl = .client(data[0] & 0x80 != 0 ? .plain(username: "user", password: "pass") : .anonymous())
    var engine = ConnectionEngine(configuration: configuration)
    engine.open()
    pipelineLinks(&engine)
    var driver = EngineDriver(engine: engine, knobs: knobs)
    driver.run(prefix: saslHeader, input: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
