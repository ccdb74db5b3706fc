#!/usr/bin/env bash
# Latency through the Qpid Proton C broker, ours and Proton C's clients alternating
# (BENCHMARKS.md, "Latency at 10,000 msg/s against Proton C"): `amqp bench URL --rate`
# (our sender and receiver connections on one thread) and Proton C `send`/`receive`
# (two processes, the patched examples of Tools/bench-compare/proton-c.sh), 100-byte
# bodies, at-least-once, one connection each way, through one broker started here on a
# free 127.0.0.1 port, a fresh queue per run.
#
#   Tools/bench-compare/latency-broker.sh [ROUNDS [RATE [BACKEND]]]
#
# Defaults: 3 rounds, 10,000 msg/s for 2 s, epoll (`uring` for io_uring). Prints p50,
# p99 and p999 in µs per run, and for ours the client's reactor ticks (far more ticks
# than messages means the client polled) and its thread's CPU per message. Needs
# .build/release/amqp (`swift build -c release --product amqp`) and Proton C's examples
# (Tools/install-deps.sh bench-compare).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3}
rate=${2:-10000}
backend=${3:-epoll}
. "$here/lib.sh"
bench_prepare latency-broker

out=$(mktemp -d)
broker_pid=""
cleanup() {
    bench_stop "$broker_pid"
    rm -rf "$out"
}
trap cleanup EXIT
# Port 0: the broker prints the port the kernel gave it.
"$proton/broker" 127.0.0.1 0 >"$out/broker.out" 2>&1 </dev/null &
broker_pid=$!
port=""
read_port() {
    port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$out/broker.out")
    [[ -n $port ]]
}
interop_wait_for 30 read_port || { echo "latency-broker: the broker did not start: $(cat "$out/broker.out")" >&2; exit 1; }

n=$((rate * 2))
for r in $(seq "$rounds"); do
    "$amqp" bench "amqp://127.0.0.1:$port/latency-ours-$RANDOM-$r" --json --size 100 --backend "$backend" \
        --credit 1000 --connections 1 --duration 2 --rate "$rate" |
        /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)
print("ours   round %s: p50 %.0f p99 %.0f p999 %.0f µs; %d client ticks for %d messages, client %.1f µs CPU per message" % (
    sys.argv[1], r["latency_p50_us"], r["latency_p99_us"], r["latency_p999_us"], r["client_ticks"], r["received"],
    r["client_cpu_us_per_message"]))' "$r"
    q=latency-proton-$RANDOM-$r
    "$proton/receive" 127.0.0.1 "$port" "$q" "$n" unsettled latency >"$out/receive.out" 2>&1 &
    receiver=$!
    attached() { grep -q '^attached' "$out/receive.out"; }
    interop_wait_for 10 attached || { echo "latency-broker: Proton C receive did not attach" >&2; exit 1; }
    "$proton/send" 127.0.0.1 "$port" "$q" "$n" 100 unsettled "$rate" >"$out/send.out" 2>&1
    wait "$receiver"
    sed -n 's/^latency_us n [0-9]* p50 \([0-9.]*\) p90 [0-9.]* p99 \([0-9.]*\) p999 \([0-9.]*\).*/proton round '"$r"': p50 \1 p99 \2 p999 \3 µs/p' "$out/receive.out"
done
