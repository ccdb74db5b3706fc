#!/usr/bin/env bash
# Seeds of FuzzDecodeCommand (corpus `decode`), made from the other targets' seeds: the
# engine exchanges captured from EnginePair become captures (`amqp decode --frames`,
# their protocol header put back), the value and message seeds become value and
# message inputs. Each seed starts with the harness's knob byte (see its header).
# make-seeds.sh runs this after the other generators; it can also run alone.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root/Tools/Fuzz/corpus"
out=decode
rm -rf "$out"
mkdir -p "$out"
amqp='AMQP\x00\x01\x00\x00'
sasl='AMQP\x03\x01\x00\x00'
# seed NAME KNOB HEADER FILE: the knob byte, the header, FILE without its own knob byte.
seed() { { printf "\\x$2"; printf "$3"; tail -c +2 "$4"; } >"$out/$1"; }
# The engine targets' input is what the other side sent after its header:
# engine-server holds a client's bytes, engine-client a server's.
for s in basic multiframe close-error detach; do
    seed "client-$s" 01 "$amqp" "engine-server/$s-0"
    seed "server-$s" 01 "$amqp" "engine-client/$s-0"
done
seed client-sasl-plain 01 "$sasl" sasl-server/sasl-plain-0
seed server-sasl-plain 01 "$sasl" sasl-client/sasl-plain-0
seed client-basic-depth1 05 "$amqp" engine-server/basic-0
# --hex: the same capture as hex text, 32 bytes a line.
{ printf '\x03'; { printf "$amqp"; tail -c +2 engine-server/basic-0; } | od -An -v -tx1 -w32; } >"$out/client-basic-hex"
for v in described-nested outcomes array-described array-described-sym described-other map8 str8 char-astral several nested; do
    { printf '\x00'; cat "value/$v"; } >"$out/value-$v"
done
for m in full data-multi sequence annotations app-properties value-map; do
    { printf '\x20'; cat "message/$m"; } >"$out/message-$m"
done
echo "decode seeds: $(ls "$out" | wc -l) files, $(cat "$out"/* | wc -c) bytes"
