#!/usr/bin/env bash
# Run a pytest command as N processes side by side, each on every N-th test
# (TICKETBOT_TEST_SHARD, tests/conftest.py); print each one's output when all are done;
# fail when any failed.   scripts/in-shards.sh 2 .venv/bin/pytest -q
set -uo pipefail
n=$1; shift
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for k in $(seq 1 "$n"); do
  TICKETBOT_TEST_SHARD="$k/$n" "$@" >"$logs/$k.log" 2>&1 &
  pids+=($!)
done
status=0
for k in $(seq 1 "$n"); do
  wait "${pids[$((k - 1))]}" || status=1
  echo "--- shard $k of $n"
  cat "$logs/$k.log"
done
exit $status
