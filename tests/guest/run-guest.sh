#!/usr/bin/env bash
# Boots a guest under a time bound and checks its console and exit status.
# usage: run-guest.sh SECONDS EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
#   EXPECTED_STATUS: a number, `any`, or `stop` (stop the guest as soon as
#   EXPECTED_TEXT appears: for firmware that never exits by itself).
# On failure it says what was wrong and shows the last console lines.
set -u
seconds=$1 expected_status=$2 expected_text=$3
shift 4
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s.%N)
"$@" </dev/null >"$log" 2>&1 &
guest=$!
status=
deadline=$(( $(date +%s) + seconds ))
while kill -0 "$guest" 2>/dev/null; do
  if [ "$expected_status" = stop ] && grep -qF -- "$expected_text" "$log"; then
    kill "$guest"
    wait "$guest"
    status=stopped
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    kill -9 "$guest"
    wait "$guest"
    status=timeout
    break
  fi
  sleep 0.1
done
if [ -z "$status" ]; then
  wait "$guest"
  status=$?
fi
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
problem=""
if [ "$status" = timeout ]; then
  problem="timed out after ${seconds} s"
elif ! grep -qF -- "$expected_text" "$log"; then
  problem="console never showed '$expected_text' (exit status $status)"
elif [ "$expected_status" != any ] && [ "$expected_status" != stop ] &&
  [ "$status" != "$expected_status" ]; then
  problem="exit status $status, expected $expected_status"
fi
if [ -n "$problem" ]; then
  echo "FAIL: $problem"
  echo "command: $*"
  echo "--- last console lines ---"
  tail -n 25 "$log" | tr -d '\r'
  exit 1
fi
echo "ok: '$expected_text' (status $status) in ${elapsed} s"
