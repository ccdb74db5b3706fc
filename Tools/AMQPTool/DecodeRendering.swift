public import AMQPCodec

/// What `amqp decode` does with its bytes once it has read them: hex text to bytes, then
/// values or a capture's headers and frames to JSON lines.
///
/// Kept apart from `DecodeCommand` (no ArgumentParser, no Foundation) so that the fuzz
/// target `Tools/Fuzz/FuzzDecodeCommand.swift` compiles and runs exactly this code.
public enum DecodeRendering {
    /// The most JSON (in bytes, newlines included) an input of `inputSize` bytes may
    /// print: 64 KiB plus 256 bytes per input byte.
    ///
    /// Every construct but one prints a bounded number of bytes per input byte (a 1-byte
    /// null prints 16, a zero-width array at most 16 elements per array); the exception is
    /// a described array, which repeats its descriptor in every element (see
    /// `JSONRenderer`). A real capture stays far below this; a crafted one stops with a
    /// `tooManyElements` error instead of filling memory.
    public static func outputLimit(inputSize: Int) -> Int {
        let (perByte, overflowed) = inputSize.multipliedReportingOverflow(by: 256)
        let (limit, overflowedAgain) = perByte.addingReportingOverflow(1 << 16)
        return overflowed || overflowedAgain ? .max : limit
    }

    /// Calls `line` with each JSON line (without its newline) of `input`: values back to
    /// back, or with `frames`, protocol headers and frames.
    ///
    /// - Throws: the first `DecodeError`: malformed input, a capture that ends inside a
    ///   header or frame, or output past `outputLimit(inputSize:)`. The lines before it
    ///   have been passed to `line`.
    public static func render(
        _ input: UnsafeRawBufferPointer, frames: Bool, limits: DecodeLimits, line: (String) -> Void
    ) throws(DecodeError) {
        var left = outputLimit(inputSize: input.count)
        func emit(_ text: String) {
            left -= text.utf8.count + 1
            line(text)
        }
        if frames {
            try FrameStream.walk(input, decoder: FrameDecoder(limits: limits)) { (item) throws(DecodeError) in
                switch item {
                case .protocolHeader(let header): emit(JSONRenderer.render(header))
                case .frame(let frame): emit(try JSONRenderer.render(frame, byteLimit: max(0, left)))
                }
            }
        } else {
            try ValueDecoder.decodeAll(input, limits: limits) { (value) throws(DecodeError) in
                emit(try JSONRenderer.render(value, byteLimit: max(0, left)))
            }
        }
    }

    /// Why hexadecimal text could not be read.
    public struct HexError: Error, CustomStringConvertible {
        /// The first character that is neither a hex digit nor white space, or an odd
        /// digit count.
        public let description: String
    }

    /// The bytes that hexadecimal `text` spells (white space ignored).
    public static func bytes(fromHex text: [UInt8]) throws(HexError) -> [UInt8] {
        if let decoded = Hex.decode(text) { return decoded }
        for (i, c) in text.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), 0x20, 0x09, 0x0A, 0x0D:
                continue
            default:
                throw HexError(description: "not hexadecimal: byte 0x\(Hex.encode([c])) at character \(i)")
            }
        }
        throw HexError(description: "not hexadecimal: odd number of digits")
    }
}
