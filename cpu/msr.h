#pragma once
// Model-specific registers of the software CPU and the guest time-stamp
// counter they expose.

#include <cstdint>

#include "cpu/state.h"

namespace sable::cpu {

enum MsrIndex : uint32_t {
  MSR_TSC = 0x10,
  MSR_PLATFORM_ID = 0x17,
  MSR_APIC_BASE = 0x1b,
  MSR_FEATURE_CONTROL = 0x3a,
  MSR_TSC_ADJUST = 0x3b,
  MSR_BIOS_SIGN_ID = 0x8b,
  MSR_MTRR_CAP = 0xfe,
  MSR_SYSENTER_CS = 0x174,
  MSR_SYSENTER_ESP = 0x175,
  MSR_SYSENTER_EIP = 0x176,
  MSR_MCG_CAP = 0x179,
  MSR_MCG_STATUS = 0x17a,
  MSR_MISC_ENABLE = 0x1a0,
  MSR_MTRR_PHYS_BASE0 = 0x200, // base/mask pairs up to 0x20f
  MSR_MTRR_FIX64K_00000 = 0x250,
  MSR_MTRR_FIX16K_80000 = 0x258,
  MSR_MTRR_FIX16K_A0000 = 0x259,
  MSR_MTRR_FIX4K_C0000 = 0x268, // through 0x26f
  MSR_PAT = 0x277,
  MSR_MTRR_DEF_TYPE = 0x2ff,
  MSR_EFER = 0xc0000080,
  MSR_STAR = 0xc0000081,
  MSR_LSTAR = 0xc0000082,
  MSR_CSTAR = 0xc0000083,
  MSR_SFMASK = 0xc0000084,
  MSR_FS_BASE = 0xc0000100,
  MSR_GS_BASE = 0xc0000101,
  MSR_KERNEL_GS_BASE = 0xc0000102,
  MSR_TSC_AUX = 0xc0000103,
};

// The guest TSC counts host nanoseconds (a 1 GHz TSC) plus
// Msrs::tsc_offset. RDTSC/RDTSCP use guest_tsc too. Writes to the TSC and
// to IA32_TSC_ADJUST move both by the same amount (SDM 17.17.3).
constexpr uint64_t kGuestTscHz = 1'000'000'000;
uint64_t guest_tsc(const CpuState &state);
void set_guest_tsc(CpuState &state, uint64_t value);

} // namespace sable::cpu
