// fuzz-corpus: frame
//
// Input: one configuration byte, then a byte stream as a peer sends it: optionally a
// protocol header (when the stream starts with "AMQP"), then frames back to back.
// Configuration byte: bits 0-2 pick max-frame-size 512 << n (512 ... 64 KiB); bits 3-4
// pick decode limits (default, depth 4, 16 elements, depth 2 and 4 elements).
//
// Oracles:
// - a protocol header decodes the same from every prefix of it: `needMore(8 - k)` until
//   the first wrong byte, then the same error;
// - `FrameDecoder` never asks for bytes beyond what the header demands: before 8 bytes
//   it wants the rest of the header; after, exactly the rest of the frame, and it throws
//   (never waits) for a frame over max-frame-size;
// - every prefix of a frame that decodes is `needMore`; a header error is the same
//   error from every prefix that holds the header;
// - a frame's parts tile it: extended header, performative, payload, with offsets;
// - the performative and any values in the payload decode completely and round-trip
//   (see FuzzValueDecoder), and the frame re-encodes to an equal frame;
// - the typed performative agrees with the frame type, and a transfer's payload passes
//   the message oracle (`CompositeChecks.checkFrame`, the extension point).

import AMQPCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let config = data[0]
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let limits: DecodeLimits
    switch (config >> 3) & 3 {
    case 0: limits = .default
    case 1: limits = DecodeLimits(maxDepth: 4)
    case 2: limits = DecodeLimits(maxElements: 16)
    default: limits = DecodeLimits(maxDepth: 2, maxElements: 4)
    }
    let decoder = FrameDecoder(maxFrameSize: 512 << UInt32(config & 7), limits: limits)

    var position = 0
    if stream.starts(with: [0x41, 0x4D, 0x51, 0x50]) {
        guard checkProtocolHeader(stream) else { return 0 }
        position = ProtocolHeader.size
    }
    var frames = 0
    while position < stream.count && frames < 4096 {
        let rest = UnsafeRawBufferPointer(rebasing: stream[position...])
        let onePass = decoder.decodeTransferFrame(rest, baseOffset: position)
        switch Result(catching: { () throws(DecodeError) in try decoder.decode(rest, baseOffset: position) }) {
        case .failure(let e):
            expect(onePass == nil, "decodeTransferFrame accepts a frame that decode rejects with \(e)")
            Oracles.checkOffset(e, within: position...stream.count)
            checkFailurePrefixes(rest, error: e, decoder: decoder, base: position)
            return 0
        case .success(.needMore(let n)):
            expect(onePass == nil, "decodeTransferFrame accepts a frame that decode wants \(n) more bytes for")
            checkNeedMore(rest, asked: n, decoder: decoder)
            return 0
        case .success(.frame(let frame)):
            if let onePass { checkOnePassTransfer(onePass, frame) }
            checkFrame(frame, in: rest, at: position, decoder: decoder, streamSize: stream.count)
            position += frame.length
            frames += 1
        }
    }
    return 0
}

/// Decodes the header from every prefix of the first 8 bytes; returns whether it is valid.
/// `decodeTransferFrame` accepted the frame `decode` cut as `frame`: both must read the
/// same TRANSFER, channel, payload and length.
func checkOnePassTransfer(_ t: TransferFrame, _ frame: FrameView) {
    expect(frame.header.type == .amqp && t.channel == frame.header.channel && t.length == frame.length,
           "one-pass TRANSFER frame of \(t.length) bytes on channel \(t.channel); decode: \(frame.header)")
    expect(t.payload.baseAddress == frame.payload.bytes.baseAddress && t.payload.count == frame.payload.count,
           "one-pass payload of \(t.payload.count) bytes; decode: \(frame.payload.count) at \(frame.payload.offset)")
    guard let body = frame.performative, body.descriptor.knownCode == Descriptors.transfer else {
        oracleFailure("decodeTransferFrame accepts a frame whose performative is not a TRANSFER")
    }
    let general = Result { () throws(DecodeError) in try TransferView(decoding: body).transfer() }
    let fused = Result { () throws(DecodeError) in try t.transfer.transfer() }
    guard case .success(let a) = general, case .success(let b) = fused else {
        oracleFailure("one-pass TRANSFER \(fused), general \(general)")
    }
    expect(a == b, "one-pass TRANSFER \(b), general \(a)")
}

func checkProtocolHeader(_ stream: UnsafeRawBufferPointer) -> Bool {
    let whole = UnsafeRawBufferPointer(rebasing: stream.prefix(ProtocolHeader.size))
    let full = Result { () throws(DecodeError) in try ProtocolHeader.decode(whole) }
    for k in 0..<whole.count {
        let part = Result { () throws(DecodeError) in try ProtocolHeader.decode(UnsafeRawBufferPointer(rebasing: whole[0..<k])) }
        switch (full, part) {
        case (.failure(let e), .failure(let p)):
            expect(e == p && e.offset < k, "protocol header prefix \(k) failed with \(p), the whole with \(e)")
        case (.failure(let e), .success(.needMore(let n))):
            expect(e.offset >= k && n == ProtocolHeader.size - k, "protocol header prefix \(k) wants \(n), the whole fails with \(e)")
        case (.success, .success(.needMore(let n))):
            expect(n == ProtocolHeader.size - k, "protocol header prefix \(k) wants \(n) more bytes")
        default:
            oracleFailure("protocol header prefix \(k) decoded as \(part), the whole as \(full)")
        }
    }
    guard case .success(.header(let header)) = full else { return false }
    expect(header.bytes == Array(whole), "protocol header \(header) does not encode to its input bytes")
    return true
}

/// `needMore(n)` for the bytes at hand: the rest of the header, or the rest of a frame
/// the decoder has agreed to take.
func checkNeedMore(_ rest: UnsafeRawBufferPointer, asked n: Int, decoder: FrameDecoder) {
    expect(n >= 1, "needMore(\(n)) asks for nothing")
    if rest.count < FrameHeader.size {
        expect(rest.count + n == FrameHeader.size, "with \(rest.count) bytes, needMore(\(n)) asks beyond the header")
        return
    }
    let size = Int(UInt32(bigEndian: rest.loadUnaligned(as: UInt32.self)))
    expect(size <= Int(decoder.maxFrameSize), "needMore for a \(size)-byte frame over max-frame-size \(decoder.maxFrameSize)")
    expect(rest.count + n == size, "with \(rest.count) bytes of a \(size)-byte frame, needMore(\(n))")
}

/// Every proper prefix of a failing stream either wants more (when the error lies in
/// bytes not yet seen) or fails with the same error.
func checkFailurePrefixes(_ rest: UnsafeRawBufferPointer, error: DecodeError, decoder: FrameDecoder, base: Int) {
    for k in samplePrefixes(rest.count) {
        let part = Result { () throws(DecodeError) in try decoder.decode(UnsafeRawBufferPointer(rebasing: rest[0..<k]), baseOffset: base) }
        switch part {
        case .failure(let p):
            expect(p == error, "prefix \(k) failed with \(p), all \(rest.count) bytes with \(error)")
        case .success(.needMore(let n)):
            expect(k + n <= rest.count || k < FrameHeader.size, "prefix \(k) wants \(n) more, but \(rest.count) bytes already fail with \(error)")
            checkNeedMore(UnsafeRawBufferPointer(rebasing: rest[0..<k]), asked: n, decoder: decoder)
        case .success(.frame):
            oracleFailure("prefix \(k) decodes as a frame, all \(rest.count) bytes fail with \(error)")
        }
    }
}

/// Prefix lengths worth trying: the header bytes one by one, and a few beyond.
func samplePrefixes(_ count: Int) -> [Int] {
    var out = Array(0..<min(count, FrameHeader.size + 2))
    for k in [count / 2, count - 2, count - 1] where k > FrameHeader.size + 1 && k < count && !out.contains(k) {
        out.append(k)
    }
    return out
}

func checkFrame(_ frame: FrameView, in rest: UnsafeRawBufferPointer, at position: Int, decoder: FrameDecoder, streamSize: Int) {
    let length = frame.length
    let header = frame.header
    expect(length >= FrameHeader.size && length <= rest.count, "frame of \(length) bytes cut from \(rest.count)")
    expect(header.size <= decoder.maxFrameSize, "frame of \(length) bytes over max-frame-size \(decoder.maxFrameSize)")
    expect(Int(UInt32(bigEndian: rest.loadUnaligned(as: UInt32.self))) == length
        && header.dataOffset == rest[4] && header.type.rawValue == rest[5]
        && header.channel == UInt16(bigEndian: rest.loadUnaligned(fromByteOffset: 6, as: UInt16.self)),
        "frame header \(header) differs from its bytes \(hexBrief(Array(rest.prefix(8))))")
    let bodyStart = Int(header.dataOffset) * 4
    expect(frame.extendedHeader.count == bodyStart - FrameHeader.size && frame.extendedHeader.offset == position + FrameHeader.size,
           "extended header of \(frame.extendedHeader.count) bytes at \(frame.extendedHeader.offset), data offset \(header.dataOffset)")
    expect(frame.payload.offset + frame.payload.count == position + length, "payload does not end at the end of the frame")
    expect(contains(rest, length, frame.payload.bytes), "payload points outside the frame")
    expect(contains(rest, length, frame.extendedHeader.bytes), "extended header points outside the frame")
    if let p = frame.performative {
        let start = p.encodedValue.offset
        expect(start > position + bodyStart && start < frame.payload.offset, "performative value at \(start) is outside the frame body")
        expect(contains(rest, length, p.encodedValue.bytes), "performative points outside the frame")
    } else {
        expect(bodyStart == length && frame.payload.count == 0, "a frame with a body has no performative")
    }

    for k in samplePrefixes(length) {
        let part = Result { () throws(DecodeError) in try decoder.decode(UnsafeRawBufferPointer(rebasing: rest[0..<k]), baseOffset: position) }
        guard case .success(.needMore(let n)) = part else {
            oracleFailure("prefix \(k) of a \(length)-byte frame decodes as \(part)")
        }
        expect(n >= 1 && k + n == (k < FrameHeader.size ? FrameHeader.size : length),
               "prefix \(k) of a \(length)-byte frame wants \(n) more bytes")
    }

    let input = 0...streamSize
    var performative: AMQPValue? = nil
    if let p = frame.performative, let owned = Oracles.materialize(.described(p), input: input) {
        Oracles.roundTrip(owned, limits: decoder.limits)
        performative = owned
    }
    // A transfer's payload is message sections; other payloads are fuzzed the same way.
    _ = Result { () throws(DecodeError) in
        try ValueDecoder.decodeAll(frame.payload.bytes, baseOffset: frame.payload.offset, limits: decoder.limits) { (view) throws(DecodeError) in
            if let owned = Oracles.materialize(view, input: input) { Oracles.roundTrip(owned, limits: decoder.limits) }
        }
    }
    CompositeChecks.checkFrame(frame, limits: decoder.limits, input: input)
    if frame.performative == nil || performative != nil {
        checkReframe(frame, performative: performative)
    }
}

/// Encodes the frame again (type, channel, performative, payload; no extended header)
/// and decodes it: the parts must survive.
func checkReframe(_ frame: FrameView, performative: AMQPValue?) {
    let encoded = Result { () throws(EncodeError) -> [UInt8] in
        try AMQPEncoder.encode(initialCapacity: frame.length + 64) { (e) throws(EncodeError) in
            if let performative {
                try FrameEncoder.encodeFrame(type: frame.header.type, channel: frame.header.channel, into: &e) { (e) throws(EncodeError) in
                    try performative.encode(into: &e)
                    try e.writeBytes(frame.payload.bytes)
                }
            } else {
                try FrameHeader(size: 8, type: frame.header.type, channel: frame.header.channel).encode(into: &e)
            }
        }
    }
    guard case .success(let bytes) = encoded else { oracleFailure("a decoded frame does not re-encode: \(encoded)") }
    // FrameEncoder rewinds to the frame's start when the buffer is too small, so a
    // partial frame is never left behind.
    if let performative {
        Oracles.checkBoundedEncoding("frame", expected: bytes) { (e) throws(EncodeError) in
            do throws(EncodeError) {
                try FrameEncoder.encodeFrame(type: frame.header.type, channel: frame.header.channel, into: &e) { (e) throws(EncodeError) in
                    try performative.encode(into: &e)
                    try e.writeBytes(frame.payload.bytes)
                }
            } catch {
                expect(e.count == 0, "FrameEncoder left \(e.count) bytes of a partial frame after \(error)")
                throw error
            }
        }
    }
    let payload = Array(frame.payload.bytes)
    let decoded = Result { () throws(DecodeError) -> Bool in
        try withUnsafeBytesTyped(bytes) { (raw) throws(DecodeError) -> Bool in
            guard case .frame(let f) = try FrameDecoder().decode(raw) else { return false }
            guard f.length == raw.count, f.header.type == frame.header.type, f.header.channel == frame.header.channel,
                  f.header.dataOffset == 2, Array(f.payload.bytes) == payload else { return false }
            switch (f.performative, performative) {
            case (nil, nil): return true
            case (let p?, let owned?): return try AMQPValueView.described(p).materialize() == owned
            default: return false
            }
        }
    }
    guard case .success(true) = decoded else {
        oracleFailure("a re-encoded frame decodes differently: \(decoded)", "frame: \(hexBrief(bytes))")
    }
}
