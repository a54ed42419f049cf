#!/usr/bin/env bash
# Usage: vnc-linux-typing.sh SABLE VNC_CHECK BIOS VGABIOS KERNEL INITRD
# Boots Linux (SeaBIOS, the kernel through fw_cfg, console=tty0) on the
# software CPU with `-vnc`, waits for the initramfs shell on the VGA text
# console, types a command through VNC key events and reads its output.
set -euo pipefail
sable=$1 vnc_check=$2 bios=$3 vga_bios=$4 kernel=$5 initrd=$6
display=$((900 + $$ % 400))
port=$((5900 + display))
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$sable" -accel tcg -m 256 -bios "$bios" -kernel "$kernel" -initrd "$initrd" \
  -append "console=tty0 quiet panic=-1" -no-reboot -vnc 127.0.0.1:$display \
  -serial null </dev/null >"$work/out" 2>&1 &
pid=$!
# The Linux boot takes minutes of CPU on the software engine.
if ! timeout 900 "$vnc_check" --timeout 840 "$vga_bios" 127.0.0.1:$port \
  "expect:to power off" "expect:/ #" 'type:echo sable-$((6*7))-ok' enter \
  "expect:sable-42-ok"; then
  echo "FAIL: typing over VNC did not reach the shell on tty0; sable said:"
  cat "$work/out"; exit 1
fi
echo "PASS: the busybox shell on tty0 ran what was typed over VNC"
