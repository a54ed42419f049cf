#!/usr/bin/env bash
# Usage: vnc-password.sh SABLE VNC_CHECK BIOS VGABIOS
# `-vnc :N,password=on` takes its secret from $SABLE_VNC_PASSWORD and
# `,password-file=` from a file: the right password gets the screen, a
# wrong one is refused.
set -euo pipefail
sable=$1 vnc_check=$2 bios=$3 vga_bios=$4
display=$((500 + $$ % 400))
port=$((5900 + display))
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

check() { # how: env | file
  if [ "$1" = env ]; then
    SABLE_VNC_PASSWORD=sesame "$sable" -accel tcg -m 128 -bios "$bios" \
      -vnc :$display,password=on -serial null </dev/null >"$work/out" 2>&1 &
  else
    echo sesame >"$work/secret"
    env -u SABLE_VNC_PASSWORD "$sable" -accel tcg -m 128 -bios "$bios" \
      -vnc :$display,password-file="$work/secret" -serial null \
      </dev/null >"$work/out" 2>&1 &
  fi
  pid=$!
  if ! SABLE_VNC_PASSWORD=sesame timeout 150 "$vnc_check" --timeout 120 "$vga_bios" \
    127.0.0.1:$port "expect:SeaBIOS (version"; then
    echo "FAIL ($1): the right password does not get the screen; sable said:"
    cat "$work/out"; exit 1
  fi
  if ! SABLE_VNC_PASSWORD=wrong timeout 60 "$vnc_check" --refused "$vga_bios" 127.0.0.1:$port; then
    echo "FAIL ($1): a wrong password was accepted"; exit 1
  fi
  if ! SABLE_VNC_PASSWORD=sesame timeout 60 "$vnc_check" --timeout 30 "$vga_bios" \
    127.0.0.1:$port "expect:SeaBIOS (version"; then
    echo "FAIL ($1): the server stopped serving after the refusal"; exit 1
  fi
  kill $pid; wait $pid 2>/dev/null || true
}
check env
check file
if env -u SABLE_VNC_PASSWORD "$sable" -vnc :$display,password=on -serial null \
  </dev/null >"$work/out" 2>&1; then
  echo "FAIL: password=on without a password started"; exit 1
fi
grep -q "SABLE_VNC_PASSWORD" "$work/out" || { echo "FAIL: unclear error:"; cat "$work/out"; exit 1; }
echo "PASS: the right password gets the screen, a wrong one is refused"
