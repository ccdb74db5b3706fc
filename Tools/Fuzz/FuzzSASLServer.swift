// fuzz-corpus: sasl-server
//
// Input: one knob byte (see `Knobs`; bit 7 sets `autoAccept`), then what a client sends
// after the SASL protocol header: sasl-init, responses, then the AMQP header and frames.
// The server offers ANONYMOUS, PLAIN (user/pass) and EXTERNAL (one challenge; the
// response "me" passes), see `FuzzAuthenticator`.
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
    configuration.sasl = .server(mechanisms: ["ANONYMOUS", "PLAIN", "EXTERNAL"], authenticator: FuzzAuthenticator())
    if data[0] & 0x80 != 0 { configuration.autoAccept = AutoAcceptPolicy() }
    var engine = ConnectionEngine(configuration: configuration)
    engine.open()
    var driver = EngineDriver(engine: engine, knobs: knobs)
    driver.run(prefix: saslHeader, input: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
