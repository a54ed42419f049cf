#!/usr/bin/env bash
# With a debugger attached, a triple fault stops the machine and is
# reported (SIGSEGV) instead of resetting it; continuing then does what
# the fault would have done: with -no-reboot, sable ends with status 0 and
# gdb sees the exit.
# usage: gdb-triple-fault.sh SABLE KERNEL ACCEL
set -u
sable=$1 kernel=$2 accel=$3
if ! command -v gdb >/dev/null; then
  echo "FAIL: gdb is not installed (scripts/deps installs it)"
  exit 1
fi
work=$(mktemp -d)
guest=
cleanup() {
  if [ -n "$guest" ]; then kill -9 "$guest" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$sable" -accel "$accel" -nographic -no-reboot -S -gdb "tcp::$port" \
  -kernel "$kernel" </dev/null >"$work/console" 2>&1 &
guest=$!
# Until sable listens (or has given up, as on a configuration it does not
# support yet).
for _ in $(seq 100); do
  kill -0 "$guest" 2>/dev/null || break
  grep -q ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp && break
  sleep 0.1
done
if ! kill -0 "$guest" 2>/dev/null && grep -q "not supported yet" "$work/console"; then
  echo "skipped: $(grep -m1 "not supported yet" "$work/console")"
  exit 77
fi

cat >"$work/session.gdb" <<GDB
set pagination off
set confirm off
set tcp connect-timeout 30
target remote 127.0.0.1:$port
continue
printf "stopped-at-fault\n"
monitor info registers
continue
GDB
timeout 60 gdb -nx -batch -x "$work/session.gdb" >"$work/gdb.log" 2>&1

status=timeout
for _ in $(seq 300); do
  if ! kill -0 "$guest" 2>/dev/null; then
    wait "$guest"
    status=$?
    guest=
    break
  fi
  sleep 0.1
done

problem=
for text in "triple fault on CPU#0" "received signal SIGSEGV" "stopped-at-fault" \
            "RIP=" "exited normally"; do
  grep -qF -- "$text" "$work/gdb.log" || problem="gdb's output lacks '$text'"
done
if [ -z "$problem" ] && [ "$(grep -c "faulting now" "$work/console")" != 1 ]; then
  problem="the guest did not fault exactly once"
fi
if [ -z "$problem" ] && [ "$status" != 0 ]; then
  problem="sable's exit status is $status, expected 0"
fi
if [ -n "$problem" ]; then
  echo "FAIL: $problem"
  echo "--- gdb ---"
  cat "$work/gdb.log"
  echo "--- sable ---"
  tail -n 20 "$work/console"
  exit 1
fi
echo "ok: the triple fault stopped for gdb; continuing ended sable (status 0)"
