#!/usr/bin/env bash
# Runs the rest of the command line when /dev/kvm is usable; otherwise says
# why and exits 77, which ctest reports as a skip.
if [ ! -e /dev/kvm ]; then
  echo "skipped: /dev/kvm is missing"
  exit 77
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "skipped: /dev/kvm is not accessible to this user"
  exit 77
fi
exec "$@"
