#!/usr/bin/env bash
# Runs a command with the interop services up, then stops them, whatever happens.
#
#   Tools/interop/with-services.sh COMMAND [ARG...]      (`make test` runs `swift test` so)
#
# Starts everything with services.sh (state in $INTEROP_STATE, default
# .build/interop), exports the variables it prints plus AMQP_INTEROP_REQUIRED=1 (so
# the interop suites fail instead of skipping if a variable is missing), runs the
# command, and stops the services on any exit: success, failure, Ctrl-C or SIGTERM.
# Exits with the command's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${INTEROP_STATE:-.build/interop}

(($# > 0)) || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

stop() { bash "$here/services.sh" stop "$state" || true; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)
bash "$here/services.sh" start "$state" >/dev/null
echo "interop: services up in $(($(date +%s) - started)) s:" $(cut -d= -f1 "$state/env")
set -a
# shellcheck disable=SC1091
. "$state/env"
set +a
export AMQP_INTEROP_REQUIRED=1

status=0
"$@" || status=$?
exit "$status"
