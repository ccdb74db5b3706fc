#!/usr/bin/env bash
# Coverage-guided fuzzing of AMQPCodec and AMQPEngine with libFuzzer.
#
# Usage: Tools/Fuzz/run.sh SECONDS [TARGET...]
#   SECONDS  fuzzing time shared by the targets (build time comes on top);
#            0 only builds.
#   TARGET   a harness name (FuzzValueDecoder) or its corpus name (value); default:
#            every Tools/Fuzz/Fuzz*.swift.
# Environment: FUZZ_ARGS adds libFuzzer flags (e.g. "-max_len=65536 -use_value_profile=1");
#              FUZZ_OPT replaces -O; SWIFTC overrides the compiler.
# Exits non-zero when a build fails or a target finds a crash, leak, timeout or OOM;
# the input is saved as Tools/Fuzz/artifacts/<target>-<kind>-<sha1>.
set -euo pipefail

usage() { sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ ]] || usage
budget=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
fuzz=Tools/Fuzz
build=.build-fuzz
self=$root/$fuzz/run.sh  # an input of every build: flags live here

swiftc=${SWIFTC:-$(command -v swiftc || true)}
if [[ -z $swiftc && -x /opt/swift/usr/bin/swiftc ]]; then swiftc=/opt/swift/usr/bin/swiftc; fi
[[ -n $swiftc ]] || { echo "run.sh: swiftc not found (not on PATH, no /opt/swift/usr/bin/swiftc)" >&2; exit 2; }
# lld avoids gold's "cannot export local symbol __asan_*" noise; use it when it is there.
linker=()
if [[ -x $(dirname "$swiftc")/ld.lld ]] || command -v ld.lld >/dev/null; then linker=(-use-ld=lld); fi

# Every harness is a Tools/Fuzz/Fuzz*.swift file; its corpus is named on a
# "// fuzz-corpus: NAME" line (default: the harness name).
corpus_of() { sed -n 's|^// fuzz-corpus: *\([A-Za-z0-9_-]*\).*|\1|p' "$fuzz/$1.swift" | head -1 | grep . || echo "$1"; }
all=()
for f in "$fuzz"/Fuzz*.swift; do all+=("$(basename "$f" .swift)"); done
targets=()
for want in "${@:-${all[@]}}"; do
    found=
    for t in "${all[@]}"; do
        if [[ $want == "$t" || $want == "$(corpus_of "$t")" ]]; then targets+=("$t"); found=1; fi
    done
    [[ -n $found ]] || { echo "run.sh: no target '$want' (have: ${all[*]})" >&2; exit 2; }
done

mkdir -p "$build" "$fuzz/artifacts"
mapfile -t codec < <(find "$root/Sources/AMQPCodec" -name '*.swift' | sort)
mapfile -t support < <(find "$root/$fuzz/Support" -name '*.swift' | sort)
mapfile -t engine < <(find "$root/Sources/AMQPEngine" -name '*.swift' | sort)
mapfile -t engine_support < <(find "$root/$fuzz/EngineSupport" -name '*.swift' | sort)
# FUZZ_OPT replaces -O (e.g. -Onone builds in a third of the time and runs slower).
flags=(-sanitize=fuzzer,address -parse-as-library ${FUZZ_OPT:--O} -g -wmo
       -swift-version 6 -enable-upcoming-feature ExistentialAny
       -enable-upcoming-feature InternalImportsByDefault)
lib=$build/codec/libAMQPCodec.a
englib=$build/engine/libAMQPEngine.a
# Harnesses that import AMQPEngine also get the instrumented engine and EngineSupport/.
uses_engine() { grep -q '^import AMQPEngine' "$fuzz/$1.swift"; }
need_engine=
for t in "${targets[@]}"; do if uses_engine "$t"; then need_engine=1; fi; done

# True when $1 is missing or older than any of the other files.
stale() {
    local out=$1
    shift
    [[ ! -e $out ]] || [[ -n $(find "$@" -newer "$out" 2>/dev/null | head -1) ]]
}

# Runs swiftc in directory $1 (with -g, swiftc drops debugger files into the working
# directory), logging to $2.
compile() {
    local dir=$1 log=$2
    shift 2
    mkdir -p "$dir"
    (cd "$dir" && "$swiftc" "${flags[@]}" "$@") >"$log" 2>&1 || { echo "run.sh: build failed ($log):" >&2; cat "$log" >&2; return 1; }
}

# The codec is compiled once, instrumented, as module AMQPCodec; each harness (with
# Tools/Fuzz/Support) is a small module linked against it. Compiling the codec into
# every harness took 20 s per target; this way a target adds 2 s, and replaying a
# corpus runs as fast (measured with FuzzValueDecoder).
start=$(date +%s)
if stale "$lib" "${codec[@]}" "$self"; then
    compile "$build/codec" "$build/codec.build.log" -module-name AMQPCodec -emit-module \
        -emit-module-path "$root/$build/codec/AMQPCodec.swiftmodule" -emit-library -static \
        "${codec[@]}" -o "$root/$lib.tmp"
    mv "$lib.tmp" "$lib"
fi
# The engine likewise, once, against the codec module (about 60 s on two cores).
if [[ -n $need_engine ]] && stale "$englib" "${engine[@]}" "$lib" "$self"; then
    compile "$build/engine" "$build/engine.build.log" -module-name AMQPEngine -emit-module \
        -emit-module-path "$root/$build/engine/AMQPEngine.swiftmodule" -emit-library -static \
        -I "$root/$build/codec" "${engine[@]}" -o "$root/$englib.tmp"
    mv "$englib.tmp" "$englib"
fi
build_one() {
    local t=$1 bin=$build/$1
    local extra=() inputs=("$lib" "${support[@]}" "$root/$fuzz/$t.swift" "$self")
    if uses_engine "$t"; then
        extra=(-I "$root/$build/engine" -L "$root/$build/engine" -lAMQPEngine "${engine_support[@]}")
        inputs+=("$englib" "${engine_support[@]}")
    fi
    # Harnesses may name sources that need nothing but the codec on a
    # "// fuzz-sources: PATH..." line (a library's parsers, the `amqp` tool's decode
    # path); they are compiled, instrumented, into the harness's module.
    local own=()
    for f in $(sed -n 's|^// fuzz-sources: *||p' "$fuzz/$t.swift" | head -1); do own+=("$root/$f"); done
    inputs+=("${own[@]}")
    stale "$bin" "${inputs[@]}" || return 0
    compile "$build/$t.work" "$build/$t.build.log" -module-name FuzzTarget "${linker[@]}" \
        -I "$root/$build/codec" "${extra[@]}" -L "$root/$build/codec" -lAMQPCodec \
        "${support[@]}" "${own[@]}" "$root/$fuzz/$t.swift" -o "$root/$bin.tmp"
    mv "$bin.tmp" "$bin"
}
pids=()
for t in "${targets[@]}"; do build_one "$t" & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
(( failed == 0 )) || exit 1
built=$(date +%s)
echo "fuzz: built ${targets[*]} in $((built - start)) s"
(( budget > 0 )) || exit 0

share=$(( budget / ${#targets[@]} ))
(( share >= 1 )) || share=1
status=0
for t in "${targets[@]}"; do
    name=$(corpus_of "$t")
    seeds=$fuzz/corpus/$name
    scratch=$build/corpus/$name
    if (( share < 10 )); then
        # libFuzzer replays its whole corpus before max_total_time starts to count, and
        # a grown working corpus takes longer than a short share: smoke runs (make test)
        # start from the seeds alone.
        scratch=$build/corpus-smoke/$name
        rm -rf "$scratch"
    fi
    mkdir -p "$scratch" "$seeds"
    log=$build/$t.log
    before=$(ls "$fuzz/artifacts" | wc -l)
    # The Swift runtime's backtracer would attach to the crashing process and hold it;
    # libFuzzer and ASan print their own reports.
    t0=$(date +%s)
    set +e
    # shellcheck disable=SC2086
    SWIFT_BACKTRACE=enable=no "$build/$t" "$scratch" "$seeds" \
        -max_total_time="$share" -rss_limit_mb=2048 -timeout=10 \
        -dict="$fuzz/amqp.dict" -artifact_prefix="$fuzz/artifacts/$t-" \
        -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    took=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    units=$(ls "$scratch" | wc -l)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    new=$(( $(ls "$fuzz/artifacts" | wc -l) - before ))
    if (( rc == 0 )); then
        verdict=ok
    else
        status=1
        kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+|Fatal error: .*|fuzz oracle: .*' "$log" || echo "exit $rc")
        art=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$log" | tail -1)
        verdict="FAILED ($kind) -> ${art:-see $log}"
    fi
    echo "fuzz: $t: ${execs:-?} execs (${rate:-?}/s) in ${took} s, corpus ${units} units, cov ${cov:-?}, peak RSS ${rss:-?} MB, crashes ${new}: $verdict"
done
echo "fuzz: total $(( $(date +%s) - start )) s"
exit $status
