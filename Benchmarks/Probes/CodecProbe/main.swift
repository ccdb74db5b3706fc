// CodecProbe: runs one codec operation N times on the `amqp bench` workload, for
// instruction counts under `valgrind --tool=callgrind` (repeatable on a busy machine,
// where wall-clock figures are not). Usage: CodecProbe encode|transfer|decode|decode-general N [SIZE]
import AMQPCodec
import Glibc
import AMQPTool

let args = CommandLine.arguments
guard args.count >= 3, let n = Int(args[2]) else {
    print("usage: CodecProbe encode|transfer|decode|decode-general N [SIZE]")
    exit(2)
}
let workload = CodecWorkload(payloadSize: args.count > 3 ? Int(args[3]) ?? 100 : 100)
let decoder = FrameDecoder(maxFrameSize: UInt32.max)
var buffer = [UInt8](repeating: 0, count: workload.frame.count + 64)
var sink = 0
switch args[1] {
case "encode":
    buffer.withUnsafeMutableBytes { raw in for _ in 0..<n { sink &+= try! workload.encodeFrame(into: raw) } }
case "transfer":
    workload.frame.withUnsafeBytes { raw in for _ in 0..<n { sink &+= try! CodecWorkload.decodeTransfer(raw, decoder: decoder).checksum } }
case "decode":
    workload.frame.withUnsafeBytes { raw in for _ in 0..<n { sink &+= try! CodecWorkload.decodeFrame(raw, decoder: decoder).checksum } }
case "decode-general":
    workload.frame.withUnsafeBytes { raw in for _ in 0..<n { sink &+= try! CodecWorkload.decodeFrameGeneral(raw, decoder: decoder).checksum } }
default:
    print("unknown operation \(args[1])")
    exit(2)
}
print("\(args[1]) x\(n): checksum \(sink)")
