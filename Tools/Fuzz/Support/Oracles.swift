// Checks shared by every fuzz target. A failed check traps (`fatalError`), which
// libFuzzer records as a crash and saves the input under Tools/Fuzz/artifacts/.
//
// Support files and harnesses import AMQPCodec as a separate module (see run.sh), so
// they reach only public API, as an application would.

import AMQPCodec

/// Stops the run with a message that says which property broke.
func oracleFailure(_ what: String, _ detail: String = "") -> Never {
    fatalError("fuzz oracle: \(what)" + (detail.isEmpty ? "" : "\n" + detail))
}

/// Traps when `condition` is false. The message is built only on failure.
@inline(__always)
func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { oracleFailure(what()) }
}

/// A short, printable rendering of a value for failure messages (values can be huge).
func brief(_ value: Any, limit: Int = 1500) -> String {
    let text = String(describing: value)
    return text.count <= limit ? text : String(text.prefix(limit)) + "… (\(text.count) characters)"
}

/// Bytes as hex, cut after `limit` bytes.
func hexBrief(_ bytes: some Collection<UInt8>, limit: Int = 256) -> String {
    let shown = Hex.encode(bytes.prefix(limit))
    return bytes.count <= limit ? shown : shown + "… (\(bytes.count) bytes)"
}

enum Oracles {
    /// Every decode error points into the input it was decoding: offsets count from the
    /// start of the outermost buffer, so they lie in `0...inputSize` (`inputSize` itself
    /// for input that ends too early).
    static func checkOffset(_ error: DecodeError, within range: ClosedRange<Int>) {
        expect(range.contains(error.offset), "error offset \(error.offset) outside the input \(range): \(error)")
    }

    /// Decodes `view` completely twice, through `materialize()` and through the cursor
    /// walk (`Walk`); both must succeed with equal values or fail with the same error.
    /// Returns the owned value, or `nil` when the input is malformed.
    static func materialize(_ view: AMQPValueView, input: ClosedRange<Int>) -> AMQPValue? {
        let owned = Result { () throws(DecodeError) -> AMQPValue in try view.materialize() }
        let walked = Result { () throws(DecodeError) -> AMQPValue in try Walk.value(view) }
        switch (owned, walked) {
        case (.success(let a), .success(let b)):
            expect(a == b, "materialize() and the cursor walk built different values:\n  \(brief(a))\n  \(brief(b))")
            expect(a.hashValue == b.hashValue, "equal values hash differently: \(brief(a))")
            expect(a.type == view.type, "materialize() changed the type \(view.typeName) to \(a.type?.rawValue ?? "described")")
            return a
        case (.failure(let a), .failure(let b)):
            expect(a == b, "materialize() and the cursor walk failed differently:\n  \(a)\n  \(b)")
            checkOffset(a, within: input)
            return nil
        case (.success(let a), .failure(let b)):
            oracleFailure("materialize() succeeded but the cursor walk failed: \(b)", brief(a))
        case (.failure(let a), .success(let b)):
            oracleFailure("the cursor walk succeeded but materialize() failed: \(a)", brief(b))
        }
    }

    /// The differential round trip: a decoded value re-encodes, the encoding decodes to
    /// an equal value under the same limits, and encoding that again gives the same bytes
    /// (the encoder's choice of forms is canonical); and the encoding fits a buffer of
    /// exactly its size and no smaller (`checkBoundedEncoding`).
    @discardableResult
    static func roundTrip(_ value: AMQPValue, limits: DecodeLimits) -> [UInt8] {
        let bytes: [UInt8]
        switch Result(catching: { () throws(EncodeError) -> [UInt8] in try value.encoded() }) {
        case .success(let b): bytes = b
        case .failure(let e): oracleFailure("a decoded value does not re-encode: \(e)", brief(value))
        }
        let again: AMQPValue
        switch Result(catching: { () throws(DecodeError) -> AMQPValue in try AMQPValue(decoding: bytes, limits: limits) }) {
        case .success(let v): again = v
        case .failure(let e):
            oracleFailure("a re-encoded value does not decode: \(e)", "value: \(brief(value))\nbytes: \(hexBrief(bytes))")
        }
        expect(again == value, "the round trip changed the value:\n  before: \(brief(value))\n  after:  \(brief(again))\n  bytes: \(hexBrief(bytes))")
        switch Result(catching: { () throws(EncodeError) -> [UInt8] in try again.encoded() }) {
        case .success(let b): expect(b == bytes, "encoding is not canonical:\n  \(hexBrief(bytes))\n  \(hexBrief(b))")
        case .failure(let e): oracleFailure("a round-tripped value does not re-encode: \(e)", brief(again))
        }
        checkBoundedEncoding("value \(brief(value, limit: 200))", expected: bytes) { (e) throws(EncodeError) in try value.encode(into: &e) }
        return bytes
    }

    /// The encoder's promise: a value fits a buffer of exactly its encoded size, and
    /// any smaller buffer throws `bufferTooSmall` without writing past its end. Buffers
    /// are allocated to size, so AddressSanitizer sees any overrun. `encode` must write
    /// exactly `expected`.
    static func checkBoundedEncoding(_ what: @autoclosure () -> String, expected: [UInt8], _ encode: (inout AMQPEncoder) throws(EncodeError) -> Void) {
        let n = expected.count
        var capacities = [n, n - 1, n / 2, 0]
        if n > 8 { capacities.append(n - 7) }
        for capacity in capacities where capacity >= 0 && (capacity == n || capacity < n) {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
            defer { buffer.deallocate() }
            var e = AMQPEncoder(buffer)
            switch Result(catching: { () throws(EncodeError) in try encode(&e) }) {
            case .success:
                expect(capacity == n, "\(what()): encoded \(e.count) bytes into \(capacity), but the encoding takes \(n)")
                expect(e.count == n && Array(e.written) == expected, "\(what()): encoding into a caller's buffer differs from the growing-buffer encoding")
            case .failure(let err):
                expect(capacity < n, "\(what()): encoding into a buffer of exactly its size (\(n) bytes) failed: \(err)")
                expect(err.code == .bufferTooSmall, "\(what()): encoding into \(capacity) bytes failed with \(err), not bufferTooSmall")
                expect(e.count <= capacity, "\(what()): the encoder counts \(e.count) bytes in a \(capacity)-byte buffer")
            }
        }
    }
}
