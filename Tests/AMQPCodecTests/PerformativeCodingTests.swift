// Shared helpers for the performative, composite and SASL tests, and the tests of the
// Performative enum itself (dispatch, names, symbolic descriptors).
//
// Expected bytes in these tests are derived by hand from the encoding rules of part 1
// (section 1.6): 0x00 starts a described value, 0x53 is smallulong (the descriptor code
// follows in one byte), 0xc0 is list8 (size, then count, then the elements; size counts
// the count byte and the elements), 0x45 is list0, 0x40 null, 0x41/0x42 true/false,
// 0x43 uint0, 0x52 smalluint, 0x70 uint, 0x50 ubyte, 0xa0 vbin8, 0xa1 str8, 0xa3 sym8,
// 0xe0 array8 (size, count, element constructor, element bodies).

import AMQPCodec
import Testing

/// What every composite in the codec offers; conformances are declared here so the
/// helpers can be generic.
protocol WireComposite: Hashable {
    init(decoding: DescribedView) throws(DecodeError)
    func encode(into: inout AMQPEncoder) throws(EncodeError)
}

extension Open: WireComposite {}
extension Begin: WireComposite {}
extension Attach: WireComposite {}
extension Flow: WireComposite {}
extension Transfer: WireComposite {}
extension Disposition: WireComposite {}
extension Detach: WireComposite {}
extension End: WireComposite {}
extension Close: WireComposite {}
extension Source: WireComposite {}
extension Target: WireComposite {}
extension Coordinator: WireComposite {}
extension AttachTarget: WireComposite {}
extension DeliveryState: WireComposite {}
extension LifetimePolicy: WireComposite {}
extension Performative: WireComposite {}
extension SASLMechanisms: WireComposite {}
extension SASLInit: WireComposite {}
extension SASLChallenge: WireComposite {}
extension SASLResponse: WireComposite {}
extension SASLOutcome: WireComposite {}
extension SASLPerformative: WireComposite {}

/// Bytes from hex text with spaces.
func hexBytes(_ text: String) -> [UInt8] { Hex.decode(text.utf8)! }

func encodedBytes<T: WireComposite>(_ v: T) throws -> [UInt8] {
    try AMQPEncoder.encode { (e) throws(EncodeError) in try v.encode(into: &e) }
}

/// Decodes `bytes`, which must hold exactly one described value, as a `T`.
func decodeCompositeResult<T: WireComposite>(_: T.Type, _ bytes: [UInt8]) -> Result<T, DecodeError> {
    bytes.withUnsafeBytes { raw in
        Result { () throws(DecodeError) -> T in
            let (v, n) = try ValueDecoder.decode(raw)
            guard n == raw.count else { throw DecodeError(.sizeMismatch, at: n, detail: "trailing bytes") }
            guard case .described(let d) = v else { throw DecodeError(.unexpectedType, at: 0, detail: "not described") }
            return try T(decoding: d)
        }
    }
}

func decodeComposite<T: WireComposite>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
    try decodeCompositeResult(type, bytes).get()
}

/// The error decoding `bytes` as a `T` throws, or `nil` (recorded as an issue) when it
/// decodes.
func decodeCompositeError<T: WireComposite>(
    _ type: T.Type, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) -> DecodeError? {
    switch decodeCompositeResult(type, bytes) {
    case .success(let v):
        Issue.record("decoded \(v), expected an error", sourceLocation: sourceLocation)
        return nil
    case .failure(let e): return e
    }
}

/// The error encoding `v` throws, or `nil` (recorded as an issue).
func encodeCompositeError<T: WireComposite>(_ v: T, sourceLocation: SourceLocation = #_sourceLocation) -> EncodeError? {
    do {
        let bytes = try encodedBytes(v)
        Issue.record("encoded \(Hex.encode(bytes)), expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let e as EncodeError {
        return e
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Encodes `v`, decodes the bytes, and expects the same value back; returns the bytes.
@discardableResult
func expectRoundTrip<T: WireComposite>(_ v: T, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
    let bytes = try encodedBytes(v)
    let back = try decodeComposite(T.self, bytes)
    #expect(back == v, "\(Hex.encode(bytes))", sourceLocation: sourceLocation)
    return bytes
}

/// Expects `bytes` to decode to `v` and `v` to encode to `bytes`.
func expectWire<T: WireComposite>(_ v: T, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(Hex.encode(try encodedBytes(v)) == Hex.encode(bytes), sourceLocation: sourceLocation)
    #expect(try decodeComposite(T.self, bytes) == v, sourceLocation: sourceLocation)
}

/// Expects a decode error with `code` whose detail contains `detail`.
func expectDecodeError<T: WireComposite>(
    _ type: T.Type, _ bytes: [UInt8], _ code: DecodeError.Code, detail: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let e = decodeCompositeError(type, bytes, sourceLocation: sourceLocation) else { return }
    #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
    #expect(e.detail.contains(detail), "\(e)", sourceLocation: sourceLocation)
}

/// Expects an encode error `invalidFieldValue` whose detail contains `detail`.
func expectInvalidOnEncode<T: WireComposite>(_ v: T, detail: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let e = encodeCompositeError(v, sourceLocation: sourceLocation) else { return }
    #expect(e.code == .invalidFieldValue, "\(e)", sourceLocation: sourceLocation)
    #expect(e.detail.contains(detail), "\(e)", sourceLocation: sourceLocation)
}

/// One of each performative, with many fields set, for dispatch and frame tests.
let samplePerformatives: [Performative] = [
    .open(Open(containerID: "c1", hostname: "h", maxFrameSize: 65536, channelMax: 255, idleTimeOut: 30000)),
    .begin(Begin(remoteChannel: 1, nextOutgoingID: 0, incomingWindow: 100, outgoingWindow: 100)),
    .attach(Attach(name: "l", handle: 0, role: .sender, source: Source(address: "q"), target: .target(Target(address: "q")),
                   initialDeliveryCount: 0)),
    .flow(Flow(incomingWindow: 10, nextOutgoingID: 1, outgoingWindow: 10, handle: 0, deliveryCount: 0, linkCredit: 50)),
    .transfer(Transfer(handle: 0, deliveryID: 7, deliveryTag: DeliveryTag(7), messageFormat: 0, settled: false)),
    .disposition(Disposition(role: .receiver, first: 1, last: 9, settled: true, state: .accepted)),
    .detach(Detach(handle: 0, closed: true)),
    .end(End(error: AMQPError(condition: ErrorCondition("amqp:session:window-violation")))),
    .close(Close()),
]

@Suite struct PerformativeCodingTests {
    @Test func dispatchesEveryPerformative() throws {
        let names = samplePerformatives.map(\.name)
        #expect(names == ["open", "begin", "attach", "flow", "transfer", "disposition", "detach", "end", "close"])
        for p in samplePerformatives {
            let bytes = try expectRoundTrip(p)
            // The descriptor is the third byte: 00 53 <code>.
            #expect(bytes[2] == UInt8(p.descriptor))
        }
    }

    @Test func symbolicDescriptorsDecodeLikeNumericOnes() throws {
        // 00, then the descriptor as sym8: a3 0e "amqp:open:list" (14 bytes), then the
        // same list as the minimal open: c0 05 01 a1 02 "c1".
        let symbolic = hexBytes("00 a3 0e") + Array("amqp:open:list".utf8) + hexBytes("c0 05 01 a1 02 63 31")
        #expect(try decodeComposite(Open.self, symbolic) == Open(containerID: "c1"))
        #expect(try decodeComposite(Performative.self, symbolic) == .open(Open(containerID: "c1")))

        // amqp:transfer:list (18 bytes = 0x12) with handle 0: c0 02 01 43.
        let transfer = hexBytes("00 a3 12") + Array("amqp:transfer:list".utf8) + hexBytes("c0 02 01 43")
        #expect(try decodeComposite(Performative.self, transfer) == .transfer(Transfer(handle: 0)))

        // amqp:accepted:list (18 bytes) as the state of a disposition(receiver, first 0):
        // role 41, first 43, last 40, settled 40, then the state: 3 + 18 + 1 bytes.
        let accepted = hexBytes("00 a3 12") + Array("amqp:accepted:list".utf8) + hexBytes("45")
        let disposition = hexBytes("00 53 15 c0") + [UInt8(1 + 4 + accepted.count), 5] + hexBytes("41 43 40 40") + accepted
        #expect(try decodeComposite(Disposition.self, disposition) == Disposition(role: .receiver, first: 0, state: .accepted))
    }

    @Test func descriptorsThatAreNotPerformatives() {
        // amqp:error:list (0x1d) with an empty list.
        expectDecodeError(Performative.self, hexBytes("00 53 1d 45"), .unexpectedDescriptor, detail: "0x1d is not an AMQP performative")
        // sasl-init (0x41) is a SASL body, not an AMQP performative.
        expectDecodeError(Performative.self, hexBytes("00 53 41 45"), .unexpectedDescriptor, detail: "0x41")
        // An unknown symbolic descriptor: sym8 of 3 bytes, "x:y", then list0.
        expectDecodeError(Performative.self, hexBytes("00 a3 03 78 3a 79 45"), .unexpectedDescriptor, detail: "x:y")
        // A performative type given the wrong descriptor: begin's code on an open.
        expectDecodeError(Open.self, hexBytes("00 53 11 c0 05 01 a1 02 63 31"), .unexpectedDescriptor, detail: "amqp:open:list")
    }

    @Test func performativeBodyMustBeAList() {
        // 00 53 10, then str8 "" instead of a list.
        expectDecodeError(Open.self, hexBytes("00 53 10 a1 00"), .unexpectedType, detail: "open is not a list")
        expectDecodeError(Transfer.self, hexBytes("00 53 14 43"), .unexpectedType, detail: "transfer is not a list")
    }

    @Test func performativeStaysSmall() {
        // Attach is boxed so that moving a Performative costs no more than a Transfer.
        #expect(MemoryLayout<Performative>.size <= MemoryLayout<Transfer>.size + 1)
    }
}
