#pragma once
// Memory-access internals shared by the MMU, exception delivery and the
// interpreter: which privilege an access is checked with, segmentation,
// and TLB-backed access to linear addresses.

#include "cpu/cpu.h"

namespace sable::cpu {

// Physical address width advertised in CPUID 0x80000008; paging-structure
// bits above it are reserved.
constexpr unsigned kPhysicalAddressBits = 40;
constexpr unsigned kLinearAddressBits = 48;

// #PF error code bits.
enum PageFaultError : uint32_t {
  PF_PRESENT = 1u << 0,
  PF_WRITE = 1u << 1,
  PF_USER = 1u << 2,
  PF_RESERVED = 1u << 3,
  PF_FETCH = 1u << 4,
};

// Explicit accesses take the CPL (and RFLAGS.AC under SMAP); implicit
// ones (descriptor tables, TSS, IDT) are always supervisor accesses.
Privilege access_privilege(const CpuState &state, bool implicit);

// Offset within `seg` to a linear address, with the limit, type and
// canonical checks: false with #GP(0) or #SS(0) recorded.
bool segment_linear(Cpu &cpu, unsigned seg, uint64_t offset, unsigned size,
                    Access access, uint64_t &linear);

// The TLB entry translating `linear` for `access`, walking the page
// tables on a miss; null with #PF recorded when the walk fails.
TlbEntry *tlb_entry(Cpu &cpu, uint64_t linear, Access access,
                    Privilege privilege);

// Copies between `data` and guest memory at `linear`. An access crossing
// pages translates every page before it transfers a byte.
bool access_linear(Cpu &cpu, uint64_t linear, void *data, unsigned size,
                   Access access, Privilege privilege);

// Loads the four PAE PDPTEs from CR3; false with #GP(0) recorded when a
// present one has reserved bits set.
bool load_pdptes(Cpu &cpu, uint64_t cr3);

} // namespace sable::cpu
