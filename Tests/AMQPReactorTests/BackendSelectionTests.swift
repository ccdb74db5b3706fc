import AMQPEngine
import Glibc
import Testing

@testable import AMQPReactor

extension ReactorTests {
    @Suite("backend choice and tokens")
    struct BackendSelection {
        @Test func automaticPrefersIOUringThenTheEnvironmentThenTheOptionWins() throws {
            let saved = getenv("AMQP_REACTOR_BACKEND").map { String(cString: $0) }
            defer {
                if let saved { setenv("AMQP_REACTOR_BACKEND", saved, 1) } else { unsetenv("AMQP_REACTOR_BACKEND") }
            }
            unsetenv("AMQP_REACTOR_BACKEND")
            #expect(try Reactor<ConnectionEngine>().backend == (uringAvailable ? .uring : .epoll))

            setenv("AMQP_REACTOR_BACKEND", "epoll", 1)
            #expect(try Reactor<ConnectionEngine>().backend == .epoll)
            if uringAvailable {
                setenv("AMQP_REACTOR_BACKEND", "uring", 1)
                #expect(try Reactor<ConnectionEngine>().backend == .uring)
                // An explicit option wins over the environment.
                var options = ReactorOptions()
                options.backend = .epoll
                #expect(try Reactor<ConnectionEngine>(options: options).backend == .epoll)
            }
            setenv("AMQP_REACTOR_BACKEND", "kqueue", 1)
            #expect {
                try Reactor<ConnectionEngine>()
            } throws: { error in
                (error as? ReactorError)?.code == .invalidArgument
            }
        }

        @Test func tokensPackSlotGenerationAndOperation() {
            let t = Token(kind: .connection, operation: URingBackend.Operation.send.rawValue, slot: Token.maxSlot, generation: .max)
            let back = Token(packed: t.packed)
            #expect(back == t)
            #expect(Token(packed: Token(kind: .wake).packed)?.kind == .wake)
            let a = Token(kind: .connection, slot: 7, generation: 1)
            let b = Token(kind: .connection, slot: 7, generation: 2)
            #expect(a.packed != b.packed, "a reused slot's tokens differ")
            #expect(Token(packed: 0xF000_0000_0000_0000) == nil)
        }
    }
}
