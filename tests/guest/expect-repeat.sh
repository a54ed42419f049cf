#!/usr/bin/env bash
# Passes when TEXT appears COUNT times on the guest's console within SECONDS
# (a guest that resets and boots again), then stops the guest.
# usage: expect-repeat.sh SECONDS COUNT TEXT -- COMMAND...
set -u
seconds=$1 count=$2 text=$3
shift 4
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" </dev/null >"$log" 2>&1 &
guest=$!
deadline=$(( $(date +%s) + seconds ))
while [ "$(grep -cF -- "$text" "$log")" -lt "$count" ]; do
  if ! kill -0 "$guest" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
    kill -9 "$guest" 2>/dev/null
    echo "FAIL: '$text' appeared $(grep -cF -- "$text" "$log") times, expected $count"
    echo "command: $*"
    echo "--- last console lines ---"
    tail -n 25 "$log" | tr -d '\r'
    exit 1
  fi
  sleep 0.1
done
kill "$guest"
wait "$guest" 2>/dev/null
echo "ok: '$text' appeared $count times"
