import AMQPCodec
import AMQPTool

/// Renders the single value `bytes` hold (all of them) as `amqp decode` prints it.
func renderEncoded(_ bytes: [UInt8], limits: DecodeLimits = .default) throws -> String {
    try bytes.withUnsafeBytes { raw in
        let (view, consumed) = try ValueDecoder.decode(raw, limits: limits)
        guard consumed == raw.count else { throw DecodeError(.sizeMismatch, at: consumed, detail: "trailing bytes") }
        return try JSONRenderer.render(view)
    }
}

/// Encodes `value` with the codec's encoder and renders it.
func render(_ value: AMQPValue) throws -> String {
    try renderEncoded(try value.encoded())
}

/// Bytes from hex text (white space allowed); traps on bad input, which is a test bug.
func bytes(_ hex: String) -> [UInt8] {
    guard let b = Hex.decode(Array(hex.utf8)) else { fatalError("bad hex in test: \(hex)") }
    return b
}
