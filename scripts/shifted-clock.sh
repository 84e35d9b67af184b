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
# libfaketime keeps a semaphore and a shared-memory segment per process in /dev/shm
# (sem.faketime_sem_PID, faketime_shm_PID) and leaves them behind when the process is
# killed (the crash tests, every SIGKILLed bot). Once thousands are left, a new process
# whose PID has a stale pair owned by another user (a server run as `postgres`) cannot
# make its own and dies: initdb failed so in a clean-clone run (2026-12-01, 12,772 stale
# pairs with pid_max 32768). Those of processes that no longer run are removed before the
# run and after it.
stale() {
  local f
  find /dev/shm -maxdepth 1 \( -name 'faketime_shm_*' -o -name 'sem.faketime_sem_*' \) 2>/dev/null |
    while read -r f; do [ -d "/proc/${f##*_}" ] || printf '%s\0' "$f"; done |
    xargs -0 -r rm -f 2>/dev/null || true
}
stale
build=$(mktemp -d)
trap 'rm -rf "$build"; stale' EXIT
cc -shared -fPIC -O2 -o "$build/realsleep.so" "$(dirname "$0")/realsleep.c"
echo "shifted-clock: the wall clock is $shift_by for: $*" >&2
LD_PRELOAD="$build/realsleep.so:$lib" FAKETIME="$shift_by" FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
