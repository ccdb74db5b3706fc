# Shared by the side-by-side scripts of Tools/bench-compare (sourced, with $here set to
# this folder).

# bench_prepare NAME: checks for the release `amqp`, builds Proton C's examples
# (proton-c.sh) and sources the interop helpers; sets $state, $amqp and $proton.
bench_prepare() {
    state=.build/bench-compare
    amqp=.build/release/amqp
    [[ -x $amqp ]] || { echo "$1: $amqp not found: swift build -c release --product amqp" >&2; exit 1; }
    bash "$here/proton-c.sh" "$state"
    proton="$state/proton-c"
    . "$here/../interop/lib.sh"
}

# bench_stop PID: stops and reaps a background process; nothing when PID is empty.
bench_stop() {
    if [[ -n $1 ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
