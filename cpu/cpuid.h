#pragma once
// The CPUID leaves of the software CPU: one coherent feature set that
// advertises exactly what the interpreter implements.

#include <cstdint>

#include "cpu/state.h"

namespace sable::cpu {

struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Leaf 1 EAX: family, model and stepping (also EDX after reset).
uint32_t cpuid_signature();

// `apic_id` is the vCPU's APIC ID; `state` supplies the bits that follow
// software state (CPUID.1:EDX.APIC follows IA32_APIC_BASE's enable bit).
// The `vcpu_count` vCPUs are the cores of one package, one thread each.
CpuidResult cpuid(const CpuState &state, unsigned apic_id, uint32_t leaf,
                  uint32_t subleaf, unsigned vcpu_count = 1);

// The low APIC ID bits that number the cores of a package of `count`
// cores: leaves 1 and 4 count addressable IDs, a power of two.
uint32_t core_id_bits(unsigned count);

// CR4 bits the features above make writable.
constexpr uint64_t kSupportedCr4 = CR4_TSD | CR4_PSE | CR4_PAE | CR4_PGE |
                                   CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT |
                                   CR4_OSXSAVE | CR4_SMEP | CR4_SMAP;

} // namespace sable::cpu
