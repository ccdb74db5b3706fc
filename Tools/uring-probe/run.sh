#!/usr/bin/env bash
# Builds Tools/uring-probe/multishot.c (gcc, liburing-dev) into .build/uring-probe and runs
# its matrix: single-shot recv into each connection's ring (what URingBackend does)
# against multishot recv with shared provided buffers copied into the ring, alternating,
# ROUNDS times (default 2). BENCHMARKS.md, "Issue 4: multishot receive", has a run.
#
#   bash Tools/uring-probe/run.sh [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-2}
out=.build/uring-probe
mkdir -p "$out"
gcc -O2 -Wall -Wextra -o "$out/multishot" "$here/multishot.c" -luring -lpthread
# A thousand connections need two thousand descriptors and more.
ulimit -n 8192
# CONNECTIONS TOTAL_MIB CHUNK_BYTES
for case in "1 2048 65536" "100 2048 65536" "1 512 1024" "100 1024 1024" "1000 1024 1024" "1000 1024 100"; do
    for _ in $(seq "$rounds"); do
        for mode in single multi; do
            # shellcheck disable=SC2086
            "$out/multishot" "$mode" $case
        done
    done
done
