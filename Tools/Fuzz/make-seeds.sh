#!/usr/bin/env bash
# Regenerates the seed corpus in Tools/Fuzz/corpus/{value,frame,message} from
# Tools/Fuzz/Seeds/GenerateSeeds.swift. Files are replaced by name; commit the result.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
swiftc=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
work=.build-fuzz/seeds
mkdir -p "$work" Tools/Fuzz/corpus/value Tools/Fuzz/corpus/frame Tools/Fuzz/corpus/message
mapfile -t codec < <(find "$root/Sources/AMQPCodec" -name '*.swift' | sort)
(cd "$work" && "$swiftc" -parse-as-library -swift-version 6 -module-name Seeds \
    "${codec[@]}" "$root/Tools/Fuzz/Seeds/GenerateSeeds.swift" -o generate)
"$work/generate" Tools/Fuzz/corpus
echo "seeds: $(ls Tools/Fuzz/corpus/value | wc -l) value, $(ls Tools/Fuzz/corpus/frame | wc -l) frame, $(ls Tools/Fuzz/corpus/message | wc -l) message, $(cat Tools/Fuzz/corpus/*/* | wc -c) bytes"
