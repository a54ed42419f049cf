# Shared by the gdb test scripts, sourced once they have set $sable.
#   gdb_setup: fails without gdb; makes $work (removed on exit, the guest
#     killed with it) and picks a free TCP port for the gdbstub ($port).
#   start_guest ARGS...: starts sable with ARGS, paused (-S) behind the
#     gdbstub, its console in $work/console; returns once it listens, or
#     exits 77 (ctest: skipped) when this sable cannot run ARGS.
#   wait_guest: waits up to 30 s for sable to end; its exit status in
#     $status, or "timeout".
#   fail PROBLEM: prints PROBLEM, gdb's log and sable's console; exits 1.

gdb_setup() {
  if ! command -v gdb >/dev/null; then
    echo "FAIL: gdb is not installed (scripts/deps installs it)"
    exit 1
  fi
  work=$(mktemp -d)
  guest=
  trap gdb_cleanup EXIT
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
}

gdb_cleanup() {
  if [ -n "$guest" ]; then kill -9 "$guest" 2>/dev/null; fi
  rm -rf "$work"
}

skip_if_unsupported() {
  if grep -q "not supported yet" "$work/console"; then
    echo "skipped: $(grep -m1 "not supported yet" "$work/console")"
    exit 77
  fi
}

start_guest() {
  "$sable" "$@" -nographic -S -gdb "tcp::$port" </dev/null >"$work/console" 2>&1 &
  guest=$!
  # Until sable listens (or has given up, as on a configuration it does
  # not support yet).
  for _ in $(seq 100); do
    kill -0 "$guest" 2>/dev/null || break
    grep -q ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp && break
    sleep 0.1
  done
  kill -0 "$guest" 2>/dev/null || skip_if_unsupported
}

wait_guest() {
  status=timeout
  for _ in $(seq 300); do
    if ! kill -0 "$guest" 2>/dev/null; then
      wait "$guest"
      status=$?
      guest=
      return
    fi
    sleep 0.1
  done
}

fail() {
  echo "FAIL: $1"
  echo "--- gdb ---"
  cat "$work/gdb.log"
  echo "--- sable ---"
  tail -n 20 "$work/console"
  exit 1
}
