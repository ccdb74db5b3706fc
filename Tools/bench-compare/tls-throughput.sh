#!/usr/bin/env bash
# TLS throughput side by side (BENCHMARKS.md, "Issue 9: TLS throughput"): our client
# (`amqp send`, the public API) and Qpid Proton C's sender (`send`, and `send-tls`: the
# same with send-ssl.c's TLS set-up, Tools/bench-compare/proton-c.sh), each over
# plaintext and over TLS, into the embedded peer (`amqp peer`, and `amqp peer --tls-cert
# --tls-key` with certificates made here), at-least-once, 100 B and 64 KiB bodies.
#
#   Tools/bench-compare/tls-throughput.sh [ROUNDS [COUNT_100B [COUNT_64KIB]]]
#
# Defaults: 3 rounds, 200,000 and 5,000 messages. Each measurement gets a fresh peer
# on a free 127.0.0.1 port (the messages stay in its queue: no receiver), and is the
# sender's whole run, wall clock: start, connect, handshake, every message sent and
# accepted, close. Prints one line per run, then the medians and the TLS/plaintext
# ratios. Needs .build/release/amqp (`swift build -c release --product amqp`), gcc and
# Proton C's examples (Tools/install-deps.sh bench-compare), openssl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3}
small=${2:-200000}
large=${3:-5000}
. "$here/lib.sh"
bench_prepare tls-throughput

certs=$(mktemp -d)
peer_pid=""
cleanup() {
    bench_stop "$peer_pid"
    rm -rf "$certs"
}
trap cleanup EXIT
(
    cd "$certs"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=tls-throughput CA"
    echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' >server.ext
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
) >/dev/null 2>&1

# Starts a peer (plain or tls) on a free port; sets $port and $peer_pid.
start_peer() {
    port=$(interop_free_port)
    local tls=()
    [[ $1 == tls ]] && tls=(--tls-cert "$certs/server.pem" --tls-key "$certs/server.key")
    "$amqp" peer --listen "127.0.0.1:$port" "${tls[@]}" --queue-messages 100000000 \
        --queue-bytes $((8 << 30)) --total-bytes $((8 << 30)) >/dev/null 2>&1 &
    peer_pid=$!
    interop_wait_for 30 interop_port_open "$port" || { echo "tls-throughput: the peer did not listen" >&2; exit 1; }
}

stop_peer() {
    bench_stop "$peer_pid"
    peer_pid=""
}

results=$(mktemp)
for round in $(seq 1 "$rounds"); do
    for size in 100 65536; do
        count=$([[ $size == 100 ]] && echo "$small" || echo "$large")
        for client in swift proton; do
            for mode in plain tls; do
                start_peer "$mode"
                case $client/$mode in
                    swift/plain) cmd=("$amqp" send "amqp://127.0.0.1:$port/q" --count "$count" --size "$size" --timeout 120) ;;
                    swift/tls) cmd=("$amqp" send "amqps://127.0.0.1:$port/q" --ca-file "$certs/ca.pem" --count "$count" --size "$size" --timeout 120) ;;
                    proton/plain) cmd=("$proton/send" 127.0.0.1 "$port" q "$count" "$size") ;;
                    proton/tls) cmd=("$proton/send-tls" 127.0.0.1 "$port" q "$count" "$size") ;;
                esac
                start=$(date +%s%N)
                "${cmd[@]}" >/dev/null
                end=$(date +%s%N)
                stop_peer
                rate=$(( count * 1000000000 / (end - start) ))
                echo "round $round size $size $client $mode: $count messages in $(( (end - start) / 1000000 )) ms, $rate msg/s" >&2
                echo "$size $client $mode $rate" >>"$results"
            done
        done
    done
done
"$INTEROP_PYTHON" - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    size, client, mode, rate = line.split()
    runs.setdefault((int(size), client, mode), []).append(int(rate))
print("| body | client | plaintext msg/s | TLS msg/s | TLS MB/s | TLS / plaintext |")
print("|---:|---|---:|---:|---:|---:|")
for size in (100, 65536):
    for client, name in (("swift", "swift-amqp `amqp send`"), ("proton", "Proton C `send` / `send-tls`")):
        plain = statistics.median(runs[(size, client, "plain")])
        tls = statistics.median(runs[(size, client, "tls")])
        print(f"| {size} B | {name} | {plain:,.0f} | {tls:,.0f} | {tls * size / 1e6:,.1f} | {tls / plain:.2f} |")
PY
rm -f "$results"
