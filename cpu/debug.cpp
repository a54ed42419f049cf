#include "cpu/debug.h"

#include "machine/memory.h"

namespace sable::cpu {

namespace {
constexpr uint64_t kPresent = 1, kLarge = 0x80;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;

uint64_t read_entry(const GuestMemory &memory, uint64_t address,
                    unsigned size) {
  uint64_t value = 0;
  memory.read(address, &value, size);
  return value;
}
} // namespace

bool debug_translate(const CpuState &state, const GuestMemory &memory,
                     uint64_t linear, uint64_t &physical) {
  if (!state.paging()) {
    physical = linear & 0xffffffffull & state.a20_mask;
    return true;
  }
  const uint64_t a20 = state.a20_mask;
  if (!(state.cr4 & CR4_PAE)) {
    // Two levels of 32-bit entries; 4 MiB pages under PSE.
    linear &= 0xffffffffull;
    uint64_t pde = read_entry(
        memory, ((state.cr3 & 0xfffff000) + ((linear >> 22) << 2)) & a20, 4);
    if (!(pde & kPresent))
      return false;
    if ((pde & kLarge) && (state.cr4 & CR4_PSE)) {
      uint64_t base = (pde & 0xffc00000ull) | ((pde & 0x1fe000ull) << 19);
      physical = (base | (linear & 0x3fffff)) & a20;
      return true;
    }
    uint64_t pte = read_entry(
        memory, ((pde & 0xfffff000) + (((linear >> 12) & 0x3ff) << 2)) & a20,
        4);
    if (!(pte & kPresent))
      return false;
    physical = ((pte & 0xfffff000) | (linear & 0xfff)) & a20;
    return true;
  }
  uint64_t entry;
  if (state.long_mode_active()) {
    entry = read_entry(
        memory,
        ((state.cr3 & kAddressMask) + (((linear >> 39) & 0x1ff) << 3)) & a20,
        8);
    if (!(entry & kPresent))
      return false;
  } else {
    linear &= 0xffffffffull;
    entry = read_entry(
        memory, ((state.cr3 & 0xffffffe0) + ((linear >> 30) << 3)) & a20, 8);
    if (!(entry & kPresent))
      return false;
    uint64_t pde = read_entry(
        memory,
        ((entry & kAddressMask) + (((linear >> 21) & 0x1ff) << 3)) & a20, 8);
    if (!(pde & kPresent))
      return false;
    if (pde & kLarge) {
      physical =
          ((pde & kAddressMask & ~0x1fffffull) | (linear & 0x1fffff)) & a20;
      return true;
    }
    uint64_t pte = read_entry(
        memory, ((pde & kAddressMask) + (((linear >> 12) & 0x1ff) << 3)) & a20,
        8);
    if (!(pte & kPresent))
      return false;
    physical = ((pte & kAddressMask) | (linear & 0xfff)) & a20;
    return true;
  }
  // Long mode: PDPTE, PDE, PTE with 1 GiB and 2 MiB pages.
  for (int shift = 30; shift >= 12; shift -= 9) {
    entry = read_entry(
        memory,
        ((entry & kAddressMask) + (((linear >> shift) & 0x1ff) << 3)) & a20, 8);
    if (!(entry & kPresent))
      return false;
    if (shift > 12 && (entry & kLarge)) {
      uint64_t mask = (uint64_t{1} << shift) - 1;
      physical = ((entry & kAddressMask & ~mask) | (linear & mask)) & a20;
      return true;
    }
  }
  physical = ((entry & kAddressMask) | (linear & 0xfff)) & a20;
  return true;
}

} // namespace sable::cpu
