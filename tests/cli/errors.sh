#!/usr/bin/env bash
# Bad command lines end with one clear line on stderr and exit status 1.
set -u
sable=$1
failures=0

expect_error() {
  local expected=$1
  shift
  local output status
  output=$("$sable" "$@" 2>&1 >/dev/null)
  status=$?
  if [ "$status" -ne 1 ] || [ "$(printf '%s\n' "$output" | wc -l)" -ne 1 ] ||
    [[ "$output" != *"$expected"* ]]; then
    echo "FAIL: sable $* -> status $status, stderr: $output (wanted: $expected)"
    failures=$((failures + 1))
  fi
}

expect_error "unknown option '-bogus-option'" -bogus-option
expect_error "-kernel: '/nonexistent/kernel': No such file or directory" \
  -accel tcg -kernel /nonexistent/kernel -nographic
expect_error "-m: impossible memory size" -m 0
expect_error "-smp: invalid number" -smp many
expect_error "-accel: unknown accelerator" -accel xen
expect_error "-serial: unknown character device" -serial pty
expect_error "-drive: format 'qcow2' is not supported" -drive file=/bin/sh,format=qcow2
expect_error "-device: unknown device 'virtio-foo'" -device virtio-foo
expect_error "-append: missing argument" -append
expect_error "-kernel /bin/sh: neither a Linux bzImage nor a multiboot kernel" \
  -kernel /bin/sh -nographic
expect_error "-vnc: '5' is not HOST:N or :N" -vnc 5
expect_error "-vnc: 'foo' is not an IPv4 address" -vnc foo:1 -serial null
SABLE_VNC_PASSWORD= expect_error \
  "-vnc password=on: no password (set SABLE_VNC_PASSWORD" \
  -vnc :1,password=on -serial null
SABLE_VNC_PASSWORD=toolongpassword expect_error \
  "-vnc: VNC passwords are at most 8 characters" -vnc :1,password=on -serial null
DISPLAY= WAYLAND_DISPLAY= SDL_VIDEODRIVER=x11 expect_error "-display sdl:" \
  -display sdl -serial null

help=$("$sable" --help) || { echo "FAIL: --help exited non-zero"; failures=$((failures + 1)); }
for option in -accel -m -smp -kernel -initrd -append -bios -drive -serial -display -vnc -gdb -no-reboot -nographic isa-debug-exit; do
  [[ "$help" == *"$option"* ]] || { echo "FAIL: --help lacks $option"; failures=$((failures + 1)); }
done
"$sable" --version | grep -q '^sable version' || { echo "FAIL: --version"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all command-line error checks passed"
exit "$failures"
