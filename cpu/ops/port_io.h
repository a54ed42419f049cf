#pragma once
// Port accesses shared by IN/OUT (io.cpp) and INS/OUTS (string.cpp). The
// caller has already passed Cpu::check_io. Without a port bus (unit tests
// of the CPU alone) reads float high and writes go nowhere, like unclaimed
// ports.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "machine/io_bus.h"

namespace sable::cpu {

inline uint32_t port_read(Cpu &cpu, uint16_t port, unsigned size) {
  if (!cpu.env.io)
    return static_cast<uint32_t>(size_mask(size));
  return cpu.env.io->read(port, size);
}

inline void port_write(Cpu &cpu, uint16_t port, unsigned size, uint32_t value) {
  if (cpu.env.io)
    cpu.env.io->write(port, size, value);
}

} // namespace sable::cpu
