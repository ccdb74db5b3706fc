public import AMQPCodec

/// Walks one direction of a captured AMQP connection: protocol headers and frames, in
/// the order they were sent.
///
/// A protocol header may open the capture and may appear again at any frame boundary:
/// SASL runs as its own layer (`AMQP 3 1.0.0`, SASL frames, then `AMQP 0 1.0.0` and the
/// AMQP frames), and a client may send the second header before it has seen the
/// `sasl-outcome`. Eight bytes starting with `AMQP` at a frame boundary are therefore read
/// as a header. (A frame whose size field spells `AMQP` would be 1,095,586,128 bytes
/// long; no real capture holds one.)
public enum FrameStream {
    /// One item of a capture.
    public enum Item {
        /// A protocol header.
        case protocolHeader(ProtocolHeader)
        /// A frame, borrowed from the capture.
        case frame(FrameView)
    }

    /// Calls `body` with each header and frame of `bytes`, in order.
    ///
    /// Throws the first `DecodeError` met: from `body`, from the frame decoder, or
    /// `truncated` when the capture ends inside a header or frame (its offset is the end
    /// of the input).
    public static func walk(
        _ bytes: UnsafeRawBufferPointer, decoder: FrameDecoder = FrameDecoder(),
        _ body: (Item) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        var position = 0
        while position < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
            if startsWithMagic(rest) {
                switch try ProtocolHeader.decode(rest, baseOffset: position) {
                case .needMore(let n):
                    throw DecodeError(
                        .truncated, at: bytes.count, detail: "protocol header at byte \(position) needs \(n) more bytes",
                        condition: .framingError)
                case .header(let header):
                    try body(.protocolHeader(header))
                    position += ProtocolHeader.size
                }
                continue
            }
            switch try decoder.decode(rest, baseOffset: position) {
            case .needMore(let n):
                throw DecodeError(
                    .truncated, at: bytes.count, detail: "frame at byte \(position) needs \(n) more bytes",
                    condition: .framingError)
            case .frame(let frame):
                try body(.frame(frame))
                position += frame.length
            }
        }
    }

    static func startsWithMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x41 && bytes[1] == 0x4D && bytes[2] == 0x51 && bytes[3] == 0x50
    }
}
