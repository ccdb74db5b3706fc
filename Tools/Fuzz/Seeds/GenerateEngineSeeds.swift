// Writes the engine targets' seeds (Tools/Fuzz/corpus/engine-*, sasl-*) from real
// exchanges: an `EnginePair` (AMQPTesting) runs each scenario with byte recording on,
// and each side's bytes become the input of the target that plays the other side's
// engine (after the protocol header, or the OPEN and BEGIN, the target supplies
// itself). Run by Tools/Fuzz/make-seeds.sh; the output is committed.
import AMQPCodec
import AMQPEngine
import AMQPTesting
import Glibc

@main
enum GenerateEngineSeeds {
    static func main() throws {
        let args = CommandLine.arguments
        guard args.count == 2 else { fatalError("usage: GenerateEngineSeeds CORPUS-DIR") }
        let dir = args[1]
        for scenario in Scenario.all {
            let (client, server) = try scenario.run()
            // Knob bytes: whole input; autoAccept; one byte at a time with time passing;
            // tight limits in random-ish chunks.
            for knob: UInt8 in [0x00, 0x80, 0x09, 0x24] {
                let name = "\(scenario.name)-\(String(knob, radix: 16))"
                if scenario.sasl {
                    try write(dir + "/sasl-client/" + name, [knob | (scenario.plain ? 0x80 : 0)] + client.afterHeader)
                    try write(dir + "/sasl-server/" + name, [knob] + server.afterHeader)
                } else {
                    try write(dir + "/engine-client/" + name, [knob] + client.afterHeader)
                    try write(dir + "/engine-server/" + name, [knob] + server.afterHeader)
                    try write(dir + "/engine-session/" + name, [knob] + server.afterOpenAndBegin)
                }
            }
        }
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        guard let f = fopen(path, "wb") else { fatalError("cannot open \(path)") }
        defer { fclose(f) }
        guard fwrite(bytes, 1, bytes.count, f) == bytes.count else { fatalError("cannot write \(path)") }
    }
}

/// What one side wrote, cut into frames.
struct Capture {
    var bytes: [UInt8]
    var frameSizes: [Int]

    /// Everything after the first protocol header (the target sends its own).
    var afterHeader: [UInt8] { Array(bytes.dropFirst(8)) }
    /// Everything after the header, OPEN and BEGIN (FuzzEngineSession sends its own).
    var afterOpenAndBegin: [UInt8] { Array(bytes.dropFirst(frameSizes.prefix(3).reduce(0, +))) }
}

/// One exchange between a client and a server, seen from the input side of each target:
/// `client` holds what the *server* sent (the client target's input) and vice versa.
struct Scenario {
    var name: String
    var sasl = false
    var plain = false
    var maxFrameSize: UInt32 = 63_488
    var idleTimeout: UInt32? = nil
    var messages: [[UInt8]] = [[0x00, 0x53, 0x77, 0xA1, 0x02, 0x68, 0x69]]
    var ending: Ending = .close

    enum Ending { case close, closeWithError, detach, end }

    static let all: [Scenario] = [
        Scenario(name: "basic"),
        Scenario(name: "multiframe", maxFrameSize: 512,
                 messages: [[0x00, 0x53, 0x75, 0xB0, 0, 0, 0x04, 0] + [UInt8](repeating: 0x61, count: 1024)]),
        Scenario(name: "heartbeat", idleTimeout: 1_000),
        Scenario(name: "close-error", ending: .closeWithError),
        Scenario(name: "detach", ending: .detach),
        Scenario(name: "end", ending: .end),
        Scenario(name: "sasl-anonymous", sasl: true),
        Scenario(name: "sasl-plain", sasl: true, plain: true),
    ]

    /// Runs the exchange; returns (server's bytes, client's bytes).
    func run() throws -> (client: Capture, server: Capture) {
        var c = ConnectionConfiguration(role: .client, containerID: "seed-client")
        var s = ConnectionConfiguration(role: .server, containerID: "seed-server")
        c.maxFrameSize = maxFrameSize
        s.maxFrameSize = maxFrameSize
        c.idleTimeout = idleTimeout
        s.autoAccept = AutoAcceptPolicy()
        if sasl {
            c.sasl = .client(plain ? .plain(username: "user", password: "pass") : .anonymous())
            s.sasl = .server(mechanisms: ["ANONYMOUS", "PLAIN"], authenticator: SeedAuthenticator())
        }
        var pair = EnginePair(client: c, server: s)
        pair.recordsBytes = true
        // The same names and order as the targets' pipelined links (handles 0 and 1).
        pair.client.open()
        pair.server.open()
        let session = try pair.client.beginSession()
        let sender = try pair.client.attachLink(session: session, .sender(name: "fuzz-sender", to: "q"))
        let receiver = try pair.client.attachLink(session: session, .receiver(name: "fuzz-receiver", from: "q"))
        try pair.pump(until: "attached") { $0.client.isAttached(sender) && $0.client.isAttached(receiver) && $0.client.credit(on: sender) ?? 0 > 0 }
        for m in messages { _ = try pair.client.send(on: sender, payload: m) }
        // The server sends on the link our receiver attached to.
        var serverSender: LinkID? = nil
        for e in pair.serverEvents.events {
            if case .link(.attached(let id, let attach)) = e, attach.role == .receiver { serverSender = id }
        }
        if let serverSender {
            try pair.pump(until: "credit") { ($0.server.credit(on: serverSender) ?? 0) > 0 }
            for m in messages { _ = try pair.server.send(on: serverSender, payload: m) }
        }
        try pair.pumpUntilQuiet()
        if idleTimeout != nil { try pair.advance(byMilliseconds: 2_500) }
        switch ending {
        case .close: pair.client.close()
        case .closeWithError: pair.client.close(error: AMQPError(condition: .internalError, description: "seed"))
        case .detach:
            pair.client.detachLink(sender)
            try pair.pumpUntilQuiet()
            pair.client.close()
        case .end:
            pair.client.endSession(session)
            try pair.pumpUntilQuiet()
            pair.client.close()
        }
        try pair.pumpUntilQuiet()
        return (Capture(bytes: pair.toClient.recordedBytes, frameSizes: pair.serverFrames.map(\.byteCount)),
                Capture(bytes: pair.toServer.recordedBytes, frameSizes: pair.clientFrames.map(\.byteCount)))
    }
}

struct SeedAuthenticator: SASLAuthenticator {
    func authenticate(mechanism: Symbol, initialResponse: [UInt8]?, hostname: String?) -> SASLDecision {
        .accept(identity: "user")
    }
}
