// EngineProbe: moves N messages through `EngineWorkload` (client and listener engines in
// memory, at-least-once, credit 1000, settled in ranges), for instruction counts under
// `valgrind --tool=callgrind` and for `perf record`. Usage: EngineProbe N [SIZE [CREDIT]]
// Instructions per message = (cost of a run of N1 - cost of a run of N2) / (N1 - N2):
// set-up and the warm-up round cancel out.
import AMQPTool
import Glibc

let args = CommandLine.arguments
guard args.count >= 2, let n = Int(args[1]), n >= 0 else {
    print("usage: EngineProbe N [SIZE [CREDIT]]")
    exit(2)
}
let size = args.count > 2 ? Int(args[2]) ?? 100 : 100
let credit = args.count > 3 ? UInt32(args[3]) ?? 1_000 : 1_000
var workload = EngineWorkload(payloadSize: size, credit: credit)
// Grow every queue to its working size, so the measured runs differ only in length.
_ = workload.run(messages: 5_000)
let totals = workload.run(messages: n)
print("engine x\(n): \(totals.messages) accepted, \(totals.clientBytes) + \(totals.serverBytes) bytes, \(totals.rounds) rounds, \(totals.settleCalls) settle calls")
