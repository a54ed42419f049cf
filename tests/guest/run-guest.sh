#!/usr/bin/env bash
# Boots a guest under a time bound and checks its console and exit status.
# usage: run-guest.sh SECONDS EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
# On failure it says what was wrong and shows the last console lines.
set -u
seconds=$1 expected_status=$2 expected_text=$3
shift 4
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s.%N)
timeout --kill-after=5 "$seconds" "$@" </dev/null >"$log" 2>&1
status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
problem=""
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  problem="timed out after ${seconds} s"
elif [ "$expected_status" != any ] && [ "$status" -ne "$expected_status" ]; then
  problem="exit status $status, expected $expected_status"
elif ! grep -qF -- "$expected_text" "$log"; then
  problem="console never showed '$expected_text'"
fi
if [ -n "$problem" ]; then
  echo "FAIL: $problem"
  echo "command: $*"
  echo "--- last console lines ---"
  tail -n 25 "$log" | tr -d '\r'
  exit 1
fi
echo "ok: '$expected_text' and status $status in ${elapsed} s"
