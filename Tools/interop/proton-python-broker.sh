#!/usr/bin/env bash
# The Qpid Proton Python broker (Tests/Interop/proton_broker.py) on 127.0.0.1 for the
# interop tests.
#
#   Tools/interop/proton-python-broker.sh start [STATE_DIR]   prints AMQP_INTEROP_PROTON_PYTHON=127.0.0.1:PORT
#                                                             and AMQP_INTEROP_PROTON_PYTHON_BROKER=PATH
#   Tools/interop/proton-python-broker.sh stop  [STATE_DIR]
#
# STATE_DIR defaults to .build/interop; the broker's PID and output are kept in
# STATE_DIR/proton-python. It listens on port 0 and prints the port it got. The
# script's path is printed too: tests start their own instance when they need one
# with other options (a short idle time-out). `start` is idempotent; `stop` stops the
# PID `start` recorded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command=${1:-}
state=${2:-.build/interop}
dir="$state/proton-python"
broker="$(cd "$here/../.." && pwd)/Tests/Interop/proton_broker.py"

stop() {
    interop_stop_pid "$dir/broker.pid" 5
    rm -f "$dir/env"
}

start() {
    "$INTEROP_PYTHON" -c 'import proton' 2>/dev/null ||
        interop_fail "$INTEROP_PYTHON cannot import proton: run Tools/install-deps.sh (python3-qpid-proton)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if interop_pid_alive "$dir/broker.pid" && [[ -f $dir/env ]]; then
        cat "$dir/env"
        return 0
    fi
    stop
    # A stale output file would give the last run's port before the redirect below
    # truncates it (the launch runs in the background): start from none.
    rm -f "$dir/broker.out"
    setsid "$INTEROP_PYTHON" "$broker" --host 127.0.0.1 --port 0 >"$dir/broker.out" 2>&1 </dev/null &
    echo $! >"$dir/broker.pid"
    local port=""
    read_port() {
        port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$dir/broker.out" 2>/dev/null)
        [[ -n $port ]]
    }
    if ! interop_wait_for 30 read_port || ! interop_wait_for 30 interop_speaks_amqp10 "$port"; then
        interop_log "the Proton Python broker did not start; its output:"
        cat "$dir/broker.out" >&2 || true
        stop
        exit 1
    fi
    printf 'AMQP_INTEROP_PROTON_PYTHON=127.0.0.1:%s\nAMQP_INTEROP_PROTON_PYTHON_BROKER=%s\n' "$port" "$broker" | tee "$dir/env"
}

case "$command" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
