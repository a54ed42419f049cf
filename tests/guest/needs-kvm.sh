#!/usr/bin/env bash
# Runs the rest of the command line when /dev/kvm is usable; otherwise says
# why and exits 77, which ctest reports as a skip.
# usage: needs-kvm.sh [--not-pvm REASON] COMMAND...
#   --not-pvm: also skip on kvm_pvm (KVM without VT-x/AMD-V), whose
#   instruction emulator lacks what this guest needs.
if [ ! -e /dev/kvm ]; then
  echo "skipped: /dev/kvm is missing"
  exit 77
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "skipped: /dev/kvm is not accessible to this user"
  exit 77
fi
if [ "$1" = --not-pvm ]; then
  if [ -e /sys/module/kvm_pvm ]; then
    echo "skipped on kvm_pvm: $2"
    exit 77
  fi
  shift 2
fi
exec "$@"
