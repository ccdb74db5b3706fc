// swift-tools-version: 6.1
// Benchmarks for swift-amqp, kept in a nested package so that the main package graph
// carries no benchmark dependencies. Run with `make bench` from the repository root.
import PackageDescription

// A path dependency's identity is its directory's name, which differs between clones
// (`swift-amqp`, `main`, a CI folder): derive it instead of spelling it.
let root = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "swift-amqp"
let amqp = root.lowercased()

let package = Package(
    name: "swift-amqp-benchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Runs one codec operation N times, for callgrind instruction counts.
        .executableTarget(
            name: "CodecProbe",
            dependencies: [
                .product(name: "AMQPCodec", package: amqp),
                .product(name: "AMQPTool", package: amqp),
            ],
            path: "Probes/CodecProbe"
        ),
        // Moves N messages between two engines in memory, for callgrind instruction counts.
        .executableTarget(
            name: "EngineProbe",
            dependencies: [.product(name: "AMQPTool", package: amqp)],
            path: "Probes/EngineProbe"
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AMQPTool", package: amqp),
            ],
            path: "Benchmarks/EngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The reactor over loopback, epoll and io_uring side by side (BENCHMARKS.md), and
        // copy against gather for outbound payloads (Docs/reactor.md).
        .executableTarget(
            name: "ReactorProbe",
            dependencies: [
                .product(name: "AMQPReactor", package: amqp),
                .product(name: "AMQPEngine", package: amqp),
                .product(name: "AMQPCodec", package: amqp),
                .product(name: "AMQPTool", package: amqp),
            ],
            path: "Probes/ReactorProbe"
        ),
        // Messages through TLSConnection in memory: directly joined engines, the
        // plaintext wrapper and TLS side by side (Docs/tls.md).
        .executableTarget(
            name: "TLSProbe",
            dependencies: [
                .product(name: "AMQPTLS", package: amqp),
                .product(name: "AMQPWebSocket", package: amqp),
                .product(name: "AMQPReactor", package: amqp),
                .product(name: "AMQPEngine", package: amqp),
                .product(name: "AMQPTool", package: amqp),
            ],
            path: "Probes/TLSProbe"
        ),
        // Mirrored against compacting ByteRing storage (Docs/reactor.md).
        .executableTarget(
            name: "RingProbe",
            dependencies: [.product(name: "AMQPReactor", package: amqp)],
            path: "Benchmarks/RingProbe"
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AMQPCodec", package: amqp),
                .product(name: "AMQPTool", package: amqp),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
