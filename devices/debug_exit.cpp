#include "devices/debug_exit.h"

#include "machine/state.h"

namespace sable {

DebugExit::DebugExit(std::function<void(int)> exit, unsigned iosize)
    : exit_(std::move(exit)), iosize_(iosize) {}

uint64_t DebugExit::read(uint64_t, unsigned) {
  return 0;
}

void DebugExit::write(uint64_t, unsigned size, uint64_t value) {
  uint64_t mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  if (exit_)
    exit_(int(((value & mask) << 1) | 1));
}

// No state; the empty section keeps the stream layout uniform across devices.
void DebugExit::save(StateWriter &out) const {
  out.begin_section("isa-debug-exit", 1);
  out.end_section();
}

void DebugExit::load(StateReader &in) {
  in.begin_section("isa-debug-exit", 1);
  in.end_section();
}

} // namespace sable
