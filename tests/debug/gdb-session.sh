#!/usr/bin/env bash
# Drives the real gdb in batch mode against sable's gdbstub and the test
# kernel (target.c), as a person would with `sable -s -S` and `gdb -x`.
# usage: gdb-session.sh SABLE KERNEL ACCEL CPUS
#   CPUS 1: break at a function, continue, reset the machine from gdb and
#   meet the breakpoint again, read registers, arguments and a variable,
#   a write watchpoint with its old and new value, single step, interrupt
#   the looping guest, monitor commands, physical memory mode, then
#   detach: the guest runs on to its isa-debug-exit status 87.
#   CPUS 2: the same stops, and `info threads` lists both CPUs, each
#   showing its own registers.
# Exits 77 (ctest: skipped) when this sable cannot run the configuration.
#
# On kvm_pvm (KVM without VT-x/AMD-V) this 32-bit guest runs in KVM's
# instruction emulator, which takes hardware breakpoints and single steps
# but neither INT3 in protected mode nor data breakpoints: there the
# session uses hbreak, and a second hbreak where the watchpoint would be.
set -u
sable=$1 kernel=$2 accel=$3 cpus=$4
break=break
watch=yes
if [ "$accel" = kvm ] && [ -e /sys/module/kvm_pvm ]; then
  echo "note: kvm_pvm: hbreak for break, no watchpoint"
  break=hbreak
  watch=no
fi
. "$(dirname "$0")/gdb-lib.sh"
gdb_setup
start_guest -accel "$accel" -smp "$cpus" -kernel "$kernel" \
  -device isa-debug-exit,iobase=0xf4,iosize=4

# gdb retries a refused connection (tcp auto-retry) while sable starts.
{
  cat <<GDB
set pagination off
set confirm off
set tcp connect-timeout 30
target remote 127.0.0.1:$port
show architecture
info symbol \$pc
GDB
  if [ "$cpus" -gt 1 ]; then
    cat <<'GDB'
info threads
thread 2
printf "cpu1-cs=%#x cpu1-eip=%#x\n", $cs, $eip
thread 1
printf "cpu0-eip-is-start=%d\n", $eip == (unsigned)&_start
GDB
  fi
  echo "$break add"
  cat <<'GDB'
continue
monitor system_reset
maintenance flush register-cache
printf "after-reset-at-start=%d\n", $pc == (unsigned)&_start
continue
info symbol $pc
printf "sum=%d\n", a + b
printf "stack-ok=%d\n", $esp > (unsigned)&stack_bottom && $esp < (unsigned)&stack_top
info registers eip esp eflags cs
GDB
  if [ "$watch" = yes ]; then
    echo "watch counter"
  else
    echo "hbreak target.c:21"
  fi
  cat <<'GDB'
continue
printf "counter=%u\n", counter
set $before = $pc
stepi
printf "stepped=%d\n", $pc != $before
delete
monitor info mtree
monitor info registers
maintenance packet Qqemu.PhyMemMode:1
printf "physical-counter=%u\n", *(unsigned *)&counter
maintenance packet Qqemu.PhyMemMode:0
python
import threading, time
def _interrupt():
    time.sleep(1.0)
    gdb.post_event(lambda: gdb.execute("interrupt"))
threading.Thread(target=_interrupt, daemon=True).start()
end
continue
printf "spinning=%d\n", spins > 0
info symbol $pc
set var go_on = 1
detach
GDB
} >"$work/session.gdb"

timeout 120 gdb -nx -batch -x "$work/session.gdb" "$kernel" >"$work/gdb.log" 2>&1
gdb_status=$?
[ -n "${GDB_SESSION_LOG:-}" ] && cp "$work/gdb.log" "$GDB_SESSION_LOG"

# The guest, detached, runs to its exit: (43 << 1) | 1.
wait_guest
skip_if_unsupported

expected=(
  "add + "
  "Breakpoint 1, add (a=40, b=2)"
  "after-reset-at-start=1"
  "sum=42"
  "stack-ok=1"
  "eflags"
  "counter=42"
  "stepped=1"
  "(ram)"
  "RIP="
  "physical-counter=42"
  "received signal SIGINT"
  "spinning=1"
  "kmain + "
  "(Remote target) detached]"
)
if [ "$watch" = yes ]; then
  expected+=("Hardware watchpoint 2: counter" "Old value = 0" "New value = 42")
fi
if [ "$cpus" -gt 1 ]; then
  expected+=("Thread 1 (CPU#0" "Thread 2 (CPU#1" "cpu1-cs=0xf000 cpu1-eip=0xfff0"
             "cpu0-eip-is-start=1")
fi
expected+=('(currently "i386")')
missing=()
for text in "${expected[@]}"; do
  grep -qF -- "$text" "$work/gdb.log" || missing+=("$text")
done
problem=
if [ ${#missing[@]} -gt 0 ]; then
  problem="gdb's output lacks: $(printf "'%s' " "${missing[@]}")"
elif [ "$gdb_status" != 0 ] && [ "$gdb_status" != 1 ]; then
  # 1: without a terminal gdb counts the interrupted continue as failed.
  problem="gdb exited with status $gdb_status"
elif [ "$status" != 87 ]; then
  problem="sable's exit status is $status, expected 87"
fi
[ -z "$problem" ] || fail "$problem"
echo "ok: gdb session on -accel $accel -smp $cpus, guest exit status $status"
