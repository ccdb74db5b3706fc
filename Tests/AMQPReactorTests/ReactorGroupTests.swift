import AMQPEngine
import AMQPReactor
import Glibc
import Synchronization
import Testing

/// Who saw what, from every reactor thread of a group.
final class GroupLog: Sendable {
    struct Connection {
        var threads: Set<UInt> = []
        var client = false
        var closed: ReactorError?? = nil
        var remoteOpen = false
    }
    struct State {
        /// Keyed by reactor and id: ids are per reactor.
        var connections: [String: Connection] = [:]
        var unassigned = 0
    }
    let state = Mutex(State())

    static func key(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID) -> String {
        "\(ObjectIdentifier(reactor).hashValue)/\(id)"
    }

    func record(_ reactor: Reactor<ConnectionEngine>, _ id: ConnectionID, _ event: ReactorEvent<ConnectionEvent>, client: Bool) {
        let thread = UInt(pthread_self())
        state.withLock { s in
            if id == .unassigned {
                s.unassigned += 1
                return
            }
            let key = Self.key(reactor, id)
            var c = s.connections[key] ?? Connection()
            c.threads.insert(thread)
            c.client = client
            switch event {
            case .closed(let error): c.closed = .some(error)
            case .connection(.remoteOpen): c.remoteOpen = true
            default: break
            }
            s.connections[key] = c
        }
    }

    var closedCount: Int { state.withLock { $0.connections.values.filter { $0.closed != nil }.count } }
    var snapshot: State { state.withLock { $0 } }
}

/// Polls `condition` (every millisecond) for at most `seconds`.
func waitUntil(_ what: String, within seconds: Double = 10, _ condition: () -> Bool) throws {
    let deadline = secondsNow() + seconds
    while !condition() {
        guard secondsNow() < deadline else { throw WaitTimedOut(what: what, seconds: seconds) }
        usleep(1000)
    }
}

extension ReactorTests {
    @Suite("reactor groups")
    struct Groups {
        /// Three reactors on three threads; twelve clients and the twelve connections
        /// they make to a group listener. Round-robin placement is exact: the listener
        /// takes turn 0, the connects the next twelve (all placed before the group runs),
        /// the accepts the twelve after.
        @Test("connections spread round-robin and each stays on one thread", arguments: testBackends)
        func roundRobinSpreadsAndConnectionsStay(backend: TestBackend) throws {
            let group = try ReactorGroup<ConnectionEngine>(reactors: 3, options: backend.options(), placement: .roundRobin)
            let log = GroupLog()
            let listener = try group.listen(on: .loopbackIPv4(), accept: { _ in
                var engine = ConnectionEngine(configuration: serverConfiguration())
                engine.open()
                return engine
            }, handler: { reactor, id, event in log.record(reactor, id, event, client: false) })
            #expect(listener.address.port != 0 && listener.reactor == 0)
            let count = 12
            var placed: [Int] = []
            for _ in 0..<count {
                placed.append(group.connect(to: listener.address, connection: {
                    var engine = ConnectionEngine(configuration: clientConfiguration())
                    engine.open()
                    return engine
                }, handler: { reactor, id, event in
                    log.record(reactor, id, event, client: true)
                    if case .connection(.remoteOpen) = event { reactor.withConnection(id) { $0.close() } }
                }))
            }
            #expect(placed == (1...count).map { $0 % 3 }, "connects take the reactors in turn")
            #expect(group.connectionCounts == [4, 4, 4], "counted from placement, before anything runs")
            try group.start()
            defer {
                group.stop()
                try? group.wait()
            }
            try waitUntil("every connection closed") { log.closedCount == 2 * count }
            let s = log.snapshot
            #expect(s.unassigned == 0)
            #expect(s.connections.values.allSatisfy { $0.threads.count == 1 }, "each connection saw one thread only")
            #expect(s.connections.values.allSatisfy { $0.closed == .some(nil) }, "\(s.connections.values.compactMap { $0.closed ?? nil })")
            #expect(s.connections.values.filter(\.client).allSatisfy { $0.remoteOpen })
            let threads = Dictionary(grouping: s.connections.values, by: { $0.threads.first! })
            #expect(threads.count == 3, "three reactor threads")
            #expect(threads.values.allSatisfy { $0.count == 8 }, "4 clients and 4 accepted connections per reactor: \(threads.values.map(\.count))")
            #expect(threads.values.allSatisfy { $0.filter(\.client).count == 4 })
            try waitUntil("the counts drop to zero", within: 5) { group.connectionCounts == [0, 0, 0] }
            #expect(!threads.keys.contains(UInt(pthread_self())), "nothing ran on the test's thread")
        }

        /// Least-loaded placement fills the emptiest reactor first: with one reactor
        /// holding connections that stay open, new ones go to the others.
        @Test("least-loaded placement prefers the emptier reactors", arguments: testBackends)
        func leastLoadedPrefersEmptierReactors(backend: TestBackend) throws {
            let group = try ReactorGroup<ConnectionEngine>(reactors: 2, options: backend.options(), placement: .leastLoaded)
            let log = GroupLog()
            let listener = try group.listen(on: .loopbackIPv4(), accept: { _ in
                var engine = ConnectionEngine(configuration: serverConfiguration())
                engine.open()
                return engine
            }, handler: { reactor, id, event in log.record(reactor, id, event, client: false) })
            try group.start()
            defer {
                group.stop()
                try? group.wait()
            }
            // Two connections that stay open: four ends, spread two and two.
            let client: @Sendable () -> ConnectionEngine = {
                var engine = ConnectionEngine(configuration: clientConfiguration())
                engine.open()
                return engine
            }
            for _ in 0..<2 {
                group.connect(to: listener.address, connection: client) { reactor, id, event in log.record(reactor, id, event, client: true) }
            }
            try waitUntil("both connections open") {
                log.snapshot.connections.values.filter { $0.remoteOpen }.count == 4
            }
            #expect(group.connectionCounts == [2, 2])
            // A tie: the next connection goes to the reactor whose turn it is, and its
            // accepted end to the other one, now the emptier.
            let extra = group.connect(to: listener.address, connection: client) { reactor, id, event in
                log.record(reactor, id, event, client: true)
            }
            // The new connection is charged to its reactor at once (one counter per
            // reactor, taken over by the registration, so it is never counted twice).
            // The listener may already have accepted the other end, so the final spread
            // is awaited rather than read at one instant: were the accepted end placed
            // on the busier reactor, it would never come to [3, 3].
            #expect(group.connectionCounts[extra] >= 3)
            try waitUntil("the accepted end goes to the emptier reactor (counts [3, 3])") {
                group.connectionCounts == [3, 3]
            }
            group.stopListening(listener)
        }

        @Test("run() blocks until a handler stops the group")
        func runUntilStoppedFromAHandler() throws {
            let group = try ReactorGroup<ConnectionEngine>(reactors: 2)
            let listener = try group.listen(on: .loopbackIPv4(), accept: { _ in
                var engine = ConnectionEngine(configuration: serverConfiguration())
                engine.open()
                return engine
            }, handler: { _, _, _ in })
            let opened = Atomic<Bool>(false)
            group.connect(to: listener.address, connection: {
                var engine = ConnectionEngine(configuration: clientConfiguration())
                engine.open()
                return engine
            }, handler: { [group] _, _, event in
                if case .connection(.remoteOpen) = event {
                    opened.store(true, ordering: .relaxed)
                    group.stop()
                }
            })
            // A watchdog, so a bug cannot hang the suite.
            let watchdog = Atomic<Bool>(false)
            let timer = try #require(startTestThread {
                let end = secondsNow() + 10
                while secondsNow() < end && !opened.load(ordering: .relaxed) { usleep(5000) }
                if !opened.load(ordering: .relaxed) {
                    watchdog.store(true, ordering: .relaxed)
                    group.stop()
                }
            })
            try group.run()
            pthread_join(timer, nil)
            let didOpen = opened.load(ordering: .relaxed)
            let watchdogFired = watchdog.load(ordering: .relaxed)
            #expect(didOpen)
            #expect(!watchdogFired, "run() returned because a handler stopped the group")
        }
    }
}

/// Starts a plain thread (not a pool thread) running `body`.
func startTestThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { p in
        Unmanaged<Box>.fromOpaque(p!).takeRetainedValue().body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return nil
    }
    return thread
}
