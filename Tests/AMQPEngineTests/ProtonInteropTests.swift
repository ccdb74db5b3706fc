import AMQPCodec
import AMQPEngine
import Foundation
import Glibc
import Testing

/// Our engine (client role) against Qpid Proton's (a subprocess running
/// Tests/Interop/proton_peer.py, a tiny broker): bytes travel through the subprocess's
/// standard input and output, so there are no sockets or ports, and the only clock is
/// an overall bound that matters only if something hangs.
@Suite("Engine against Qpid Proton", .serialized)
struct ProtonInteropTests {
    static let peerScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/proton_peer.py").path

    /// The Proton peer and the pipes to it.
    final class ProtonPeer {
        let process = Process()
        let input = Foundation.Pipe()
        let output = Foundation.Pipe()
        let errors = Foundation.Pipe()
        var outbox: [UInt8] = []
        var inbox: [UInt8] = []
        var stdinOpen = true

        init(arguments: [String]) throws {
            // A peer that exits early must fail the test, not kill it with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [ProtonInteropTests.peerScript] + arguments
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            for fd in [input.fileHandleForWriting.fileDescriptor, output.fileHandleForReading.fileDescriptor] {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        }

        /// Writes what the pipe takes now; returns whether anything moved.
        func flush() -> Bool {
            guard !outbox.isEmpty, stdinOpen else { return false }
            let n = outbox.withUnsafeBytes { write(input.fileHandleForWriting.fileDescriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { return false }
            outbox.removeFirst(n)
            return true
        }

        /// Reads what the peer has written; false at end of stream.
        func fill() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(output.fileHandleForReading.fileDescriptor, $0.baseAddress, $0.count) }
                if n > 0 { inbox += buffer[..<n]; continue }
                return n != 0
            }
        }

        /// Waits up to `milliseconds` for the peer to become readable (or writable).
        func wait(milliseconds: Int32) {
            var fds = [pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            if !outbox.isEmpty && stdinOpen {
                fds.append(pollfd(fd: input.fileHandleForWriting.fileDescriptor, events: Int16(POLLOUT), revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), milliseconds)
        }

        func closeInput() {
            if stdinOpen { try? input.fileHandleForWriting.close() }
            stdinOpen = false
        }

        /// The peer's exit status and its standard error, waiting at most 10 s.
        func finish() -> (Int32, String) {
            closeInput()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return (process.terminationStatus, text)
        }
    }

    static func now() -> EngineInstant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return EngineInstant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    /// Runs the engine against the peer, calling `step` with every event, until `done`
    /// says so, the connection ends, or 120 s pass (a hang, reported as a failure).
    static func drive(
        _ engine: inout ConnectionEngine, _ peer: ProtonPeer,
        until done: (inout ConnectionEngine) -> Bool,
        onEvent: (inout ConnectionEngine, ConnectionEvent) -> Void
    ) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        var buffer = [UInt8](repeating: 0, count: 1 << 17)
        while Date() < deadline {
            let t = now()
            engine.poll(now: t)
            let n = buffer.withUnsafeMutableBytes { engine.produce(into: $0, now: t) }
            if n > 0 { peer.outbox += buffer[..<n] }
            var moved = peer.flush()
            let open = peer.fill()
            if !peer.inbox.isEmpty {
                let consumed = peer.inbox.withUnsafeBytes { raw in
                    let c = engine.receive(raw, now: t)
                    // Events may borrow `raw`: handle them before it goes away.
                    while let e = engine.nextEvent() { onEvent(&engine, e) }
                    return c
                }
                if consumed > 0 { peer.inbox.removeFirst(consumed); moved = true }
            }
            while let e = engine.nextEvent() { onEvent(&engine, e) }
            if done(&engine) || engine.isFinished { return true }
            if !open && peer.inbox.isEmpty && !engine.hasPendingOutput { return done(&engine) }
            if !moved && !engine.hasPendingOutput { peer.wait(milliseconds: 50) }
        }
        return false
    }

    static func message(_ i: Int) -> [UInt8] {
        // Every tenth message is larger than several 512-byte frames.
        let size = i % 10 == 0 ? 3_000 + i % 7 : 20 + (i * 37) % 280
        var m = Message(body: (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i) })
        m.messageID = .ulong(UInt64(i))
        return try! m.encoded()
    }

    func moveMessages(count n: Int, maxFrameSize: UInt32, sasl: Bool) throws {
        let peer = try ProtonPeer(arguments: [
            "--max-frame-size", "\(maxFrameSize)", "--credit", "500", "--sasl", sasl ? "anonymous" : "none",
        ])
        var config = ConnectionConfiguration(role: .client, containerID: "swift-amqp-interop", hostname: "localhost")
        config.maxFrameSize = maxFrameSize
        if sasl { config.sasl = .client(.anonymous()) }
        config.trace = true
        var engine = ConnectionEngine(configuration: config)
        engine.open()
        let session = try engine.beginSession()
        let sender = try engine.attachLink(session: session, .sender(name: "to-q", to: "q"))
        let bodies = (0..<n).map(Self.message)
        for body in bodies { _ = try engine.send(on: sender, payload: body) }

        // 1. Send n messages; the peer stores and accepts each.
        var accepted = 0
        var otherOutcomes: [String] = []
        var failures: [String] = []
        var traces: [String] = []
        let sent = Self.drive(&engine, peer, until: { _ in accepted + otherOutcomes.count == n }) { _, event in
            switch event {
            case .link(.outcomes(_, let handles, let state, _)):
                if case .accepted? = state {
                    accepted += handles.count
                } else {
                    otherOutcomes += handles.map { _ in "\(String(describing: state))" }
                }
            case .closed(let e?): failures.append("\(e)")
            case .trace(let t):
                // The last frames, for the failure message if the exchange stalls.
                if traces.count == 64 { traces.removeFirst() }
                traces.append(String(t.prefix(300)))
            case .session(.ended(_, let e?)): failures.append("\(e)")
            case .link(.detached(_, _, let e?)): failures.append("\(e)")
            default: break
            }
        }
        if !sent {
            let (status, stderr) = peer.finish()
            Issue.record("sending stopped after \(accepted) outcomes; credit \(String(describing: engine.credit(on: sender))), queued \(engine.queuedDeliveries(on: sender)); peer exit \(status): \(stderr)\n\(traces.suffix(12).joined(separator: "\n"))")
            return
        }
        #expect(failures.isEmpty)
        #expect(otherOutcomes.isEmpty)
        #expect(accepted == n)

        // 2. Receive them back, in order, byte for byte, settling in ranges.
        let receiver = try engine.attachLink(session: session, .receiver(name: "from-q", from: "q", credit: .prefetch(300)))
        var received = 0
        var mismatches = 0
        var pending: ClosedRange<UInt32>? = nil
        let got = Self.drive(&engine, peer, until: { engine in
            if let range = pending {
                try? engine.settle(receiver, deliveries: range, state: .accepted)
                pending = nil
            }
            return received == n
        }) { _, event in
            switch event {
            case .link(.delivery(_, let d)):
                let same = d.payload.withUnsafeBytes { raw in received < n && raw.elementsEqual(bodies[received]) }
                if !same { mismatches += 1 }
                received += 1
                if let range = pending, range.upperBound &+ 1 == d.id {
                    pending = range.lowerBound...d.id
                } else {
                    pending = d.id...d.id
                }
            case .closed(let e?): failures.append("\(e)")
            default: break
            }
        }
        #expect(got, "receiving did not finish within 120 s")
        #expect(received == n)
        #expect(mismatches == 0)

        // 3. Close cleanly: both sides agree, and the peer reports what it moved.
        engine.close()
        let closed = Self.drive(&engine, peer, until: { $0.state == .end }) { _, event in
            if case .closed(let e?) = event { failures.append("\(e)") }
        }
        #expect(closed)
        #expect(engine.state == .end)
        #expect(engine.failure == nil)
        #expect(failures.isEmpty)
        let (status, stderr) = peer.finish()
        #expect(status == 0, "proton_peer.py: \(stderr)")
        #expect(stderr.contains("received=\(n) sent=\(n)"), "proton_peer.py: \(stderr)")
    }

    @Test func tenThousandMessagesEachWayWithSASL() throws {
        try Self.requireProton()
        try moveMessages(count: 10_000, maxFrameSize: 65_536, sasl: true)
    }

    @Test func multiFrameMessagesAtMinimumFrameSize() throws {
        try Self.requireProton()
        try moveMessages(count: 1_000, maxFrameSize: 512, sasl: false)
    }

    /// `make test` installs python3-qpid-proton; without it this suite fails loudly
    /// rather than skipping.
    static func requireProton() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        probe.arguments = ["-c", "import proton"]
        probe.standardError = Foundation.Pipe()
        try probe.run()
        probe.waitUntilExit()
        if probe.terminationStatus != 0 {
            Issue.record("python3-qpid-proton is not installed for /usr/bin/python3: run `make test`, which installs it")
            throw CancellationError()
        }
    }
}
