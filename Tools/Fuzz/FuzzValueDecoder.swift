// fuzz-corpus: value
//
// Input: any bytes, read as AMQP values back to back (`ValueDecoder.decodeAll`).
// Oracles, for every value decoded before the first error:
// - it decodes completely (lazy views walked to the last element) the same way through
//   `materialize()` and through the cursor walk, or both fail with the same error;
// - every decode error points into the input;
// - the owned value re-encodes, decodes back to an equal value, and its encoding is
//   canonical (see `Oracles.roundTrip`);
// - decoding with a base offset shifts every error offset by exactly that much.

import AMQPCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let limits = DecodeLimits.default
    var values = 0
    let outcome = Result { () throws(DecodeError) in
        try ValueDecoder.decodeAll(input, limits: limits) { (view) throws(DecodeError) in
            values += 1
            if let owned = Oracles.materialize(view, input: 0...size) {
                Oracles.roundTrip(owned, limits: limits)
            }
        }
    }
    if case .failure(let e) = outcome { Oracles.checkOffset(e, within: 0...size) }
    if size > 0 { checkBaseOffset(input, limits: limits) }
    return 0
}

/// Decodes and materializes the first value at base offsets 0 and 1000: the results
/// must agree, with every error offset moved by 1000.
func checkBaseOffset(_ input: UnsafeRawBufferPointer, limits: DecodeLimits) {
    func run(_ base: Int) -> Result<(AMQPValue, Int), DecodeError> {
        Result { () throws(DecodeError) -> (AMQPValue, Int) in
            let (view, consumed) = try ValueDecoder.decode(input, baseOffset: base, limits: limits)
            return (try view.materialize(), consumed)
        }
    }
    switch (run(0), run(1000)) {
    case (.success(let a), .success(let b)):
        expect(a.0 == b.0 && a.1 == b.1, "the base offset changed the decoded value")
    case (.failure(let a), .failure(let b)):
        expect(b.offset == a.offset + 1000 && b.code == a.code, "base offset 1000 moved error \(a) to \(b)")
    default:
        oracleFailure("the base offset changed whether the first value decodes")
    }
}
