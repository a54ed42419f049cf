#pragma once
// A multi-line text dump of the architectural registers, in the layout of
// QEMU's `info registers`.

#include <string>

#include "cpu/state.h"

namespace sable::cpu {

// RFLAGS as stored in `state`: callers holding lazy flags materialize them
// first.
std::string describe_registers(const CpuState &state);

} // namespace sable::cpu
