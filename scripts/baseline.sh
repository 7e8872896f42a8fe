#!/usr/bin/env bash
# The JSON baseline of the shipped layouts: `tierlab run saves/NAME.ron --json` (each file's own
# seed, the default 60 simulated seconds) for every shipped layout, kept in tests/baseline/.
#
#   scripts/baseline.sh            compare every shipped layout with its recorded baseline
#   scripts/baseline.sh --record   record the baseline anew (do it in a commit of its own that
#                                  says which figures moved and why)
#
# A refactor must leave every file byte-identical. The test suite runs the same comparison
# (tests/it/baseline.rs), so CI fails when a number moves without a new recording.
# TIERLAB_BIN picks the binary; by default a debug build (the core is optimised in it too).
set -euo pipefail
cd "$(dirname "$0")/.."
record=0
if [ "${1-}" = "--record" ]; then
    record=1
fi
bin="${TIERLAB_BIN-}"
if [ -z "$bin" ]; then
    cargo build --locked --quiet
    bin=./target/debug/tierlab
fi
mkdir -p tests/baseline
status=0
for file in saves/*.ron; do
    name="$(basename "$file" .ron)"
    want="tests/baseline/$name.json"
    got="$("$bin" run "$file" --json)"
    if [ "$record" = 1 ]; then
        printf '%s\n' "$got" > "$want"
        echo "recorded $want"
    elif [ ! -f "$want" ]; then
        echo "MISSING  $want (run scripts/baseline.sh --record)"
        status=1
    elif printf '%s\n' "$got" | cmp -s - "$want"; then
        echo "same     $name"
    else
        echo "CHANGED  $name"
        printf '%s\n' "$got" | diff <(tr ',' '\n' < "$want") <(tr ',' '\n') | head -20 || true
        status=1
    fi
done
if [ "$record" = 0 ]; then
    for want in tests/baseline/*.json; do
        [ -f "saves/$(basename "$want" .json).ron" ] || { echo "STALE    $want (no such layout)"; status=1; }
    done
fi
exit "$status"
