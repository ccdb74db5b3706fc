#!/usr/bin/env bash
# A private RabbitMQ node for the interop tests: Debian's rabbitmq-server (3.10) with
# the rabbitmq_amqp1_0 plugin, SASL PLAIN guest/guest, on 127.0.0.1 only; and a TLS
# listener beside the plaintext one (certificates made here, for this node only), with
# SASL EXTERNAL for a client certificate (rabbitmq_auth_mechanism_ssl).
#
#   Tools/interop/rabbitmq.sh start [STATE_DIR]   prints AMQP_INTEROP_RABBITMQ=127.0.0.1:PORT,
#                                                 AMQP_INTEROP_RABBITMQ_TLS=127.0.0.1:PORT
#                                                 and AMQP_INTEROP_RABBITMQ_TLS_CERTS=DIR
#   Tools/interop/rabbitmq.sh stop  [STATE_DIR]
#
# DIR holds PEM files made with the openssl command at each start: ca.pem (the CA that
# signed the broker's certificate, for DNS:localhost and IP:127.0.0.1), client.pem and
# client.key (subject CN=test-client,O=swift-amqp, signed by that CA; the broker maps
# it to its user `test-client` for EXTERNAL), and untrusted-ca.pem (a CA that signed
# nothing the broker has). The broker asks for a client certificate but does not
# require one (PLAIN works over TLS too).
#
# STATE_DIR defaults to .build/interop; the node lives in STATE_DIR/rabbitmq: its own
# config file, enabled-plugins file, Mnesia and log folders, Erlang cookie (HOME),
# node name, AMQP port, distribution port and epmd (its own port, started and stopped
# by this script). Nothing of the system's RabbitMQ is used or touched: not
# /etc/rabbitmq, not /var/lib/rabbitmq, not the rabbitmq-server service (which
# Tools/install-deps.sh installs without starting; see there), not port 5672 or 4369.
# Management is off (only rabbitmq_amqp1_0 is enabled).
#
# `start` is idempotent (a node still running from an earlier start is reused) and
# waits at most RABBITMQ_START_TIMEOUT seconds (default 60) for the AMQP 1.0 port.
# `stop` stops exactly the PIDs `start` recorded: the node's launcher (which stops the
# Erlang VM gracefully on SIGTERM), the VM itself, then its epmd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command=${1:-}
state=${2:-.build/interop}
dir="$state/rabbitmq"
server=/usr/lib/rabbitmq/bin/rabbitmq-server

stop() {
    [[ -d $dir ]] || return 0
    # The launcher script traps SIGTERM and stops the VM the graceful way; the VM's
    # own PID follows in case the launcher is gone; epmd last (the VM unregisters).
    interop_stop_pid "$dir/launcher.pid" 20
    interop_stop_pid "$dir/beam.pid" 10
    interop_stop_pid "$dir/epmd.pid" 5
    rm -f "$dir/env"
}

start() {
    [[ -x $server ]] || interop_fail "$server not found: run Tools/install-deps.sh (it installs rabbitmq-server)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if interop_pid_alive "$dir/launcher.pid" && [[ -f $dir/env ]]; then
        local port tls_port
        port=$(sed -n 's/^AMQP_INTEROP_RABBITMQ=127.0.0.1://p' "$dir/env")
        tls_port=$(sed -n 's/^AMQP_INTEROP_RABBITMQ_TLS=127.0.0.1://p' "$dir/env")
        if [[ -n $port && -n $tls_port ]] && interop_speaks_amqp10 "$port" &&
            interop_speaks_amqp10 "$tls_port" "$dir/tls/ca.pem"; then
            cat "$dir/env"
            return 0
        fi
    fi
    stop
    # A fresh node every run: no queues or messages left over from an earlier one.
    rm -rf "$dir/mnesia" "$dir/log"
    mkdir -p "$dir/mnesia" "$dir/log"

    local port tls_port dist epmd_port
    port=$(interop_free_port)
    tls_port=$(interop_free_port)
    dist=$(interop_free_port)
    epmd_port=$(interop_free_port)
    make_certificates "$dir/tls"
    # EXTERNAL takes the user name from the client certificate's CN (`test-client`),
    # a user the definitions below create with no password (so only EXTERNAL logs it
    # in). The definitions name guest too: loading definitions at boot replaces the
    # default user.
    "$INTEROP_PYTHON" - "$dir/definitions.json" <<'PY'
import base64, hashlib, json, os, sys
salt = os.urandom(4)
guest = base64.b64encode(salt + hashlib.sha256(salt + b"guest").digest()).decode()
everything = {"configure": ".*", "write": ".*", "read": ".*", "vhost": "/"}
json.dump({
    "users": [
        {"name": "guest", "password_hash": guest, "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]},
        {"name": "test-client", "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []},
    ],
    "vhosts": [{"name": "/"}],
    "permissions": [dict(everything, user="guest"), dict(everything, user="test-client")],
}, open(sys.argv[1], "w"))
PY
    # The AMQP 1.0 plugin shares the AMQP 0-9-1 listener (it tells the protocols
    # apart by their header). `loopback_users.guest` is RabbitMQ's default, written
    # out: guest may log in from 127.0.0.1 only, which is all we use.
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$port
listeners.ssl.1 = 127.0.0.1:$tls_port
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/server.pem
ssl_options.keyfile = $dir/tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
ssl_cert_login_from = common_name
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
load_definitions = $dir/definitions.json
loopback_users.guest = true
default_user = guest
default_pass = guest
log.console = false
log.file.level = info
EOF
    echo '[rabbitmq_amqp1_0,rabbitmq_auth_mechanism_ssl].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    rm -f "$dir/.erlang.cookie"   # 0400 from an earlier start: write a new one
    printf 'interop-cookie-%s' "$port" >"$dir/.erlang.cookie"
    chmod 0400 "$dir/.erlang.cookie"

    # Our own epmd, in the foreground of its own process so its PID is known (a
    # VM-started epmd daemonizes and would outlive the node unrecorded).
    ERL_EPMD_PORT=$epmd_port setsid epmd -port "$epmd_port" -address 127.0.0.1 \
        >"$dir/log/epmd.out" 2>&1 </dev/null &
    echo $! >"$dir/epmd.pid"
    interop_wait_for 10 interop_port_open "$epmd_port" || interop_fail "epmd did not listen on 127.0.0.1:$epmd_port"

    env -i PATH="/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME="$dir" LANG=C.UTF-8 \
        ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_NODENAME="interop-$port@localhost" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_PID_FILE="$dir/beam.pid" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}" \
        setsid "$server" >"$dir/log/server.out" 2>&1 </dev/null &
    echo $! >"$dir/launcher.pid"

    local timeout=${RABBITMQ_START_TIMEOUT:-60}
    # Both listeners come up in the same boot step; the second wait gets what is left
    # of the time-out (at least 5 s).
    local end=$((SECONDS + timeout))
    if ! interop_wait_for "$timeout" interop_speaks_amqp10 "$port" ||
        ! interop_wait_for $((end - SECONDS > 5 ? end - SECONDS : 5)) interop_speaks_amqp10 "$tls_port" "$dir/tls/ca.pem"; then
        interop_log "RabbitMQ did not answer AMQP 1.0 on 127.0.0.1:$port and over TLS on 127.0.0.1:$tls_port within $timeout s; its output:"
        tail -n 30 "$dir/log/server.out" >&2 || true
        grep -h -i -E 'error|ssl|tls' "$dir"/log/*.log 2>/dev/null | tail -n 20 >&2 || true
        stop
        exit 1
    fi
    printf 'AMQP_INTEROP_RABBITMQ=127.0.0.1:%s\nAMQP_INTEROP_RABBITMQ_TLS=127.0.0.1:%s\nAMQP_INTEROP_RABBITMQ_TLS_CERTS=%s\n' \
        "$port" "$tls_port" "$dir/tls" | tee "$dir/env"
}

# Makes the node's certificates in $1 (fresh each start, EC P-256, valid two days),
# as Tests/Support/AMQPTestCertificates does for the in-process tests.
make_certificates() {
    local out=$1
    interop_make_cas "$out" "swift-amqp interop CA"
    (
        cd "$out"
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        echo 'extendedKeyUsage=clientAuth' >client.ext
        interop_openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
        interop_openssl req "${ec[@]}" -keyout client.key -out client.csr -subj "/O=swift-amqp/CN=test-client"
        interop_openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
        interop_openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext
        # The broker's Erlang VM reads these as its own user.
        chmod 0644 ./*.pem ./*.key
    )
}

case "$command" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
