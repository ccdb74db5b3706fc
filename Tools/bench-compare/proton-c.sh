#!/usr/bin/env bash
# Builds the Qpid Proton C examples `make bench-compare` runs, with gcc -O2, into
# STATE_DIR/proton-c (default .build/bench-compare/proton-c):
#
#   Tools/bench-compare/proton-c.sh [STATE_DIR]
#
# - broker: built by Tools/interop/proton-c-broker.sh (the interop tests' broker, with its
#   receive-loop fix), here with PROTON_C_CFLAGS=-O2;
# - send, receive, direct: Debian's examples with proton-c-examples.patch applied. The
#   patch only adds what the comparison needs and says so in comments marked "bench":
#   send.c takes a body size (a data section of that many bytes instead of the example's
#   small map) and "settled" (pre-settled sending) after the count, and settles each
#   accepted delivery (the example keeps every one until it exits); receive.c takes
#   "settled" (asks for pre-settled deliveries); receive.c and direct.c still decode every
#   message but no longer format and print it (direct.c flushed stdout per message).
#   For latency at a fixed rate: send.c takes a RATE (messages per second) after the
#   settle mode, sends message k when k / RATE seconds have passed since the first credit
#   (a proactor timeout, whole milliseconds, wakes the connection) and puts the send time
#   (CLOCK_MONOTONIC ns) in the body's first 8 bytes; receive.c with "latency" reads it
#   from every message, prints "attached" once the broker attached its link, and at the
#   end prints "latency_us n N p50 … p90 … p99 … p999 … max …" (nearest rank, µs).
# - send-tls: that send.c with proton-c-send-tls.patch on top: TLS from the first byte,
#   set up as Debian's send-ssl.c does without a user (a client domain that does not
#   verify the peer), so TLS is measured with the same bodies and settlement as `send`;
# - send-ssl: Debian's send-ssl.c as shipped (the example's small map body). It cannot
#   reach the embedded peer as it is: without a user it sets up no SASL (the peer wants
#   SASL: "Expected AMQP protocol header got: AMQP SASL layer"), and with one it verifies
#   against the system's store only ("certificate verify failed" for a private CA);
#   hence send-tls for the measurements.
#
# Usage of the built programs (as the examples, plus the patch's arguments):
#   send    HOST PORT ADDRESS COUNT [BODY_BYTES [settled|unsettled [RATE]]]
#   send-tls HOST PORT ADDRESS COUNT [BODY_BYTES [settled|unsettled [RATE]]]
#   send-ssl HOST PORT ADDRESS COUNT [USER PASSWORD]
#   receive HOST PORT ADDRESS COUNT [settled|unsettled [latency]]
#   direct  HOST PORT ADDRESS COUNT        (listens; prints "listening on PORT")
# Rebuilds only when a source, the patch or this script is newer than the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${1:-.build/bench-compare}
dir="$state/proton-c"
examples=${PROTON_C_EXAMPLES:-/usr/share/proton/examples/c}
patchfile="$here/proton-c-examples.patch"
tlspatch="$here/proton-c-send-tls.patch"

fail() { echo "bench-compare: error: $*" >&2; exit 1; }

PROTON_C_CFLAGS=-O2 bash "$here/../interop/proton-c-broker.sh" build "$state"

up_to_date() {
    local bin
    for bin in send receive direct; do
        [[ -x $dir/$bin && $dir/$bin -nt $examples/$bin.c && $dir/$bin -nt $patchfile && $dir/$bin -nt $0 ]] || return 1
    done
    [[ -x $dir/send-tls && $dir/send-tls -nt $dir/send && $dir/send-tls -nt $tlspatch && -x $dir/send-ssl &&
        $dir/send-ssl -nt $examples/send-ssl.c && $dir/send-ssl -nt $0 ]]
}
up_to_date && exit 0

for f in send.c receive.c direct.c send-ssl.c; do
    [[ -f $examples/$f ]] || fail "$examples/$f not found: run Tools/install-deps.sh bench-compare (libqpid-proton11-dev-examples)"
done
flags=$(pkg-config --cflags --libs libqpid-proton) ||
    fail "pkg-config does not know libqpid-proton: run Tools/install-deps.sh bench-compare (libqpid-proton11-dev)"
src="$dir/bench-src"
rm -rf "$src"
mkdir -p "$src"
cp "$examples/send.c" "$examples/receive.c" "$examples/direct.c" "$src/"
# --forward: never reverse an already-applied patch; a hunk that fails fails the build.
patch --quiet --forward -p1 -d "$src" <"$patchfile" ||
    fail "proton-c-examples.patch does not apply to $examples (a different Proton release?)"
for bin in send receive direct; do
    # shellcheck disable=SC2086
    gcc -O2 -w -o "$dir/$bin.tmp" "$src/$bin.c" $flags
    mv "$dir/$bin.tmp" "$dir/$bin"
done
mkdir -p "$src/tls"
cp "$src/send.c" "$examples/send-ssl.c" "$src/tls/"
patch --quiet --forward -p1 -d "$src/tls" <"$tlspatch" ||
    fail "proton-c-send-tls.patch does not apply to the patched send.c"
# shellcheck disable=SC2086
gcc -O2 -w -o "$dir/send-tls.tmp" "$src/tls/send.c" $flags
mv "$dir/send-tls.tmp" "$dir/send-tls"
# shellcheck disable=SC2086
gcc -O2 -w -o "$dir/send-ssl.tmp" "$src/tls/send-ssl.c" $flags
mv "$dir/send-ssl.tmp" "$dir/send-ssl"
