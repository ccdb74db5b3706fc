#!/usr/bin/env bash
# Starts or stops every interop service: a private RabbitMQ 3.10 node (AMQP 1.0
# plugin), the Qpid Proton C example broker and the Qpid Proton Python broker, all on
# 127.0.0.1. `make test` runs `start`, passes the printed variables to `swift test`,
# and runs `stop` however the tests end.
#
#   Tools/interop/services.sh start [STATE_DIR]   prints NAME=VALUE lines, one per variable
#   Tools/interop/services.sh stop  [STATE_DIR]
#
# STATE_DIR defaults to .build/interop. The lines printed by `start` are also written
# to STATE_DIR/env. If one service fails to start, the ones already started are
# stopped and the exit status is non-zero. The slow one (RabbitMQ, ~10 s) starts
# in the background while the others start.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command=${1:-}
state=${2:-.build/interop}

stop_all() {
    bash "$here/proton-python-broker.sh" stop "$state" || true
    bash "$here/proton-c-broker.sh" stop "$state" || true
    bash "$here/rabbitmq.sh" stop "$state" || true
    rm -f "$state/env"
}

start_all() {
    mkdir -p "$state"
    local rabbit_out="$state/rabbitmq.start.out" rabbit_pid out
    bash "$here/rabbitmq.sh" start "$state" >"$rabbit_out" &
    rabbit_pid=$!
    if ! out=$(bash "$here/proton-c-broker.sh" start "$state" && bash "$here/proton-python-broker.sh" start "$state"); then
        wait "$rabbit_pid" || true
        stop_all
        interop_fail "an interop service did not start (see above)"
    fi
    if ! wait "$rabbit_pid"; then
        stop_all
        interop_fail "RabbitMQ did not start (see above)"
    fi
    {
        cat "$rabbit_out"
        echo "$out"
    } | tee "$state/env"
    rm -f "$rabbit_out"
}

case "$command" in
    start) start_all ;;
    stop) stop_all ;;
    *) echo "usage: $0 start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
