// Engine benchmarks (issue 3): a client and a listener `ConnectionEngine` joined in
// memory — no sockets — moving at-least-once 100-byte messages (header, properties,
// data section; `EngineWorkload`) with credit 1000, the receiver settling accepted in
// ranges. One benchmark iteration is one message, both engines' work together, counted
// once its outcome is back at the sender. Targets: ≥ 5M msg/s on one core (≤ 200 ns per
// message) and 0 allocations per message.
import AMQPTool
import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        // No .instructions: this machine exposes no hardware counters (EngineProbe +
        // callgrind gives instruction counts instead).
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 0,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        // Allocation counts are exact and machine-independent: guard them strictly.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 0])]
    )

    Benchmark("Engine pair, 100 B at-least-once, credit 1000, settled in ranges") { benchmark in
        var workload = EngineWorkload(payloadSize: 100, credit: 1_000)
        // Grow every queue and buffer to its working size before measuring.
        _ = workload.run(messages: 20_000)
        benchmark.startMeasurement()
        // scaledIterations is 1,000 per sample: each sample moves 1,000 messages.
        blackHole(workload.run(messages: benchmark.scaledIterations.count))
        benchmark.stopMeasurement()
    }
}
