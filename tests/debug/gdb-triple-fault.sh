#!/usr/bin/env bash
# With a debugger attached, a triple fault stops the machine and is
# reported (SIGSEGV) instead of resetting it; continuing then does what
# the fault would have done: with -no-reboot, sable ends with status 0 and
# gdb sees the exit.
# usage: gdb-triple-fault.sh SABLE KERNEL ACCEL
set -u
sable=$1 kernel=$2 accel=$3
. "$(dirname "$0")/gdb-lib.sh"
gdb_setup
start_guest -accel "$accel" -no-reboot -kernel "$kernel"

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

wait_guest

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
[ -z "$problem" ] || fail "$problem"
echo "ok: the triple fault stopped for gdb; continuing ended sable (status 0)"
