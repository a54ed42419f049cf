#include "devices/port92.h"

#include "machine/state.h"

namespace sable {

namespace {
constexpr uint8_t kFastReset = 0x01;
constexpr uint8_t kA20 = 0x02;
} // namespace

Port92::Port92(std::function<void(bool)> a20, std::function<void()> reset)
    : a20_(std::move(a20)), reset_(std::move(reset)) {}

uint64_t Port92::read(uint64_t offset, unsigned size) {
  if (offset != 0 || size != 1)
    return ~0ull >> (64 - 8 * size);
  return value_;
}

void Port92::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset != 0 || size != 1)
    return;
  uint8_t old = value_;
  value_ = uint8_t(value);
  if (((old ^ value_) & kA20) && a20_)
    a20_(value_ & kA20);
  if ((value_ & kFastReset) && !(old & kFastReset) && reset_)
    reset_();
}

void Port92::save(StateWriter &out) const {
  out.begin_section("port92", 1);
  out.u8(value_);
  out.end_section();
}

void Port92::load(StateReader &in) {
  in.begin_section("port92", 1);
  value_ = in.u8();
  in.end_section();
}

} // namespace sable
