#!/usr/bin/env bash
# Compiles C programs statically for the guest and builds an initramfs with
# them in /bin, on top of the busybox initramfs of scripts/guests.
# usage: make-test-initramfs.sh OUTPUT_DIR BASE_INITRAMFS SOURCE.c...
# Writes OUTPUT_DIR/NAME (the same binaries, to run on the host too) and
# OUTPUT_DIR/initramfs.cpio.gz. The kernel unpacks concatenated archives in
# order, so the result is the base archive followed by one holding the
# programs: no root and no unpacking needed.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: make-test-initramfs.sh OUTPUT_DIR BASE_INITRAMFS SOURCE.c..." >&2
  exit 1
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
output=$1 base=$2
shift 2
[ -s "$base" ] || { echo "make-test-initramfs.sh: no base initramfs $base (run scripts/guests)" >&2; exit 1; }
libc_a=$(gcc -print-file-name=libc.a)
libm_a=$(gcc -print-file-name=libm.a)
if [ ! -f "$libc_a" ] || [ ! -f "$libm_a" ]; then
  echo "make-test-initramfs.sh: gcc finds no static libc.a/libm.a (install libc6-dev)" >&2
  exit 1
fi
mkdir -p "$output"
entries=()
for source in "$@"; do
  name=$(basename "$source" .c)
  gcc -static -O2 -Wall -Wextra -Werror -o "$output/$name" "$source" -lm
  entries+=("file:/bin/$name:$output/$name")
done
"$top/scripts/make-initramfs" "$output/programs.cpio.gz" "${entries[@]}"
cat "$base" "$output/programs.cpio.gz" >"$output/initramfs.cpio.gz.tmp"
mv "$output/initramfs.cpio.gz.tmp" "$output/initramfs.cpio.gz"
rm "$output/programs.cpio.gz"
