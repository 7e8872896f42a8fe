#!/usr/bin/env bash
# Build the release binary, open the real editor window under Xvfb at 1280x800 and save an
# in-app screenshot to docs/screenshots/editor.png (or the path given as $1).
# `scripts/screenshot.sh --running [out.png]` plays the layout first (TIERLAB_LAYOUT, default
# request-flow.ron) and shoots once TIERLAB_SCREENSHOT_AFTER_S simulated seconds have run, so
# the picture shows dots, load colours and plots: docs/screenshots/running.png by default.
# Other `TIERLAB_*` variables pass through: TIERLAB_WINDOW=1024x768 (the window and the virtual
# screen), TIERLAB_ZOOM=1.5 (UI zoom), TIERLAB_THEME=projector, TIERLAB_GALLERY=1 (the scenario
# gallery), TIERLAB_LESSON=4 (open lesson 4), TIERLAB_PRESENT=1 (presentation mode),
# TIERLAB_SEND=2 (send GET /u/7 twice from the first client and open the request stepper),
# TIERLAB_WALK_STEP=4 (show that step of the last walk), TIERLAB_STUDY=spof or stress (run that
# search at launch; the screenshot waits for it).
# `scripts/screenshot.sh --gallery` and `--presentation` make docs/screenshots/gallery.png and
# presentation.png at 1280x720. TIERLAB_BIN=target/debug/tierlab uses that binary instead of
# building the release one; TIERLAB_PROFILE=debug builds and uses the debug one.
# Needs xvfb; installs it with apt-get when missing and run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
running=0
if [ "${1-}" = "--gallery" ]; then
    shift
    set -- "${1:-docs/screenshots/gallery.png}"
    export TIERLAB_GALLERY=1 TIERLAB_WINDOW="${TIERLAB_WINDOW-1280x720}"
elif [ "${1-}" = "--presentation" ]; then
    shift
    set -- --running "${1:-docs/screenshots/presentation.png}"
    export TIERLAB_PRESENT=1 TIERLAB_LESSON="${TIERLAB_LESSON-4}" TIERLAB_WINDOW="${TIERLAB_WINDOW-1280x720}"
    export TIERLAB_SCREENSHOT_AFTER_S="${TIERLAB_SCREENSHOT_AFTER_S-10}" TIERLAB_SPEED="${TIERLAB_SPEED-5}"
fi
if [ "${1-}" = "--running" ]; then
    running=1
    shift
fi
if [ "$running" = 1 ]; then
    out="${1:-docs/screenshots/running.png}"
    export TIERLAB_PLAY=1
    export TIERLAB_LAYOUT="${TIERLAB_LAYOUT-request-flow.ron}"
    export TIERLAB_SPEED="${TIERLAB_SPEED-2}"
    export TIERLAB_SCREENSHOT_AFTER_S="${TIERLAB_SCREENSHOT_AFTER_S-20}"
else
    out="${1:-docs/screenshots/editor.png}"
fi
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac  # relative to the repository, or absolute
mkdir -p "$(dirname "$out")"

if ! command -v xvfb-run >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update && apt-get install -y --no-install-recommends xvfb
    else
        echo "xvfb-run is missing: sudo apt-get install -y --no-install-recommends xvfb" >&2
        exit 1
    fi
fi

bin="${TIERLAB_BIN-}"
if [ -z "$bin" ]; then
    if [ "${TIERLAB_PROFILE-release}" = release ]; then
        cargo build --release --locked
        bin=./target/release/tierlab
    else
        cargo build --locked
        bin=./target/debug/tierlab
    fi
fi
rm -f "$out"
# A fresh, empty working directory for the window's settings, so the shot is reproducible;
# XDG_RUNTIME_DIR silences a harmless warning.
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
chmod 700 "$state"
XDG_RUNTIME_DIR="$state" XDG_DATA_HOME="$state/data" \
    TIERLAB_SCREENSHOT="$out" TIERLAB_NO_NATIVE_DIALOG=1 TIERLAB_SELECT="${TIERLAB_SELECT-app}" \
    timeout 120 xvfb-run -a -s "-screen 0 ${TIERLAB_WINDOW-1280x800}x24" "$bin"
test -s "$out" || { echo "no screenshot was written" >&2; exit 1; }
echo "wrote $out"
