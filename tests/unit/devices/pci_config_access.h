#pragma once
// Configuration mechanism #1 from the guest's side, for the PCI tests.

#include <cstdint>

#include "machine/io_bus.h"

namespace sable::test {

inline void select_config(IoPortBus &io, unsigned slot, unsigned function,
                          unsigned offset) {
  io.write(0xcf8, 4,
           0x80000000u | slot << 11 | function << 8 | (offset & 0xfc));
}

inline uint32_t config_read(IoPortBus &io, unsigned slot, unsigned function,
                            unsigned offset, unsigned size) {
  select_config(io, slot, function, offset);
  return io.read(uint16_t(0xcfc + (offset & 3)), size);
}

inline void config_write(IoPortBus &io, unsigned slot, unsigned function,
                         unsigned offset, unsigned size, uint32_t value) {
  select_config(io, slot, function, offset);
  io.write(uint16_t(0xcfc + (offset & 3)), size, value);
}

} // namespace sable::test
