// swift-tools-version: 6.1
// swift-amqp: an AMQP 1.0 connection core for Swift on Linux.
// Layers (arrows point down only): AMQP → AMQPReactor/AMQPTesting → AMQPEngine → AMQPCodec.
// Benchmarks live in the nested package Benchmarks/, so this graph has no benchmark deps.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-amqp",
    products: [
        .library(name: "AMQPCodec", targets: ["AMQPCodec"]),
        .library(name: "AMQPEngine", targets: ["AMQPEngine"]),
        .library(name: "AMQPTesting", targets: ["AMQPTesting"]),
        .library(name: "AMQPReactor", targets: ["AMQPReactor"]),
        .library(name: "AMQPTLS", targets: ["AMQPTLS"]),
        .library(name: "AMQPWebSocket", targets: ["AMQPWebSocket"]),
        .library(name: "AMQPPeer", targets: ["AMQPPeer"]),
        .library(name: "AMQPTool", targets: ["AMQPTool"]),
        .library(name: "AMQP", targets: ["AMQP"]),
        .executable(name: "amqp", targets: ["amqp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // The AMQP 1.0 type system, frames, performatives and message sections.
        // Imports nothing: no Glibc, no Foundation.
        .target(name: "AMQPCodec", swiftSettings: strict),
        // Sans-I/O state machines: connection, SASL, sessions, links; both roles.
        .target(name: "AMQPEngine", dependencies: ["AMQPCodec"], swiftSettings: strict),
        // Shipped test support: virtual clock, in-memory transport, scripted peer, frame
        // decoding and assertions, for stepping connections by hand.
        .target(name: "AMQPTesting", dependencies: ["AMQPEngine", "AMQPCodec"], swiftSettings: strict),
        // The public API users import: Connection, Session, MessageSender and
        // MessageReceiver over the reactor; settings, errors and retry, redirect, CBS token
        // auth, frame tracing through swift-log.
        .target(
            name: "AMQP",
            dependencies: ["AMQPReactor", "AMQPTLS", "AMQPWebSocket", "AMQPEngine", "AMQPCodec", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // C shim over epoll, eventfd, timerfd and liburing.
        .target(
            name: "CAMQPLinux",
            linkerSettings: [.linkedLibrary("uring")]
        ),
        // One thread driving many connections over epoll or io_uring: byte rings,
        // sockets, timers, wake-ups.
        .target(
            name: "AMQPReactor",
            dependencies: ["AMQPEngine", "AMQPCodec", "CAMQPLinux"],
            swiftSettings: strict
        ),
        // C shim over OpenSSL 3 (libssl-dev): contexts, sessions on memory BIOs, the
        // error queue, and the macros Swift cannot import.
        .target(
            name: "CAMQPTLS",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // TLS as a sans-I/O layer the reactor drives like any machine: TLSConnection
        // around ConnectionEngine (or any SansIOConnection).
        .target(
            name: "AMQPTLS",
            dependencies: ["AMQPReactor", "AMQPEngine", "CAMQPTLS"],
            swiftSettings: strict
        ),
        // AMQP over WebSocket (RFC 6455, subprotocol amqp) as a sans-I/O layer:
        // WebSocketConnection around ConnectionEngine, under TLS or alone.
        .target(
            name: "AMQPWebSocket",
            dependencies: ["AMQPReactor", "AMQPEngine"],
            swiftSettings: strict
        ),
        // The embedded peer: a small broker on the engine's listening role and one
        // reactor (queues, at-least-once, SASL, $cbs, faults for tests). Its own target
        // so client tests and the tool use it without each other's dependencies.
        .target(
            name: "AMQPPeer",
            dependencies: ["AMQPReactor", "AMQPTLS", "AMQPWebSocket", "AMQPEngine", "AMQPCodec"],
            swiftSettings: strict
        ),
        // What the `amqp` command does, as a library so tests can drive it in-process.
        .target(
            name: "AMQPTool",
            dependencies: [
                "AMQP",
                "AMQPCodec",
                "AMQPEngine",
                "AMQPReactor",
                "AMQPPeer",
                "AMQPWebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/AMQPTool",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "amqp",
            dependencies: ["AMQPTool"],
            path: "Tools/amqp",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPCodecTests",
            dependencies: [
                "AMQPCodec",
                "AMQPTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPEngineTests", dependencies: ["AMQPEngine", "AMQPCodec", "AMQPTesting", "AMQPHostileCases"],
            swiftSettings: strict
        ),
        // The hostile-peer cases (bytes a broken or malicious peer sends, and what the engine
        // must answer), shared by the engine's in-memory suite and the reactor's suite over
        // real sockets; test support, in no product.
        .target(
            name: "AMQPHostileCases", dependencies: ["AMQPEngine", "AMQPCodec", "AMQPTesting"],
            path: "Tests/Support/AMQPHostileCases", swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPTests",
            dependencies: ["AMQP", "AMQPEngine", "AMQPCodec", "AMQPTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Connection, sessions and links over real loopback sockets, against a small
        // broker made in the test from server-role engines on a reactor.
        .testTarget(
            name: "AMQPConnectionTests",
            dependencies: ["AMQP", "AMQPReactor", "AMQPTLS", "AMQPWebSocket", "AMQPEngine", "AMQPCodec", "AMQPTesting", "AMQPHostileCases"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPReactorTests",
            dependencies: ["AMQPReactor", "AMQPEngine", "AMQPCodec", "AMQPTesting", "AMQPHostileCases", "CAMQPLinux"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPPeerTests",
            dependencies: ["AMQPPeer", "AMQPReactor", "AMQPTLS", "AMQPWebSocket", "AMQPEngine", "AMQPCodec", "AMQP", "AMQPTesting", "AMQPTestCertificates"],
            swiftSettings: strict
        ),
        // Certificates made at run time for the TLS tests; test support, in no product.
        .target(name: "AMQPTestCertificates", path: "Tests/Support/AMQPTestCertificates", swiftSettings: strict),
        .testTarget(
            name: "AMQPTLSTests",
            dependencies: ["AMQPTLS", "AMQPReactor", "AMQPEngine", "AMQPCodec", "AMQPTestCertificates"],
            swiftSettings: strict
        ),
        // WebSocket frames and handshakes in memory (every split), and AMQP over
        // WebSocket (plain and TLS) over loopback on both backends.
        .testTarget(
            name: "AMQPWebSocketTests",
            dependencies: ["AMQPWebSocket", "AMQPTLS", "AMQPReactor", "AMQPEngine", "AMQPCodec", "AMQPPeer", "AMQP", "AMQPTestCertificates"],
            swiftSettings: strict
        ),
        // The clients (SendClient, ReceiveClient), CBS over a live $cbs link, redirects
        // and reconnects, against embedded peers over loopback.
        .testTarget(
            name: "AMQPClientTests",
            dependencies: ["AMQP", "AMQPPeer", "AMQPReactor", "AMQPEngine", "AMQPCodec"],
            swiftSettings: strict
        ),
        .testTarget(name: "CAMQPLinuxTests", dependencies: ["CAMQPLinux"], swiftSettings: strict),
        // The same cases against the embedded peer (in process) and, when `make test`
        // started them (Tools/interop/services.sh), RabbitMQ 3.10, the Qpid Proton C
        // broker and a Qpid Proton Python broker; see Docs/interop.md.
        .testTarget(
            name: "AMQPInteropTests",
            dependencies: ["AMQP", "AMQPPeer", "AMQPReactor", "AMQPEngine", "AMQPCodec", "AMQPTool"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPToolTests",
            dependencies: [
                "AMQPTool", "AMQP", "AMQPCodec", "AMQPEngine", "AMQPReactor", "AMQPPeer", "AMQPTesting",
                "AMQPTestCertificates",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
    ]
)
