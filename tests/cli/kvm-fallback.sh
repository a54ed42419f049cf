#!/usr/bin/env bash
# -accel kvm:tcg and -enable-kvm fall back to the software CPU with one
# warning when /dev/kvm refuses; a plain -accel kvm is a one-line error.
# A private mount namespace hides the real /dev/kvm behind an empty file.
# usage: kvm-fallback.sh SABLE KERNEL
set -u
sable=$1 kernel=$2
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  echo "skipped: needs root and unshare to hide /dev/kvm"
  exit 77
fi
fake=$(mktemp)
trap 'rm -f "$fake"' EXIT
failures=0
run_without_kvm() {
  unshare -m sh -c "touch /dev/kvm 2>/dev/null; mount --bind '$fake' /dev/kvm && exec \"\$@\"" sh "$@"
}
for accel in "-accel kvm:tcg" "-enable-kvm"; do
  # shellcheck disable=SC2086
  errors=$(run_without_kvm "$sable" $accel -nographic -kernel "$kernel" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 2>&1 >/dev/null)
  status=$?
  if [ "$status" -ne 67 ] || [ "$(printf '%s\n' "$errors" | wc -l)" -ne 1 ] ||
    [[ "$errors" != *"falling back to the software CPU"* ]]; then
    echo "FAIL: $accel without KVM: status $status, stderr: $errors"
    failures=$((failures + 1))
  fi
done
errors=$(run_without_kvm "$sable" -accel kvm -nographic -kernel "$kernel" 2>&1 >/dev/null)
status=$?
if [ "$status" -ne 1 ] || [ "$(printf '%s\n' "$errors" | wc -l)" -ne 1 ] ||
  [[ "$errors" != "sable: -accel kvm: "* ]]; then
  echo "FAIL: -accel kvm without KVM: status $status, stderr: $errors"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "KVM fallback and error checks passed"
exit "$failures"
