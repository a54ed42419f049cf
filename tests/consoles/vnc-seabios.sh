#!/usr/bin/env bash
# Usage: vnc-seabios.sh SABLE VNC_CHECK BIOS VGABIOS
# `sable -vnc 127.0.0.1:N` on SeaBIOS: two libvncclient clients at once
# read the firmware's text, vncsnapshot takes a JPEG of it, and the server
# listens on 127.0.0.1 only.
set -euo pipefail
sable=$1 vnc_check=$2 bios=$3 vga_bios=$4
display=$((100 + $$ % 400))
port=$((5900 + display))
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$sable" -accel tcg -m 128 -bios "$bios" -vnc 127.0.0.1:$display \
  -serial null </dev/null >"$work/out" 2>&1 &
pid=$!
if ! timeout 150 "$vnc_check" --timeout 120 --clients 2 "$vga_bios" 127.0.0.1:$port \
  "expect:SeaBIOS (version" "expect:No bootable device"; then
  echo "FAIL: the VNC clients do not see SeaBIOS's screen; sable said:"
  cat "$work/out"; exit 1
fi
if ss -Hltn "sport = :$port" | grep -v '127.0.0.1:' | grep -q .; then
  echo "FAIL: the server listens beyond 127.0.0.1:"; ss -Hltn "sport = :$port"
  exit 1
fi
timeout 60 vncsnapshot -quiet -allowblank 127.0.0.1:$display "$work/shot.jpg" \
  >"$work/snapshot.log" 2>&1 || { echo "FAIL: vncsnapshot:"; cat "$work/snapshot.log"; exit 1; }
if [ "$(head -c 2 "$work/shot.jpg" | od -An -tx1 | tr -d ' ')" != ffd8 ]; then
  echo "FAIL: vncsnapshot wrote no JPEG"; exit 1
fi
echo "PASS: two VNC clients and vncsnapshot read SeaBIOS's screen"
