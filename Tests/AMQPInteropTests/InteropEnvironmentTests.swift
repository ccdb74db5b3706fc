import Foundation
import Testing

/// Under `make test` (which sets `AMQP_INTEROP_REQUIRED=1`) and on CI (`CI=true`) every
/// interop service must be there: a missing one fails the run instead of skipping its
/// suite, so CI cannot go green without talking to the real brokers. A developer running
/// `swift test` alone gets the suites skipped, each with its reason.
@Suite struct InteropEnvironmentTests {
    static var required: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["AMQP_INTEROP_REQUIRED"] == "1" || env["CI"]?.lowercased() == "true"
    }

    @Test(.enabled(if: required, "interop services are optional outside `make test` and CI"))
    func everyServiceIsThereWhenRequired() {
        let missing = InteropPeerKind.allCases.filter { !$0.isAvailable }
        #expect(missing.isEmpty, "not running: \(missing.map { "\($0) (\($0.variable ?? "in process"))" }.joined(separator: ", ")); `make test` starts them with Tools/interop/services.sh")
        #expect(EmbeddedPeerHost.shared.startError == nil, "\(EmbeddedPeerHost.shared.startError ?? "")")
    }

    /// The variables hold what the scripts print: `127.0.0.1:PORT`, loopback only.
    @Test func addressesAreLoopback() throws {
        for kind in InteropPeerKind.allCases {
            guard let hostPort = kind.hostPort else { continue }
            let parts = hostPort.split(separator: ":")
            #expect(parts.count == 2 && parts[0] == "127.0.0.1", "\(kind): \(hostPort)")
            #expect(parts.count == 2 && UInt16(parts[1]) != nil, "\(kind): \(hostPort)")
        }
    }
}
