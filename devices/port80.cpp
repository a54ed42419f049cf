#include "devices/port80.h"

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

uint64_t Port80::read(uint64_t offset, unsigned size) {
  if (offset != 0 || size != 1)
    return ~0ull >> (64 - 8 * size);
  return last_code_;
}

void Port80::write(uint64_t offset, unsigned, uint64_t value) {
  if (offset != 0)
    return;
  last_code_ = uint8_t(value);
  SABLE_LOG(LOG_IOPORT, "POST code 0x%02x\n", last_code_);
}

void Port80::save(StateWriter &out) const {
  out.begin_section("port80", 1);
  out.u8(last_code_);
  out.end_section();
}

void Port80::load(StateReader &in) {
  in.begin_section("port80", 1);
  last_code_ = in.u8();
  in.end_section();
}

} // namespace sable
