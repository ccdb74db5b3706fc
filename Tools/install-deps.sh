#!/usr/bin/env bash
# Install the system packages swift-amqp needs on Debian 12, only those missing.
#
#   Tools/install-deps.sh            liburing-dev python3-qpid-proton pkg-config valgrind,
#                                    and the interop services: rabbitmq-server gcc
#                                    libqpid-proton11-dev libqpid-proton11-dev-examples
#   Tools/install-deps.sh bench      ... plus linux-perf
#   Tools/install-deps.sh bench-compare
#                                    ... plus iperf3 socat python3-venv (make bench-compare)
#
# Idempotent: when everything is installed it runs no apt command at all.
# `apt-get update` runs at most once, and only if something must be installed.
# Works as root (CI) or through sudo. Never starts services.
# The Swift toolchain itself is not installed here; CI images provide it.
set -euo pipefail

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "$0"
}

# Why each package is needed:
#   liburing-dev         CAMQPLinux links liburing (io_uring backend).
#   python3-qpid-proton  the reference AMQP 1.0 peer for interoperability tests.
#   pkg-config           lets SwiftPM and scripts locate system libraries.
#   rabbitmq-server      RabbitMQ 3.10 (Debian 12) with its AMQP 1.0 plugin: the interop
#                        tests run a private node of it (Tools/interop/rabbitmq.sh). The
#                        package's own system-wide service is never started: see the
#                        policy-rc.d below.
#   gcc, libqpid-proton11-dev, libqpid-proton11-dev-examples
#                        the Qpid Proton C example broker, built by
#                        Tools/interop/proton-c-broker.sh for the interop tests.
packages=(liburing-dev python3-qpid-proton pkg-config
    rabbitmq-server gcc libqpid-proton11-dev libqpid-proton11-dev-examples)

# Instruction counts (kept apart from the list above so other additions to it merge cleanly):
#   valgrind             `make test` counts the hot paths' instructions with callgrind
#                        against ceilings (Tools/instructions/check.sh).
packages+=(valgrind)

for extra in "$@"; do
    case "$extra" in
        bench) packages+=(linux-perf) ;;  # profiling for `make bench` (valgrind is in every set)
        # `make bench-compare` (Docs/bench-compare.md): iperf3 for loopback TCP's limit,
        # socat to terminate TLS for uamqp (it only speaks TLS), python3-venv for uamqp's
        # virtualenv; gcc and the Proton C examples and headers are in the list above.
        bench-compare) packages+=(iperf3 socat python3-venv gcc libqpid-proton11-dev libqpid-proton11-dev-examples) ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install-deps.sh: unknown extra '$extra' (known: bench, bench-compare)" >&2; exit 2 ;;
    esac
done

# TLS (kept apart from the list above so other additions to it merge cleanly):
#   libssl-dev           CAMQPTLS links OpenSSL 3 (amqps://, Docs/tls.md).
#   openssl              the TLS tests make their certificates with the openssl command.
packages+=(libssl-dev openssl)

# WebSocket (kept apart likewise):
#   websockify           an independent WebSocket implementation (Python) bridging to the
#                        embedded peer, for Tests/AMQPWebSocketTests/WebsockifyInteropTests.
packages+=(websockify)

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: needs dpkg and apt-get (Debian 12); install by hand: ${packages[*]}" >&2
    exit 1
fi

is_installed() {
    # `dpkg -s` also succeeds for a removed package whose config files remain,
    # so look at the status itself. The output is captured first rather than
    # piped into `grep -q`: grep exiting early would SIGPIPE dpkg, and
    # pipefail would turn a match into a failure.
    local status
    status=$(dpkg -s "$1" 2>/dev/null) || return 1
    grep -qx 'Status: install ok installed' <<<"$status"
}

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: already installed: ${packages[*]}"
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps.sh: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
    exit 1
fi

# Debian starts services from maintainer scripts through invoke-rc.d, which
# asks /usr/sbin/policy-rc.d first; exit code 101 means "do not start". Put
# one in place for the duration of the install unless the system has its own
# (container images usually do), and remove it again however we exit.
# This matters for rabbitmq-server: its postinst would otherwise start a
# system-wide node on 0.0.0.0:5672 (and epmd on 4369) as the rabbitmq user,
# which the tests neither need nor want; a policy is preferred over stopping
# and disabling the service afterwards because nothing is started at all, so
# no port is ever bound and no state is written under /var/lib/rabbitmq by a
# running node. (On a systemd host, systemctl-based starts also consult
# policy-rc.d through deb-systemd-invoke.)
policy=/usr/sbin/policy-rc.d
placed_policy=0
cleanup() {
    if ((placed_policy)); then
        "${as_root[@]}" rm -f "$policy"
    fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from swift-amqp Tools/install-deps.sh\nexit 101\n' \
        | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 0755 "$policy"
    placed_policy=1
fi

log=$(mktemp)
trap 'cleanup; rm -f "$log"' EXIT
run_apt() {
    # Quiet unless it fails; then show what apt said.
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq \
        -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "install-deps.sh: apt-get $* failed" >&2
        exit 1
    fi
}

echo "install-deps: installing ${missing[*]}"
run_apt update
run_apt install -y --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        echo "install-deps.sh: $pkg is still not installed" >&2
        exit 1
    fi
done
echo "install-deps: done"
