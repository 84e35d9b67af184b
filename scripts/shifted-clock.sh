#!/usr/bin/env bash
# Run a command with the wall clock shifted (e.g. +400d, -30d) for it and every process
# it starts: Debian's libfaketime, with the monotonic clock left real so that timeouts
# keep their length. libfaketime then rewrites the absolute deadlines of
# clock_nanosleep (time.sleep, subprocess waits) by its offset and the kernel refuses
# them, so a tiny preload (scripts/realsleep.c, built here) sleeps on the real clocks.
#   scripts/shifted-clock.sh +400d .venv/bin/pytest -q
set -euo pipefail
shift_by=$1; shift
lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1 || true)
[ -n "$lib" ] || lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
[ -n "$lib" ] || { echo "shifted-clock: libfaketime not found (apt-get install faketime)" >&2; exit 1; }
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cc -shared -fPIC -O2 -o "$build/realsleep.so" "$(dirname "$0")/realsleep.c"
echo "shifted-clock: the wall clock is $shift_by for: $*" >&2
LD_PRELOAD="$build/realsleep.so:$lib" FAKETIME="$shift_by" FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
