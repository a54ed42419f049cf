#!/usr/bin/env bash
# Usage: sdl-screenshot.sh SABLE XWD_TEXT BIOS VGABIOS
# Runs `sable -display sdl` on SeaBIOS under Xvfb and reads the firmware's
# text back from X screenshots (xwd -root) of the window. Then closes the
# window as a window manager would: the first close presses the ACPI power
# button (SeaBIOS ignores it, sable runs on), the second quits.
set -euo pipefail
if [ -z "${SABLE_UNDER_XVFB:-}" ]; then
  export SABLE_UNDER_XVFB=1
  exec xvfb-run -a -s "-screen 0 1024x768x24" "$0" "$@"
fi
sable=$1 xwd_text=$2 bios=$3 vga_bios=$4
timeout_s=120
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$sable" -accel tcg -m 128 -bios "$bios" -display sdl -serial null \
  </dev/null >"$work/out" 2>&1 &
pid=$!
start=$SECONDS
until xwd -root -silent >"$work/screen.xwd" 2>/dev/null &&
  "$xwd_text" "$vga_bios" "$work/screen.xwd" "SeaBIOS (version" "No bootable device" >"$work/match"; do
  if ! kill -0 $pid 2>/dev/null; then
    echo "FAIL: sable exited early:"; cat "$work/out"; exit 1
  fi
  if ((SECONDS - start > timeout_s)); then
    echo "FAIL: after ${timeout_s}s the window does not show SeaBIOS's text:"
    cat "$work/match"; exit 1
  fi
  sleep 2
done
cat "$work/match"

window=$(dirname "$0")/x11-window.py
"$window" close Sable
sleep 2
title=$("$window" title Sable) || { echo "FAIL: the first close ended sable"; exit 1; }
case "$title" in
*"power button"*) echo "after one close: $title" ;;
*) echo "FAIL: the first close did not press the power button: $title"; exit 1 ;;
esac
"$window" close Sable
for _ in $(seq 20); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
if kill -0 $pid 2>/dev/null; then
  echo "FAIL: the second close did not quit sable"; exit 1
fi
wait $pid || { echo "FAIL: sable exited with status $?"; cat "$work/out"; exit 1; }
echo "PASS: the SDL window shows SeaBIOS's text; closing it twice quits"
