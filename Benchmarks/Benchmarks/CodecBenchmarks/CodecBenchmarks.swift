// Codec benchmarks: encode and decode of a TRANSFER frame carrying a message with a
// header, properties and a data section (the workload `amqp bench` also measures), at
// 100 bytes and 64 KiB of body. Decoding is measured twice: cutting the frame and
// decoding its TRANSFER (the engine's per-frame work, payload left a view), and that
// plus reading the message's sections as views (what a consumer adds). Targets
// (issue 2): ≤ 100 ns and 0 allocations per operation for the 100-byte frame; 64 KiB
// decode costs the same as 100-byte decode because the body stays a view.
import AMQPCodec
import AMQPTool
import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .instructions, .mallocCountTotal, .throughput],
        warmupIterations: 1_000,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        // Allocation counts are exact and machine-independent: guard them strictly.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    for size in [100, 65_536] {
        let workload = CodecWorkload(payloadSize: size)
        let label = size == 100 ? "100 B" : "64 KiB"

        Benchmark("Encode transfer frame, \(label) body") { benchmark in
            var buffer = [UInt8](repeating: 0, count: workload.frame.count + 64)
            buffer.withUnsafeMutableBytes { raw in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try! workload.encodeFrame(into: raw))
                }
                benchmark.stopMeasurement()
            }
        }

        Benchmark("Decode transfer frame (TRANSFER, payload a view), \(label) body") { benchmark in
            let decoder = FrameDecoder(maxFrameSize: UInt32.max)
            workload.frame.withUnsafeBytes { raw in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try! CodecWorkload.decodeTransfer(raw, decoder: decoder))
                }
                benchmark.stopMeasurement()
            }
        }

        Benchmark("Decode transfer frame and message sections, \(label) body") { benchmark in
            let decoder = FrameDecoder(maxFrameSize: UInt32.max)
            workload.frame.withUnsafeBytes { raw in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try! CodecWorkload.decodeFrame(raw, decoder: decoder))
                }
                benchmark.stopMeasurement()
            }
        }

        Benchmark("Decode transfer frame and message sections, general decoder, \(label) body") { benchmark in
            let decoder = FrameDecoder(maxFrameSize: UInt32.max)
            workload.frame.withUnsafeBytes { raw in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(try! CodecWorkload.decodeFrameGeneral(raw, decoder: decoder))
                }
                benchmark.stopMeasurement()
            }
        }
    }
}
