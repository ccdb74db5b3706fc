import AMQPTool
import Testing

// A short soak (the long one is `make soak`, see HARDENING.md): connections with churn
// through the public API against the embedded peer. Under `make asan` LeakSanitizer
// checks at exit that the churn leaked nothing.

@Suite struct SoakTests {
    @Test func shortSoakMovesEveryMessageWithChurn() throws {
        var c = SoakConfiguration()
        c.connections = 8
        c.messages = 4_000
        c.messagesPerConnection = 250
        c.batch = 25
        c.sampleInterval = 0.2
        let report = try Soak.run(c)
        #expect(report.failure == nil, "\(report)")
        #expect(report.messages == 4_000)
        // 16 connections' worth of quota: each slot reopened at least once.
        #expect(report.connectionsOpened >= 16, "\(report)")
        #expect(report.samples.count >= 2)
        #expect(report.samples.allSatisfy { $0.residentKiB > 0 })
    }
}
