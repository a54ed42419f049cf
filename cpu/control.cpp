// MOV to CR0/CR2/CR3/CR4/CR8, and what each change does to paging: the
// TLB flushes, the PAE PDPTE loads and entering or leaving long mode.

#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "cpu/mmu.h"
#include "machine/irq.h"
#include "machine/memory.h"

namespace sable::cpu {

namespace {

// CR0 bits software may set; ET reads as 1 whatever is written.
constexpr uint64_t kCr0Writable = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET |
                                  CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD |
                                  CR0_PG;
// A change of any of these invalidates every cached translation.
constexpr uint64_t kCr0PagingBits = CR0_PG | CR0_WP | CR0_PE;
constexpr uint64_t kCr4PagingBits =
    CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP;
// Bits 63:MAXPHYADDR of CR3 in long mode.
constexpr uint64_t kCr3ReservedLong =
    ~((uint64_t{1} << kPhysicalAddressBits) - 1);

bool pae_paging(const CpuState &s) {
  return s.paging() && (s.cr4 & CR4_PAE) && !s.long_mode_active();
}

} // namespace

void Cpu::flush_tlb(bool include_global) {
  tlb.flush(include_global);
  // Links and the jump cache reach blocks through the old translations.
  ++context_generation_;
  if (env.memory)
    tlb.memory_generation = env.memory->generation();
  tlb.a20_mask = state.a20_mask;
}

bool Cpu::write_cr(unsigned cr, uint64_t value) {
  CpuState &s = state;
  switch (cr) {
  case 0: {
    if (value >> 32)
      return fault(EXC_GP, 0);
    value = (value & kCr0Writable) | CR0_ET;
    if ((value & CR0_PG) && !(value & CR0_PE))
      return fault(EXC_GP, 0);
    if ((value & CR0_NW) && !(value & CR0_CD))
      return fault(EXC_GP, 0);
    const bool enabling_paging = (value & CR0_PG) && !s.paging();
    const bool disabling_paging = !(value & CR0_PG) && s.paging();
    uint64_t efer = s.efer;
    if (enabling_paging && (s.efer & EFER_LME)) {
      // Long mode activation needs PAE, and CS must not be a 64-bit
      // segment already.
      if (!(s.cr4 & CR4_PAE) || s.seg[CS].long_mode())
        return fault(EXC_GP, 0);
      efer |= EFER_LMA;
    }
    if (disabling_paging && s.long_mode_active()) {
      // Long mode may only be left from compatibility mode.
      if (s.code_size() == CodeSize::Bits64)
        return fault(EXC_GP, 0);
      efer &= ~uint64_t{EFER_LMA};
    }
    const uint64_t old = s.cr0;
    const uint64_t old_efer = s.efer;
    s.cr0 = value;
    s.efer = efer;
    if (enabling_paging && pae_paging(s) && !load_pdptes(*this, s.cr3)) {
      s.cr0 = old;
      s.efer = old_efer;
      return false;
    }
    if ((old ^ value) & kCr0PagingBits)
      flush_tlb(true);
    return true;
  }
  case 2:
    s.cr2 = value;
    return true;
  case 3:
    if (s.long_mode_active() && (value & kCr3ReservedLong))
      return fault(EXC_GP, 0);
    if (!s.long_mode_active())
      value &= 0xffffffff;
    if (pae_paging(s) && !load_pdptes(*this, value))
      return false;
    s.cr3 = value;
    flush_tlb(false);
    return true;
  case 4: {
    if (value & ~kSupportedCr4)
      return fault(EXC_GP, 0);
    if (s.long_mode_active() && !(value & CR4_PAE))
      return fault(EXC_GP, 0);
    const uint64_t old = s.cr4;
    s.cr4 = value;
    if (((old ^ value) & CR4_PAE) && pae_paging(s) &&
        !load_pdptes(*this, s.cr3)) {
      s.cr4 = old;
      return false;
    }
    if ((old ^ value) & kCr4PagingBits)
      flush_tlb(true);
    return true;
  }
  case 8:
    if (value & ~uint64_t{0xf})
      return fault(EXC_GP, 0);
    s.cr8 = value;
    if (env.apic)
      env.apic->set_tpr_from_cr8(static_cast<uint8_t>(value));
    return true;
  default:
    return fault(EXC_UD);
  }
}

} // namespace sable::cpu
