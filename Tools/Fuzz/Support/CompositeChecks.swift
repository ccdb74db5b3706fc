// EXTENSION POINT for composite types: performatives, SASL bodies, delivery states,
// terminus types, message sections and whole messages.
//
// `Walk` hands every described value it meets, at any depth, to `CompositeChecks.check`;
// the frame target hands every frame to `checkFrame`, and transfer payloads reach
// `checkMessage`. To fuzz a new composite type with `init(decoding: DescribedView)` and
// `encode(into:)`, add a case to the switch in `check`:
//
//     case Descriptors.foo: roundTrip(d, { (d) throws(DecodeError) in try Foo(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
//
// and both targets exercise it from then on with the oracle of `roundTrip`.

import AMQPCodec

enum CompositeChecks {
    /// Decodes `d` as the composite its descriptor names, when the codec has a type for it.
    static func check(_ d: DescribedView) {
        guard let code = d.descriptor.knownCode else { return }
        switch code {
        case Descriptors.open...Descriptors.close:
            roundTrip(d, { (d) throws(DecodeError) in try Performative(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.saslMechanisms...Descriptors.saslOutcome:
            roundTrip(d, { (d) throws(DecodeError) in try SASLPerformative(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.error:
            roundTrip(d, { (d) throws(DecodeError) in try AMQPError(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.received...Descriptors.modified, Descriptors.declared, Descriptors.transactionalState:
            roundTrip(d, { (d) throws(DecodeError) in try DeliveryState(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.source:
            roundTrip(d, { (d) throws(DecodeError) in try Source(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.target:
            roundTrip(d, { (d) throws(DecodeError) in try Target(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.coordinator:
            roundTrip(d, { (d) throws(DecodeError) in try Coordinator(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.deleteOnClose...Descriptors.deleteOnNoLinksOrMessages:
            roundTrip(d, { (d) throws(DecodeError) in try LifetimePolicy(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.header:
            roundTrip(d, { (d) throws(DecodeError) in try MessageHeader(decoding: d) }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        case Descriptors.properties:
            roundTrip(d, { (d) throws(DecodeError) in try MessagePropertiesView(decoding: d).materialize() }, { (v, e) throws(EncodeError) in try v.encode(into: &e) })
        default:
            break
        }
    }

    /// Checks a whole frame beyond what `FuzzFrameDecoder` checks for every frame: the
    /// typed performative agrees with the frame type, and a transfer's payload is a
    /// message (see `checkMessage`).
    static func checkFrame(_ frame: FrameView, limits: DecodeLimits, input: ClosedRange<Int>) {
        guard let p = frame.performative else { return }
        let amqp = Result { () throws(DecodeError) in try frame.performativeValue() }
        let sasl = Result { () throws(DecodeError) in try frame.saslPerformative() }
        switch frame.header.type {
        case .amqp:
            expect((try? sasl.get()) == nil, "an AMQP frame yields a SASL performative")
            if case .success(.transfer?) = amqp, frame.payload.count > 0 {
                checkMessage(frame.payload.bytes, baseOffset: frame.payload.offset, limits: limits, input: input)
            }
            if case .success(let v?) = amqp {
                expect((try? Performative(decoding: p)) == v, "performativeValue() differs from Performative(decoding:)")
            }
        case .sasl:
            expect((try? amqp.get()) == nil, "a SASL frame yields an AMQP performative")
        }
    }

    /// The message oracle: a payload that makes a `MessageView` has consistent views
    /// (bare message and body sections inside the payload, section counts and byte
    /// counts as walked), materializes (the view promises it cannot fail once made) to
    /// the same `Message` as `Message(decoding:)`, and that message round-trips through
    /// its encoding with a canonical encoding that fits a buffer of exactly its size.
    static func checkMessage(_ payload: UnsafeRawBufferPointer, baseOffset: Int, limits: DecodeLimits, input: ClosedRange<Int>) {
        let view: MessageView
        switch Result(catching: { () throws(DecodeError) -> MessageView in try MessageView(payload, baseOffset: baseOffset, limits: limits) }) {
        case .success(let v): view = v
        case .failure(let e):
            Oracles.checkOffset(e, within: input)
            return
        }
        expect(contains(payload, payload.count, view.bareMessage.bytes), "the bare message points outside the payload")
        switch view.body {
        case .data(let sections)?:
            var count = 0, bytes = 0
            for piece in sections {
                expect(contains(payload, payload.count, piece.bytes), "a data section points outside the payload")
                if count == 0 { expect(piece.bytes.baseAddress == sections.first.bytes.baseAddress && piece.count == sections.first.count, "first data section differs from the walk") }
                count += 1
                bytes += piece.count
            }
            expect(count == sections.count && bytes == sections.byteCount,
                   "data sections: \(sections.count) sections of \(sections.byteCount) bytes announced, \(count) of \(bytes) walked")
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 1)
            defer { buffer.deallocate() }
            expect(sections.copyBytes(to: buffer) == bytes, "copyBytes copied a different number of bytes")
        case .sequence(let sections)?:
            var count = 0
            for _ in sections { count += 1 }
            expect(count == sections.count, "amqp-sequence: \(sections.count) sections announced, \(count) walked")
        case .value?, nil:
            break
        }
        let message: Message
        switch Result(catching: { () throws(DecodeError) -> Message in try view.materialize() }) {
        case .success(let m): message = m
        case .failure(let e): oracleFailure("a MessageView that was made does not materialize: \(e)")
        }
        let direct = Result { () throws(DecodeError) -> Message in try Message(decoding: payload, limits: limits) }
        expect((try? direct.get()) == message, "Message(decoding:) differs from MessageView.materialize()")

        let bytes: [UInt8]
        switch Result(catching: { () throws(EncodeError) -> [UInt8] in try message.encoded() }) {
        case .success(let b): bytes = b
        case .failure(let e): oracleFailure("a decoded message does not re-encode: \(e)", brief(message))
        }
        // Message.encode writes an amqp-value null body for a message without one.
        var expected = message
        if expected.body == nil { expected.body = .value(.null) }
        switch Result(catching: { () throws(DecodeError) -> Message in try Message(decoding: bytes, limits: limits) }) {
        case .success(let again):
            expect(again == expected, "the message round trip changed it:\n  \(brief(expected))\n  \(brief(again))\n  bytes: \(hexBrief(bytes))")
            expect((try? again.encoded()) == bytes, "message encoding is not canonical: \(hexBrief(bytes))")
            Oracles.checkBoundedEncoding("message", expected: bytes) { (e) throws(EncodeError) in try message.encode(into: &e) }
        case .failure(let e):
            oracleFailure("a re-encoded message does not decode: \(e)", "message: \(brief(message))\nbytes: \(hexBrief(bytes))")
        }
    }

    /// The composite oracle: when `decode` accepts `d`, then encoding the result and
    /// decoding that encoding gives an equal value, encoding is canonical (a second
    /// encode gives the same bytes), and it fits a buffer of exactly its size and no
    /// smaller. Rejecting `d` is fine.
    static func roundTrip<T: Equatable>(
        _ d: DescribedView,
        _ decode: (DescribedView) throws(DecodeError) -> T,
        _ encode: (T, inout AMQPEncoder) throws(EncodeError) -> Void
    ) {
        let decoded: T
        switch Result(catching: { () throws(DecodeError) -> T in try decode(d) }) {
        case .success(let v): decoded = v
        case .failure: return
        }
        let bytes: [UInt8]
        switch Result(catching: { () throws(EncodeError) -> [UInt8] in try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(decoded, &e) } }) {
        case .success(let b): bytes = b
        case .failure(let e): oracleFailure("decoded \(T.self) does not re-encode: \(e)", brief(decoded))
        }
        let again = Result { () throws(DecodeError) -> T in
            try withUnsafeBytesTyped(bytes) { (raw) throws(DecodeError) -> T in
                let (view, consumed) = try ValueDecoder.decode(raw)
                guard consumed == raw.count else { throw DecodeError(.sizeMismatch, at: consumed, detail: "bytes after the value") }
                guard case .described(let d2) = view else { throw DecodeError(.unexpectedType, at: 0, detail: "not described") }
                return try decode(d2)
            }
        }
        switch again {
        case .success(let v):
            expect(v == decoded, "\(T.self) round trip changed the value:\n  \(brief(decoded))\n  \(brief(v))\n  bytes: \(hexBrief(bytes))")
            let bytes2 = Result(catching: { () throws(EncodeError) -> [UInt8] in try AMQPEncoder.encode { (e) throws(EncodeError) in try encode(v, &e) } })
            expect((try? bytes2.get()) == bytes, "\(T.self) encoding is not canonical: \(hexBrief(bytes))")
            Oracles.checkBoundedEncoding("\(T.self)", expected: bytes) { (e) throws(EncodeError) in try encode(v, &e) }
        case .failure(let e):
            oracleFailure("re-encoded \(T.self) does not decode: \(e)", "value: \(brief(decoded))\nbytes: \(hexBrief(bytes))")
        }
    }
}

/// True when `part` lies within the first `length` bytes of `whole`.
func contains(_ whole: UnsafeRawBufferPointer, _ length: Int, _ part: UnsafeRawBufferPointer) -> Bool {
    guard let p = part.baseAddress else { return part.isEmpty }
    guard let base = whole.baseAddress else { return false }
    return p >= base && p + part.count <= base + length
}

/// `Array.withUnsafeBytes` is `rethrows`, which erases a typed error; this keeps it.
func withUnsafeBytesTyped<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let r: Result<R, E> = array.withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
    return try r.get()
}
