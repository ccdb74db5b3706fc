#!/usr/bin/env bash
# Regenerates the seed corpus in Tools/Fuzz/corpus/{value,frame,message} from
# Tools/Fuzz/Seeds/GenerateSeeds.swift, and the engine targets' seeds
# (corpus/{engine-*,sasl-*}) from real exchanges, Tools/Fuzz/Seeds/GenerateEngineSeeds.swift
# (AMQPCodec, AMQPEngine and AMQPTesting compiled as modules beside it). Files are
# replaced by name; commit the result.
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

# The engine seeds: three small modules, then the generator against them.
mapfile -t engine < <(find "$root/Sources/AMQPEngine" -name '*.swift' | sort)
mapfile -t testing < <(find "$root/Sources/AMQPTesting" -name '*.swift' | sort)
module() {
    local name=$1
    shift
    (cd "$work" && "$swiftc" -parse-as-library -swift-version 6 -enable-upcoming-feature InternalImportsByDefault \
        -module-name "$name" -emit-module -emit-module-path "$name.swiftmodule" -emit-library -static \
        -I . "$@" -o "lib$name.a")
}
module AMQPCodec "${codec[@]}"
module AMQPEngine "${engine[@]}"
module AMQPTesting "${testing[@]}"
(cd "$work" && "$swiftc" -parse-as-library -swift-version 6 -module-name EngineSeeds -I . -L . \
    -lAMQPTesting -lAMQPEngine -lAMQPCodec "$root/Tools/Fuzz/Seeds/GenerateEngineSeeds.swift" -o generate-engine)
mkdir -p Tools/Fuzz/corpus/{engine-client,engine-server,engine-session,sasl-client,sasl-server}
"$work/generate-engine" Tools/Fuzz/corpus
# The `amqp decode` target's seeds are made from the others.
bash Tools/Fuzz/Seeds/decode-seeds.sh
echo "seeds: $(ls Tools/Fuzz/corpus/value | wc -l) value, $(ls Tools/Fuzz/corpus/frame | wc -l) frame, $(ls Tools/Fuzz/corpus/message | wc -l) message, $(cat Tools/Fuzz/corpus/{engine,sasl}-*/* | wc -c) bytes of exchanges in $(find Tools/Fuzz/corpus/engine-* Tools/Fuzz/corpus/sasl-* -type f | wc -l) files, $(cat Tools/Fuzz/corpus/*/* | wc -c) bytes"
