// TLSProbe: moves N at-least-once messages between a client and a listener engine in
// memory (no sockets): the engines joined directly (EngineWorkload, and the same engines
// through this probe's pump, which honours the reactor's contract), through
// TLSConnection(plaintext:) (the wrapper every connection of the public API now goes
// through before WebSocket arrived), through TLSConnection(plaintext:
// WebSocketConnection(passThrough:)) (what every plain connection goes through now), over
// WebSocket framing, over TLS 1.3 (OpenSSL, memory BIOs), and over WebSocket over TLS.
// Prints messages/s and payload MB/s per way. Usage: TLSProbe N SIZE [ROUNDS]
// Certificates are made with the openssl command into a temporary directory.
import AMQPEngine
import AMQPReactor
import AMQPTLS
import AMQPTool
import AMQPWebSocket
import Foundation

let args = CommandLine.arguments
guard args.count >= 3, let n = Int(args[1]), let size = Int(args[2]) else {
    print("usage: TLSProbe N SIZE [ROUNDS]")
    exit(2)
}
let rounds = args.count > 3 ? Int(args[3]) ?? 5 : 5

typealias Machine = TLSConnection<ConnectionEngine>
/// The public API's and the embedded peer's machine since WebSocket.
typealias Stack = TLSConnection<WebSocketConnection<ConnectionEngine>>

/// A machine with an AMQP engine inside (itself, or behind TLSConnection), so one pump
/// drives all three ways.
protocol EngineCarrier: SansIOConnection where Event == ConnectionEvent {
    var engine: ConnectionEngine { get set }
}

extension ConnectionEngine: EngineCarrier {
    var engine: ConnectionEngine {
        get { self }
        _modify { yield &self }
    }
}

extension TLSConnection: EngineCarrier where Inner: LayeredConnection, Inner.Innermost == ConnectionEngine, Inner.Event == ConnectionEvent {
    var engine: ConnectionEngine {
        get { innermost }
        _modify { yield &innermost }
    }
}

func openssl(_ dir: String, _ arguments: [String]) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    p.standardError = FileHandle.nullDevice
    try! p.run()
    p.waitUntilExit()
    precondition(p.terminationStatus == 0, "openssl \(arguments) failed")
}

let dir = NSTemporaryDirectory() + "tlsprobe-\(getpid())"
try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=localhost",
              "-addext", "subjectAltName=DNS:localhost"])
let serverContext = try! TLSContext(.server(certificate: .init(chainFile: dir + "/cert.pem", keyFile: dir + "/key.pem")))
let clientContext = try! TLSContext(.client(serverName: "localhost", trust: .file(dir + "/cert.pem")))

/// Bytes in flight one way: appended by `produce`, consumed by `receive`, released after
/// the receiver's events are handled (they may borrow them).
struct Pipe {
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    var head = 0
    var tail = 0

    mutating func produce<M: SansIOConnection>(_ m: inout M, now: EngineInstant) -> Int {
        if head == tail { head = 0; tail = 0 }
        if bytes.count - tail < 128 << 10 {
            bytes.replaceSubrange(0..<(tail - head), with: bytes[head..<tail])
            tail -= head
            head = 0
        }
        let t = tail
        let n = bytes.withUnsafeMutableBytes { m.produce(into: UnsafeMutableRawBufferPointer(rebasing: $0[t..<min($0.count, t + (64 << 10))]), now: now) }
        tail += n
        return n
    }
}

final class Run<M: EngineCarrier> {
    var client: M
    var server: M
    var toServer = Pipe()
    var toClient = Pipe()
    var sender: LinkID? = nil
    var receiver: LinkID? = nil
    var credit = false
    var accepted = 0
    let payload: [UInt8]
    let now = EngineInstant(nanoseconds: 1)

    init(size: Int, wrap: (ConnectionEngine, Bool) -> M) {
        var policy = AutoAcceptPolicy()
        policy.credit = .prefetch(1000)
        var s = ConnectionConfiguration(role: .server, containerID: "probe-listener")
        s.autoAccept = policy
        var se = ConnectionEngine(configuration: s)
        se.open()
        var ce = ConnectionEngine(configuration: ConnectionConfiguration(role: .client, containerID: "probe-client", hostname: "localhost"))
        ce.open()
        let session = try! ce.beginSession()
        sender = try! ce.attachLink(session: session, .sender(name: "probe", to: "q"))
        client = wrap(ce, false)
        server = wrap(se, true)
        payload = try! CodecWorkload(payloadSize: size).message.encoded()
        while !credit { step(sending: 0, sent: 0) }
    }

    /// One exchange each way; returns messages sent.
    @discardableResult
    func step(sending count: Int, sent: Int) -> Int {
        var sent = sent
        while sent < count && client.engine.sendable(on: sender!) > 0 {
            _ = try! client.engine.send(on: sender!, payload: payload)
            sent += 1
        }
        _ = toServer.produce(&client, now: now)
        repeat {
            let h = toServer.head
            let t = toServer.tail
            toServer.head += toServer.bytes.withUnsafeBytes { server.receive(UnsafeRawBufferPointer(rebasing: $0[h..<t]), now: now) }
            var first: DeliveryNumber = 0
            var last: DeliveryNumber = 0
            var any = false
            while let e = server.nextEvent() {
                switch e {
                case .link(.delivery(let l, let d)):
                    receiver = l
                    if !any { first = d.id; any = true }
                    last = d.id
                case .link(.attached(let l, _)): receiver = l
                default: break
                }
            }
            if any { try! server.engine.settle(receiver!, first: first, last: last, state: .accepted) }
        } while server.eventsDelivered()
        _ = toClient.produce(&server, now: now)
        repeat {
            let h = toClient.head
            let t = toClient.tail
            toClient.head += toClient.bytes.withUnsafeBytes { client.receive(UnsafeRawBufferPointer(rebasing: $0[h..<t]), now: now) }
            while let e = client.nextEvent() {
                switch e {
                case .link(.credit(_, let c, _)) where c > 0: credit = true
                case .link(.outcomes(_, let handles, _, _)): accepted += handles.count
                default: break
                }
            }
        } while client.eventsDelivered()
        return sent
    }

    func run(_ count: Int) {
        accepted = 0
        var sent = 0
        while accepted < count { sent = step(sending: count, sent: sent) }
    }
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func report(_ name: String, _ times: [Double]) {
    let best = times.min()!
    let median = times.sorted()[times.count / 2]
    let rate = Double(n) / median
    print(String(format: "%-28@ %6d B  median %8.0f msg/s  %8.1f MB/s payload  (best %8.0f msg/s)",
                 name as NSString, size, rate, rate * Double(size) / 1e6, Double(n) / best))
}

var times: [[Double]] = [[], [], [], [], [], [], []]
var workload = EngineWorkload(payloadSize: size, credit: 1000)
_ = workload.run(messages: min(n, 5000))
let bare = Run<ConnectionEngine>(size: size) { e, _ in e }
let plain = Run<Machine>(size: size) { e, _ in Machine(plaintext: e) }
let secure = Run<Machine>(size: size) { e, server in
    Machine(e, session: try! TLSSession(context: server ? serverContext : clientContext))
}
let stackPlain = Run<Stack>(size: size) { e, _ in Stack(plaintext: WebSocketConnection(passThrough: e)) }
func webSocket(_ e: ConnectionEngine, _ server: Bool) -> WebSocketConnection<ConnectionEngine> {
    WebSocketConnection(e, session: try! WebSocketSession(configuration: server ? .server() : .client(host: "localhost")))
}
let framed = Run<Stack>(size: size) { e, server in Stack(plaintext: webSocket(e, server)) }
let framedSecure = Run<Stack>(size: size) { e, server in
    Stack(webSocket(e, server), session: try! TLSSession(context: server ? serverContext : clientContext))
}
bare.run(min(n, 5000))
plain.run(min(n, 5000))
secure.run(min(n, 5000))
stackPlain.run(min(n, 5000))
framed.run(min(n, 5000))
framedSecure.run(min(n, 5000))
for _ in 0..<rounds {
    times[0].append(seconds { _ = workload.run(messages: n) })
    times[1].append(seconds { bare.run(n) })
    times[2].append(seconds { plain.run(n) })
    times[4].append(seconds { stackPlain.run(n) })
    times[5].append(seconds { framed.run(n) })
    times[3].append(seconds { secure.run(n) })
    times[6].append(seconds { framedSecure.run(n) })
}
print("TLSProbe: \(n) messages of \(size) B payload, \(rounds) rounds, \(secure.client.session!.peer!.version) \(secure.client.session!.peer!.cipher)")
report("EngineWorkload (amqp bench)", times[0])
report("engines, this pump", times[1])
report("TLSConnection(plaintext:)", times[2])
report("TLS(plain, WS(passThrough))", times[4])
report("WebSocket framing", times[5])
report("TLSConnection over TLS", times[3])
report("WebSocket over TLS", times[6])
try? FileManager.default.removeItem(atPath: dir)
