#pragma once
// The software CPU's time-stamp counter: host monotonic time scaled to one
// fixed, invariant frequency, so the guest sees a constant-rate TSC that
// CPUID (leaves 0x15/0x16) can describe.

#include <cstdint>
#include <ctime>

#include "cpu/state.h"

namespace sable::cpu {

constexpr uint64_t kTscHz = 2'000'000'000;

inline uint64_t host_tsc() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  unsigned __int128 ns =
      static_cast<unsigned __int128>(now.tv_sec) * 1'000'000'000u +
      static_cast<uint64_t>(now.tv_nsec);
  return static_cast<uint64_t>(ns * kTscHz / 1'000'000'000u);
}

// IA32_TSC as the guest reads it; WRMSR to IA32_TSC sets
// msr.tsc_offset = value - host_tsc().
inline uint64_t guest_tsc(const CpuState &state) {
  return host_tsc() + state.msr.tsc_offset;
}

} // namespace sable::cpu
