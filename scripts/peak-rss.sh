#!/usr/bin/env bash
# Peak resident memory (KiB) of a simulated stretch of a layout, headless and in the window.
# usage: scripts/peak-rss.sh BIN saves/NAME.ron SECONDS...  e.g. target/speed/tierlab saves/request-flow.ron 60 3600
# (a shipped layout: the window opens it by name).
# For each SECONDS: `tierlab run FILE --seconds S --json` (headless) and the real window under
# Xvfb playing FILE at TIERLAB_SPEED (default 100, the fastest) until S simulated seconds, then
# closing (rewind snapshots on, as a user has them). Needs xvfb-run and GNU time.
set -euo pipefail
bin=$1; file=$2; shift 2
speed="${TIERLAB_SPEED-100}"
for s in "$@"; do
    headless=$(/usr/bin/time -f %M "$bin" run "$file" --seconds "$s" --json 2>&1 >/dev/null | tail -1)
    state="$(mktemp -d)"  # private (0700), as XDG_RUNTIME_DIR must be
    trap 'rm -rf "$state"' EXIT
    XDG_RUNTIME_DIR="$state" XDG_DATA_HOME="$state/data" TIERLAB_NO_NATIVE_DIALOG=1 \
        TIERLAB_SCREENSHOT="$state/shot.png" TIERLAB_SCREENSHOT_AFTER_S="$s" TIERLAB_PLAY=1 \
        TIERLAB_LAYOUT="$(basename "$file")" TIERLAB_SPEED="$speed" \
        timeout 3000 xvfb-run -a -s "-screen 0 1280x800x24" \
        /usr/bin/time -f %M -o "$state/rss" "$bin" >/dev/null 2>&1 || true
    window=$(tail -1 "$state/rss" 2>/dev/null || echo "?")
    test -s "$state/shot.png" || window="? (the window did not reach $s s)"
    rm -rf "$state"
    echo "$file $s s: headless $headless KiB, window $window KiB"
done
