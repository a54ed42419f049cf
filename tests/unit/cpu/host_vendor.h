#pragma once
// Host-oracle tests compare the emulator with the CPU they run on. Sable
// reproduces what Intel processors do where the SDM leaves a result or
// flag undefined, and other vendors (AMD) produce other values there:
// such tests compare those values with the host only on Intel hosts.

#include <cpuid.h>

#include <cstring>

namespace sable::cpu::test {

inline bool host_is_intel() {
  static const bool intel = [] {
    unsigned max_leaf, ebx, ecx, edx;
    if (!__get_cpuid(0, &max_leaf, &ebx, &ecx, &edx))
      return false;
    char vendor[12];
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    return std::memcmp(vendor, "GenuineIntel", 12) == 0;
  }();
  return intel;
}

} // namespace sable::cpu::test
