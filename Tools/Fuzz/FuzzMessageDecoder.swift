// fuzz-corpus: message
//
// Input: a transfer payload (message sections back to back), as `MessageView` reads it.
// Oracles (`CompositeChecks.checkMessage`): views stay inside the payload and agree
// with their walks; a view that was made materializes to the same `Message` as
// `Message(decoding:)`; that message round-trips through its canonical encoding;
// every decode error points into the input. Each section's value also goes through
// the value oracles (materialize vs. cursor walk, value round trip).

import AMQPCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let limits = DecodeLimits.default
    CompositeChecks.checkMessage(input, baseOffset: 0, limits: limits, input: 0...size)
    _ = Result { () throws(DecodeError) in
        try ValueDecoder.decodeAll(input, limits: limits) { (view) throws(DecodeError) in
            if let owned = Oracles.materialize(view, input: 0...size) { Oracles.roundTrip(owned, limits: limits) }
        }
    }
    return 0
}
