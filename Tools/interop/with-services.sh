#!/usr/bin/env bash
# Runs a command with the interop services up, then stops them, whatever happens.
#
#   Tools/interop/with-services.sh [--meanwhile 'OTHER COMMAND'] COMMAND [ARG...]
#
# Starts everything with services.sh (state in $INTEROP_STATE, default
# .build/interop) in the background; runs OTHER COMMAND (through bash -c) meanwhile,
# if given, since the services take ~10 s to come up; waits for them; exports the
# variables they print plus AMQP_INTEROP_REQUIRED=1 (so the interop suites fail
# instead of skipping when one is missing) and runs COMMAND. The services are stopped
# on any exit: success, failure, Ctrl-C or SIGTERM. Exits non-zero if either command
# failed (both run) or the services did not start.
#
# `make test` runs the main tests as OTHER COMMAND and the interop suites as COMMAND:
# the interop suites keep sockets and threads busy for a while, and tests that count
# the whole process's descriptors or memory must not run alongside them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${INTEROP_STATE:-.build/interop}

meanwhile=""
if [[ ${1:-} == --meanwhile ]]; then
    meanwhile=${2:?--meanwhile needs a command}
    shift 2
fi
(($# > 0)) || { echo "usage: $0 [--meanwhile 'COMMAND'] COMMAND [ARG...]" >&2; exit 2; }

starter=""
stop() {
    if [[ -n $starter ]]; then wait "$starter" 2>/dev/null || true; fi
    bash "$here/services.sh" stop "$state" || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$state"
started=$(date +%s)
bash "$here/services.sh" start "$state" >"$state/services.out" 2>&1 &
starter=$!

first=0
if [[ -n $meanwhile ]]; then
    bash -c "$meanwhile" || first=$?
fi

if ! wait "$starter"; then
    starter=""
    cat "$state/services.out" >&2
    echo "interop: the services did not start" >&2
    exit 1
fi
starter=""
echo "interop: services up ($(($(date +%s) - started)) s after starting):" $(cut -d= -f1 "$state/env")
set -a
# shellcheck disable=SC1091
. "$state/env"
set +a
export AMQP_INTEROP_REQUIRED=1

status=0
"$@" || status=$?
((first == 0)) || exit "$first"
exit "$status"
