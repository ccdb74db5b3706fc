#!/usr/bin/env bash
# The Qpid Proton C example broker (Debian's libqpid-proton11-dev-examples), built
# into the state folder and run on 127.0.0.1 for the interop tests.
#
#   Tools/interop/proton-c-broker.sh build [STATE_DIR]   builds STATE_DIR/proton-c/broker
#   Tools/interop/proton-c-broker.sh start [STATE_DIR]   prints AMQP_INTEROP_PROTON_C=127.0.0.1:PORT,
#                                                        AMQP_INTEROP_PROTON_C_BROKER=PATH,
#                                                        AMQP_INTEROP_PROTON_C_TLS=127.0.0.1:PORT
#                                                        and AMQP_INTEROP_PROTON_C_TLS_CERTS=DIR
#   Tools/interop/proton-c-broker.sh stop  [STATE_DIR]
#
# TLS: the example enables Proton's own TLS (OpenSSL underneath, Proton's SSL layer
# and its TLS/AMQP autodetection) when it finds ssl-certs/tserver-certificate.pem and
# ssl-certs/tserver-private-key.pem (key password `tserverpw`) in its working folder,
# and then takes TLS and plaintext on the same port (`pn_transport_require_encryption(t,
# false)`). `start` makes them there at each fresh start with the openssl command (EC
# P-256, valid two days): DIR=STATE_DIR/proton-c/ssl-certs holds ca.pem (the CA that
# signed the broker's certificate, for DNS:localhost and IP:127.0.0.1) and
# untrusted-ca.pem (a CA that signed nothing the broker has). AMQP_INTEROP_PROTON_C_TLS
# is the same address as AMQP_INTEROP_PROTON_C; it is printed only once a handshake
# verified against ca.pem has answered an AMQP 1.0 header, so its presence says TLS is on.
#
# STATE_DIR defaults to .build/interop. The broker is the example source compiled
# with gcc $PROTON_C_CFLAGS (default -O1; `make bench-compare` builds its own with -O2,
# Tools/bench-compare/proton-c.sh) against libqpid-proton (core + proactor), with one
# bug fixed: its receive
# loop reads every chunk of an incoming message into the start of its buffer
# (`pn_link_recv(l, m->start, m->size)`), so a message that arrives in more than one
# read (a 1 MiB message does) is stored with its first part overwritten; later Proton
# releases read into the end instead, and so does our copy. It listens on port 0
# (the kernel picks a free port) and prints the port it got, so there is no race for
# the port. The binary's path is printed too: tests start a dedicated instance of
# their own when they need to kill a broker mid-stream, so the shared one survives.
# `start` is idempotent (a broker still running from an earlier start is reused);
# `stop` stops the PID `start` recorded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command=${1:-}
state=${2:-.build/interop}
dir="$state/proton-c"
examples=${PROTON_C_EXAMPLES:-/usr/share/proton/examples/c}
cflags=${PROTON_C_CFLAGS:--O1}

build() {
    [[ -f $examples/broker.c ]] ||
        interop_fail "$examples/broker.c not found: run Tools/install-deps.sh (libqpid-proton11-dev-examples)"
    mkdir -p "$dir"
    # Up to date: newer than its source and this script, and built with these flags.
    if [[ -x $dir/broker && $dir/broker -nt $examples/broker.c && $dir/broker -nt $0 &&
        $(cat "$dir/broker.cflags" 2>/dev/null) == "$cflags" ]]; then return 0; fi
    local flags
    flags=$(pkg-config --cflags --libs libqpid-proton) ||
        interop_fail "pkg-config does not know libqpid-proton: run Tools/install-deps.sh (libqpid-proton11-dev)"
    mkdir -p "$dir/src"
    cp "$examples/broker.c" "$examples/thread.h" "$dir/src/"
    local bad='recv = pn_link_recv(l, m->start, m->size);'
    local good='recv = pn_link_recv(l, m->start + m->size - size, size);'
    if grep -qF "$bad" "$dir/src/broker.c"; then
        sed -i "s|recv = pn_link_recv(l, m->start, m->size);|$good|" "$dir/src/broker.c"
    fi
    grep -qF "$good" "$dir/src/broker.c" ||
        interop_fail "broker.c's receive loop is not the one this script knows how to fix; look at $examples/broker.c"
    # shellcheck disable=SC2086
    gcc $cflags -w -I"$dir/src" -o "$dir/broker.tmp" "$dir/src/broker.c" $flags -lpthread
    mv "$dir/broker.tmp" "$dir/broker"
    printf '%s\n' "$cflags" >"$dir/broker.cflags"
}

stop() {
    interop_stop_pid "$dir/broker.pid" 5
    rm -f "$dir/env"
}

start() {
    build
    dir=$(cd "$dir" && pwd)
    # Reused only when its env says TLS is on (one from before TLS was added is restarted).
    if interop_pid_alive "$dir/broker.pid" && grep -q '^AMQP_INTEROP_PROTON_C_TLS=' "$dir/env" 2>/dev/null; then
        cat "$dir/env"
        return 0
    fi
    stop
    make_certificates "$dir/ssl-certs"
    # Run from the folder so the example's relative ssl-certs/ lookup finds ours.
    # A stale output file would give the last run's port before the redirect below
    # truncates it (the launch runs in the background): start from none.
    rm -f "$dir/broker.out"
    (cd "$dir" && exec setsid ./broker 127.0.0.1 0 >"$dir/broker.out" 2>&1 </dev/null) &
    echo $! >"$dir/broker.pid"
    local port=""
    read_port() {
        port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$dir/broker.out" 2>/dev/null)
        [[ -n $port ]]
    }
    # broker.c prints its complaint about unusable TLS files before the port (one flush
    # writes both): say so at once rather than after the TLS check's bound.
    tls_files_refused() { grep -q '^Failed to set up server certificate' "$dir/broker.out" 2>/dev/null; }
    if ! interop_wait_for 30 read_port || tls_files_refused || ! interop_wait_for 30 interop_speaks_amqp10 "$port" ||
        ! interop_wait_for 30 interop_speaks_amqp10 "$port" "$dir/ssl-certs/ca.pem"; then
        interop_log "the Proton C broker did not start (or did not answer over TLS); its output:"
        cat "$dir/broker.out" >&2 || true
        stop
        exit 1
    fi
    printf 'AMQP_INTEROP_PROTON_C=127.0.0.1:%s\nAMQP_INTEROP_PROTON_C_BROKER=%s\n' "$port" "$dir/broker" >"$dir/env"
    printf 'AMQP_INTEROP_PROTON_C_TLS=127.0.0.1:%s\nAMQP_INTEROP_PROTON_C_TLS_CERTS=%s\n' "$port" "$dir/ssl-certs" >>"$dir/env"
    cat "$dir/env"
}

# Makes the broker's TLS files in $1 (fresh each start, EC P-256, valid two days), named
# as broker.c looks for them, the key encrypted with the password it passes to Proton.
make_certificates() {
    local out=$1
    interop_make_cas "$out" "swift-amqp Proton C interop CA"
    (
        cd "$out"
        # No -nodes: the key is written encrypted (PKCS#8, AES-256) with broker.c's SSL_PW.
        interop_openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -passout pass:tserverpw \
            -keyout tserver-private-key.pem -out server.csr -subj "/CN=localhost"
        interop_openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tserver-certificate.pem -days 2 -extfile server.ext
        grep -q 'ENCRYPTED PRIVATE KEY' tserver-private-key.pem ||
            interop_fail "openssl wrote the broker's key unencrypted; broker.c expects it encrypted with its password"
    )
}

case "$command" in
    build) build ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 build|start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
