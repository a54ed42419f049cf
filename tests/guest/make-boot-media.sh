#!/usr/bin/env bash
# Builds boot media holding the Debian kernel and the busybox initramfs,
# without root: a FAT disk image with the SYSLINUX boot loader, and an
# ISOLINUX CD image.
# usage: make-boot-media.sh disk|cd OUTPUT KERNEL INITRAMFS APPEND
set -euo pipefail
kind=$1 output=$2 kernel=$3 initramfs=$4 append=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
config="SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 1
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND $append"
case "$kind" in
disk)
  rm -f "$output"
  mkfs.fat -C -n SABLE "$output" 65536 >/dev/null
  syslinux --install "$output"
  printf '%s\n' "$config" >"$work/syslinux.cfg"
  cp "$kernel" "$work/vmlinuz"
  cp "$initramfs" "$work/initrd.gz"
  mcopy -i "$output" "$work/syslinux.cfg" "$work/vmlinuz" "$work/initrd.gz" ::
  ;;
cd)
  mkdir -p "$work/iso/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
  printf '%s\n' "$config" >"$work/iso/isolinux/isolinux.cfg"
  cp "$kernel" "$work/iso/vmlinuz"
  cp "$initramfs" "$work/iso/initrd.gz"
  sed -i 's#KERNEL vmlinuz#KERNEL /vmlinuz#; s#INITRD initrd.gz#INITRD /initrd.gz#' "$work/iso/isolinux/isolinux.cfg"
  xorriso -as mkisofs -quiet -o "$output" -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$work/iso"
  ;;
*)
  echo "make-boot-media.sh: disk or cd, not '$kind'" >&2
  exit 1
  ;;
esac
