# Shared helpers for the interop service scripts (sourced, not run).
#
# Every service lives in its own folder under the state directory (by default
# .build/interop), records the PIDs it started there, and is stopped by those PIDs
# only: never by process name, so other brokers, other checkouts' test runs and
# the system's own services are left alone. Everything listens on 127.0.0.1.

# The Python that has Debian's python3-qpid-proton (a pyenv or venv python on PATH
# does not see Debian's dist-packages).
INTEROP_PYTHON=${INTEROP_PYTHON:-/usr/bin/python3}

interop_log() { echo "interop: $*" >&2; }
interop_fail() { echo "interop: error: $*" >&2; exit 1; }

# A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it;
# there is a small window before our service binds it, which is why services that
# can report the port they bound, given 0, are started that way instead).
interop_free_port() {
    "$INTEROP_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# True when something accepts TCP connections on 127.0.0.1:$1.
interop_port_open() {
    "$INTEROP_PYTHON" -c 'import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# True when 127.0.0.1:$1 answers an AMQP 1.0 SASL protocol header with an AMQP 1.0
# header of its own (so the AMQP 1.0 side, not just the port, is up). With a CA file as
# $2, over TLS first: the handshake must verify against it for the name localhost.
interop_speaks_amqp10() {
    "$INTEROP_PYTHON" -c 'import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
if len(sys.argv) > 2:
    s = ssl.create_default_context(cafile=sys.argv[2]).wrap_socket(s, server_hostname="localhost")
s.sendall(b"AMQP\x03\x01\x00\x00")
got = b""
while len(got) < 8:
    chunk = s.recv(8 - len(got))
    if not chunk:
        break
    got += chunk
sys.exit(0 if got[:4] == b"AMQP" and got[5:8] == b"\x01\x00\x00" else 1)' "$@" 2>/dev/null
}

# Polls `$2...` (a command) every 0.2 s until it succeeds, for at most $1 seconds.
interop_wait_for() {
    local seconds=$1
    shift
    local end=$((SECONDS + seconds))
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

# True when process $1 runs. A zombie does not count: services outlive the script
# that started them and are reaped by PID 1, which in some containers never reaps.
interop_running() {
    local state
    [[ -n $1 ]] && state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# True when the PID recorded in file $1 is running.
interop_pid_alive() {
    [[ -f $1 ]] && interop_running "$(<"$1")"
}

# Stops the PID recorded in file $1: SIGTERM, up to $2 seconds (default 10) for it to
# exit, then SIGKILL. Removes the file. Does nothing without a file or a live PID.
interop_stop_pid() {
    local file=$1 grace=${2:-10} pid
    [[ -f $file ]] || return 0
    pid=$(<"$file")
    rm -f "$file"
    interop_running "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local end=$((SECONDS + grace))
    while interop_running "$pid" && ((SECONDS < end)); do sleep 0.2; done
    if interop_running "$pid"; then
        interop_log "PID $pid ($file) ignored SIGTERM for ${grace} s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

# openssl, its output kept in openssl.log of the current folder and shown if it fails.
interop_openssl() { openssl "$@" >>openssl.log 2>&1 || { cat openssl.log >&2; interop_fail "openssl $* failed"; }; }

# Fresh TLS material for a test service in $1 (EC P-256, valid two days): a CA named $2
# (ca.pem, ca.key), a CA that signed nothing (untrusted-ca.pem, for the untrusted-CA
# cases) and server.ext (SAN localhost and 127.0.0.1). The caller then signs, from
# inside $1 with interop_openssl, the certificates its service needs.
interop_make_cas() {
    local out=$1 name=$2
    rm -rf "$out"
    mkdir -p "$out"
    (
        cd "$out"
        local ca=(req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2)
        interop_openssl "${ca[@]}" -keyout ca.key -out ca.pem -subj "/CN=$name"
        interop_openssl "${ca[@]}" -keyout untrusted-ca.key -out untrusted-ca.pem -subj "/CN=nobody trusts this CA"
        echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' >server.ext
    )
}
