import AMQPCodec
import AMQPTesting
import Testing

// The receive and send hot paths must not allocate (DESIGN.md: steady-state send and
// receive allocate nothing per message). See AMQPTesting.AllocationHarness for how
// allocations are counted.

@Suite struct MessageAllocationTests {
    @Test(.enabled(if: AllocationHarness.canMeasure)) func hotPathsAllocateNothing() throws {
        switch AllocationHarness.run(probeTestName: "allocationProbe") {
        case .unavailable(let why):
            Issue.record("allocation counting unavailable: \(why)")
        case .counts(let counts):
            // The control proves the hook counts at all.
            #expect((counts["control-array"] ?? 0) >= 100)
            #expect(counts["view-decode"] == 0)
            #expect(counts["view-read-fields"] == 0)
            #expect(counts["view-every-section"] == 0)
            #expect(counts["view-sequence-and-value"] == 0)
            #expect(counts["message-encode"] == 0)
            #expect(counts["message-encode-every-section"] == 0)
            #if !DEBUG
                // Nested lists and maps go through `AMQPValue.encode`, whose `for … in`
                // loops allocate an iterator per element in unoptimised builds only.
                #expect(counts["message-encode-nested"] == 0)
            #endif
        }
    }

    /// Runs only in the child process that `hotPathsAllocateNothing` starts.
    @Test(.enabled(if: AllocationHarness.isProbe)) func allocationProbe() throws {
        guard AllocationHarness.install() else { return AllocationHarness.finish(unavailable: "no __malloc_hook") }
        defer { AllocationHarness.finish() }

        var sink = 0
        AllocationHarness.measure("control-array") { sink &+= [Int](repeating: sink, count: 4).count }

        // Header + properties (string message-id, to, subject, content-type) +
        // application-properties + one data section.
        let hotBytes = MessageFixtures.bytes(MessageFixtures.hot)
        hotBytes.withUnsafeBytes { raw in
            AllocationHarness.measure("view-decode") {
                if let v = try? MessageView(raw) { sink &+= v.data?.byteCount ?? 0 }
            }
            AllocationHarness.measure("view-read-fields") {
                guard let v = try? MessageView(raw) else { return }
                if v.to?.equals("queue-a") == true { sink &+= 1 }
                if v.subject?.equals("orders") == true { sink &+= 1 }
                if v.contentType?.equals("application/json") == true { sink &+= 1 }
                if case .string(let s)? = v.messageID, s.equals("id-1") { sink &+= 1 }
                if v.messageID?.equals(.ulong(1)) == true { sink &+= 1 }
                if case .string(let s)? = v.applicationProperties?["kind"], s.equals("order") { sink &+= 1 }
                for (k, _) in v.applicationProperties! { sink &+= k.utf8.count }
                for chunk in v.data! { sink &+= chunk.count }
                sink &+= Int(v.ttl ?? 0) &+ (v.durable ? 1 : 0) &+ Int(v.priority)
            }
        }

        let fullBytes = MessageFixtures.bytes(MessageFixtures.full)
        fullBytes.withUnsafeBytes { raw in
            AllocationHarness.measure("view-every-section") {
                guard let v = try? MessageView(raw) else { return }
                sink &+= (v.deliveryAnnotations?.count ?? 0) &+ (v.footer?.count ?? 0)
                if case .string? = v.messageAnnotations?[symbol: "x-opt-partition-key"] { sink &+= 1 }
                if v.properties?.correlationID?.equals(.ulong(99)) == true { sink &+= 1 }
                for chunk in v.data! { sink &+= chunk.count }
            }
        }

        let sequenceBytes = MessageFixtures.bytes(
            Message(messageAnnotations: ["x-opt-a": "b"], body: .sequence([[.int(1), .string("two")], [.list([.null])]])))
        let valueBytes = MessageFixtures.bytes(Message(value: .map(["k": .list([.int(1), .int(2)])])))
        sequenceBytes.withUnsafeBytes { seq in
            valueBytes.withUnsafeBytes { val in
                AllocationHarness.measure("view-sequence-and-value") {
                    if let v = try? MessageView(seq), case .sequence(let s)? = v.body {
                        for list in s { sink &+= list.count }
                    }
                    if let v = try? MessageView(val), case .map(let m)? = v.value { sink &+= m.count }
                }
            }
        }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        func measureEncode(_ name: String, _ message: Message) {
            AllocationHarness.measure(name) {
                var e = AMQPEncoder(buffer)
                if (try? message.encode(into: &e)) != nil { sink &+= e.count }
            }
        }
        measureEncode("message-encode", MessageFixtures.hot)
        var flat = MessageFixtures.full
        flat.messageAnnotations?["x-opt-nested"] = nil
        measureEncode("message-encode-every-section", flat)
        measureEncode("message-encode-nested", MessageFixtures.full)
        #expect(sink != 0)
    }
}
