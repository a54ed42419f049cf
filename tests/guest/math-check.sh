#!/usr/bin/env bash
# Runs tests/guest/static/mathcheck.c in a Linux guest booted on the
# software CPU and natively on the host; the two outputs must be equal,
# byte for byte.
# usage: math-check.sh SECONDS WORKDIR KERNEL BASE_INITRAMFS SABLE
#
# Both sides run the same static binary, but glibc picks some libm code
# paths at startup from the CPU features it sees (ifuncs): on a host with FMA
# and AVX2, exp, log, pow, sin, cos, tan, atan, expf, sinf, ... use FMA
# variants, whose results differ from the SSE2 ones in the last bit in some
# rounding modes, and floor, ceil, rint, ... use SSE4.1 ones. The guest's
# CPU advertises SSE2..SSE4.2 but neither AVX nor FMA, so in the guest glibc
# sees only the former (glibc 2.36 applies the feature bits of Intel, AMD
# and a few other vendors only; the software CPU reports GenuineIntel).
# The program's first line prints the features glibc considers active; the
# host run hides each one the guest lacks with the glibc.cpu.hwcaps tunable
# (glibc 2.36 names: SSE4_1, AVX2, FMA, ...; the older *_Usable names are
# silently ignored), so both take the same code paths, and the first line
# must then be equal too.
#
# Lines of long double functions built on x87 transcendental instructions
# may differ in the last bit and the precision flag: math-compare.py.
set -euo pipefail
seconds=$1 work=$2 kernel=$3 base=$4 sable=$5
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$here/make-test-initramfs.sh" "$work" "$base" "$here/static/mathcheck.c"

set +e
timeout -s KILL "$seconds" "$sable" -accel tcg -m 256 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 sable.run=/bin/mathcheck" \
  </dev/null >"$work/console.log" 2>&1
status=$?
set -e
tr -d '\r' <"$work/console.log" |
  sed -n '/^mathcheck: begin$/,/^mathcheck: end$/p' >"$work/guest.txt"
if [ "$status" -ne 0 ]; then
  echo "FAIL: sable exited with status $status (137: killed after $seconds s)"
  tail -n 20 "$work/console.log" | tr -d '\r'
  exit 1
fi
hidden=$(sed -n 's/^glibc features: //p' "$work/guest.txt" |
  awk '{ for (i = 1; i < NF; i += 2) if ($(i + 1) == 0) printf "%s-%s", n++ ? "," : "", $i }')
GLIBC_TUNABLES=glibc.cpu.hwcaps=$hidden "$work/mathcheck" >"$work/host.txt"
echo "host run with GLIBC_TUNABLES=glibc.cpu.hwcaps=$hidden"
"$here/math-compare.py" "$work/host.txt" "$work/guest.txt"
