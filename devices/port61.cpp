#include "devices/port61.h"

#include "machine/state.h"

namespace sable {

namespace {
constexpr uint8_t kGate2 = 0x01;
constexpr uint8_t kWritable = 0x0F; // gate 2, speaker, parity/IOCHK enables
constexpr uint8_t kRefreshToggle = 0x10;
constexpr uint8_t kOut2 = 0x20;
// The refresh request flip-flop toggles every 15.085 us on AT-class boards.
constexpr uint64_t kRefreshPeriodNs = 15085;
} // namespace

Port61::Port61(Clock &clock, Pit8254 &pit) : clock_(clock), pit_(pit) {
  reset();
}

void Port61::reset() {
  control_ = 0;
  pit_.set_gate(2, false);
}

uint64_t Port61::read(uint64_t offset, unsigned size) {
  if (offset != 0 || size != 1)
    return ~0ull >> (64 - 8 * size);
  uint8_t value = control_;
  if ((clock_.now_ns() / kRefreshPeriodNs) & 1)
    value |= kRefreshToggle;
  if (pit_.output(2))
    value |= kOut2;
  return value;
}

void Port61::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset != 0 || size != 1)
    return;
  control_ = uint8_t(value) & kWritable;
  pit_.set_gate(2, control_ & kGate2);
}

void Port61::save(StateWriter &out) const {
  out.begin_section("port61", 1);
  out.u8(control_);
  out.end_section();
}

void Port61::load(StateReader &in) {
  in.begin_section("port61", 1);
  control_ = in.u8() & kWritable;
  in.end_section();
}

} // namespace sable
