# Shared by the bench scripts: timing that expects the guest to leave
# through isa-debug-exit with status 67.

# best RUNS COMMAND... -> the minimum wall time in seconds over RUNS runs
best() {
  local runs=$1 best_time= start end status t
  shift
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    set +e
    "$@" >/dev/null 2>&1 </dev/null
    status=$?
    set -e
    end=$(date +%s.%N)
    [ "$status" -eq 67 ] || { echo "bench: '$*' exited $status, expected 67" >&2; exit 1; }
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best_time" ] || [ "$(echo "$t < $best_time" | bc -l)" -eq 1 ]; then best_time=$t; fi
  done
  echo "$best_time"
}

# multiboot_elf SOURCE OUTPUT [as options...]: assembles and links a guest
multiboot_elf() {
  local source=$1 output=$2
  shift 2
  as --32 "$@" -o "$output.o" "$source"
  ld -m elf_i386 --no-warn-rwx-segments -T "$top/tests/guest/multiboot/link.ld" -o "$output" "$output.o"
}
