import AMQP
import AMQPReactor
import Foundation
import Testing

/// What the brokers' TLS suites share: the backends to run on, a connection on a
/// reactor of its own, and a round trip that splits messages across records and frames.
enum TLSInterop {
    /// epoll, and io_uring where the kernel allows it.
    static let backends: [ReactorOptions.Backend] = {
        var o = ReactorOptions()
        o.backend = .uring
        return (try? ConnectionReactor(driving: .ownThread, options: o)).map { r in
            r.shutdown()
            return [.epoll, .uring]
        } ?? [.epoll]
    }()

    /// A connection on a reactor of its own with `backend`, not yet opened.
    static func connection(
        _ url: String, backend: ReactorOptions.Backend, sasl: SASLCredentials? = nil, tls: TLSConfiguration?
    ) throws -> (Connection, ConnectionReactor) {
        var o = ReactorOptions()
        o.backend = backend
        let reactor = try ConnectionReactor(driving: .ownThread, options: o)
        let settings = try ConnectionSettings(
            hostname: url, sasl: sasl, containerID: "swift-amqp-interop-tls",
            debug: ProcessInfo.processInfo.environment["AMQP_INTEROP_TRACE"] == "1", tls: tls)
        return (Connection(settings: settings, reactor: reactor), reactor)
    }

    /// Opens `connection` and expects it to fail with an error of its own (not the
    /// wait's time-out) that is not retried, and whose wrong-host text names the host;
    /// `check` examines the error further.
    static func expectOpenFails(
        _ connection: Connection, _ what: String, wrongHost: Bool, check: (AMQPClientError) -> Void
    ) {
        let started = Date()
        do {
            try connection.waitUntilOpened(timeout: .seconds(20))
            Issue.record("\(what): the connection opened")
        } catch {
            #expect(Date().timeIntervalSince(started) < 15, "\(what) ended by the wait's time-out, not by its error: \(error)")
            #expect(error.action.retry == false, "\(what): \(error)")
            if wrongHost {
                #expect(error.tls?.code == .hostnameMismatch, "\(error)")
                let text = error.errorDescription ?? ""
                #expect(text.contains("wrong-host.example"), "the error names the host: \(text)")
            }
            check(error)
        }
    }

    /// Sends 20 messages (two of 150 KB, so records and frames split them) to `address`
    /// and takes them back, byte for byte.
    static func roundTrip(_ connection: Connection, address: String, label: String) throws {
        let session = try Session(connection: connection)
        let sender = try MessageSender(session: session, target: address)
        let big = [UInt8]((0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let bodies = (0..<20).map { i in i % 10 == 9 ? big : Array("\(label) \(i)".utf8) }
        for body in bodies {
            #expect(try sender.send(Message(body: body), timeout: .seconds(20)) == .accepted)
        }
        let receiver = try MessageReceiver(session: session, source: address, prefetch: 10, autoAccept: true)
        var got: [[UInt8]] = []
        let end = Date().addingTimeInterval(30)
        while got.count < bodies.count && Date() < end {
            for m in try receiver.receive(maxCount: 20, timeout: .seconds(5)) {
                if case .data(let sections) = m.message.body, let d = sections.first { got.append(d) }
            }
        }
        #expect(got.count == bodies.count, "\(got.map(\.count))")
        #expect(got == bodies)
        #expect(connection.state == .opened)
    }
}
