#pragma once
// The registers GDB sees, in the order of the target description sable
// sends (qXfer:features:read): i386:x86-64 for long mode and real mode (as
// QEMU's x86_64 target), i386 while the guest is in 32-bit protected mode.

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/state.h"

namespace sable::gdb {

enum class Arch { X86_64, I386 };

// Picks the description for a vCPU's state at the time GDB connects.
Arch arch_for(const cpu::CpuState &state);

// The target.xml for `arch`.
const std::string &target_xml(Arch arch);

unsigned register_count(Arch arch);
// Size in bytes of register `index` (0 when there is no such register).
unsigned register_size(Arch arch, unsigned index);

// Little-endian bytes of register `index`, as the g and p packets carry
// them; empty when there is no such register.
std::vector<uint8_t> read_register(Arch arch, const cpu::CpuState &state,
                                   unsigned index);
// Sets register `index` from `bytes` (register_size long); false when
// there is no such register.
bool write_register(Arch arch, cpu::CpuState &state, unsigned index,
                    const uint8_t *bytes);

} // namespace sable::gdb
