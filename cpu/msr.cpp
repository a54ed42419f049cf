// RDMSR/WRMSR: the registers Linux and firmware use. Unknown ones raise
// #GP(0), as on hardware that lacks them.

#include "cpu/msr.h"

#include <chrono>

#include "cpu/cpu.h"
#include "cpu/ops/far_transfer.h"
#include "machine/irq.h"
#include "machine/log.h"

namespace sable::cpu {

namespace {

constexpr unsigned kVariableMtrrs = 8;
// MTRRcap: 8 variable ranges, fixed ranges, write-combining.
constexpr uint64_t kMtrrCap = kVariableMtrrs | (1u << 8) | (1u << 10);
// Memory types 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), 7 (UC-).
bool valid_memory_type(uint64_t type, bool allow_uc_minus) {
  return type == 0 || type == 1 || type == 4 || type == 5 || type == 6 ||
         (allow_uc_minus && type == 7);
}
bool valid_pat(uint64_t value) {
  for (unsigned i = 0; i < 8; ++i)
    if (!valid_memory_type((value >> (i * 8)) & 0xff, true))
      return false;
  return true;
}
bool valid_fixed_mtrr(uint64_t value) {
  for (unsigned i = 0; i < 8; ++i)
    if (!valid_memory_type((value >> (i * 8)) & 0xff, false))
      return false;
  return true;
}
// Physical address bits 39:12 plus the low control bits.
constexpr uint64_t kMtrrBaseMask = 0xfffffff000ull | 0xff;
constexpr uint64_t kMtrrMaskMask = 0xfffffff000ull | (1u << 11);
constexpr uint64_t kApicBaseWritable = 0xfffffff000ull | (1u << 11) | (1u << 8);
constexpr uint64_t kEferWritable = EFER_SCE | EFER_LME | EFER_NXE;
constexpr uint64_t kMiscEnableWritable = 1; // fast strings
// No branch trace store and no PEBS (CPUID.1:EDX.DS is clear): the
// "unavailable" bits 11 and 12 read as 1.
constexpr uint64_t kMiscEnableReadOnly = (1u << 11) | (1u << 12);
// Locked with VMX and SMX off, as firmware leaves it.
constexpr uint64_t kFeatureControlLocked = 1;

// Fixed-range MTRR index in Msrs::mtrr_fixed, or -1.
int fixed_mtrr_slot(uint32_t index) {
  if (index == MSR_MTRR_FIX64K_00000)
    return 0;
  if (index == MSR_MTRR_FIX16K_80000)
    return 1;
  if (index == MSR_MTRR_FIX16K_A0000)
    return 2;
  if (index >= MSR_MTRR_FIX4K_C0000 && index < MSR_MTRR_FIX4K_C0000 + 8)
    return 3 + static_cast<int>(index - MSR_MTRR_FIX4K_C0000);
  return -1;
}

uint64_t host_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace

uint64_t guest_tsc(const CpuState &state) {
  return host_nanoseconds() + state.msr.tsc_offset;
}

void set_guest_tsc(CpuState &state, uint64_t value) {
  state.msr.tsc_offset = value - host_nanoseconds();
}

bool Cpu::read_msr(uint32_t index, uint64_t &value) {
  if (env.apic && env.apic->handles_msr(index))
    return env.apic->read_msr(index, value) || fault(EXC_GP, 0);
  const Msrs &m = state.msr;
  if (index >= MSR_MTRR_PHYS_BASE0 &&
      index < MSR_MTRR_PHYS_BASE0 + 2 * kVariableMtrrs) {
    value = m.mtrr_var[index - MSR_MTRR_PHYS_BASE0];
    return true;
  }
  if (int slot = fixed_mtrr_slot(index); slot >= 0) {
    value = m.mtrr_fixed[slot];
    return true;
  }
  switch (index) {
  case MSR_TSC:
    value = guest_tsc(state);
    return true;
  case MSR_PLATFORM_ID:
    value = 0;
    return true;
  case MSR_APIC_BASE:
    value = m.apic_base;
    return true;
  case MSR_FEATURE_CONTROL:
    value = m.feature_control | kFeatureControlLocked;
    return true;
  case MSR_TSC_ADJUST:
    value = m.tsc_adjust;
    return true;
  case MSR_BIOS_SIGN_ID:
    value = 0;
    return true;
  case MSR_MTRR_CAP:
    value = kMtrrCap;
    return true;
  case MSR_SYSENTER_CS:
    value = m.sysenter_cs;
    return true;
  case MSR_SYSENTER_ESP:
    value = m.sysenter_esp;
    return true;
  case MSR_SYSENTER_EIP:
    value = m.sysenter_eip;
    return true;
  case MSR_MCG_CAP:
    value = 0;
    return true;
  case MSR_MCG_STATUS:
    value = 0;
    return true;
  case MSR_MISC_ENABLE:
    value = m.misc_enable | kMiscEnableReadOnly;
    return true;
  case MSR_PAT:
    value = m.pat;
    return true;
  case MSR_MTRR_DEF_TYPE:
    value = m.mtrr_def_type;
    return true;
  case MSR_EFER:
    value = state.efer;
    return true;
  case MSR_STAR:
    value = m.star;
    return true;
  case MSR_LSTAR:
    value = m.lstar;
    return true;
  case MSR_CSTAR:
    value = m.cstar;
    return true;
  case MSR_SFMASK:
    value = m.sfmask;
    return true;
  case MSR_FS_BASE:
    value = state.seg[FS].base;
    return true;
  case MSR_GS_BASE:
    value = state.seg[GS].base;
    return true;
  case MSR_KERNEL_GS_BASE:
    value = m.kernel_gs_base;
    return true;
  case MSR_TSC_AUX:
    value = m.tsc_aux;
    return true;
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "rdmsr 0x%x: unknown MSR, #GP\n", index);
    return fault(EXC_GP, 0);
  }
}

bool Cpu::write_msr(uint32_t index, uint64_t value) {
  Msrs &m = state.msr;
  if (env.apic && env.apic->handles_msr(index)) {
    if (!env.apic->write_msr(index, value))
      return fault(EXC_GP, 0);
    if (index == MSR_APIC_BASE)
      m.apic_base = value; // CPUID reports the APIC by its enable bit
    return true;
  }
  if (index >= MSR_MTRR_PHYS_BASE0 &&
      index < MSR_MTRR_PHYS_BASE0 + 2 * kVariableMtrrs) {
    unsigned slot = index - MSR_MTRR_PHYS_BASE0;
    bool is_base = (slot & 1) == 0;
    if (value & ~(is_base ? kMtrrBaseMask : kMtrrMaskMask))
      return fault(EXC_GP, 0);
    if (is_base && !valid_memory_type(value & 0xff, false))
      return fault(EXC_GP, 0);
    m.mtrr_var[slot] = value;
    return true;
  }
  if (int slot = fixed_mtrr_slot(index); slot >= 0) {
    if (!valid_fixed_mtrr(value))
      return fault(EXC_GP, 0);
    m.mtrr_fixed[slot] = value;
    return true;
  }
  auto canonical = [&](uint64_t &field) {
    if (!is_canonical(value))
      return fault(EXC_GP, 0);
    field = value;
    return true;
  };
  switch (index) {
  case MSR_TSC: {
    const uint64_t old_offset = m.tsc_offset;
    set_guest_tsc(state, value);
    m.tsc_adjust += m.tsc_offset - old_offset;
    if (env.apic)
      env.apic->set_tsc_offset(m.tsc_offset);
    return true;
  }
  case MSR_TSC_ADJUST:
    m.tsc_offset += value - m.tsc_adjust;
    m.tsc_adjust = value;
    if (env.apic)
      env.apic->set_tsc_offset(m.tsc_offset);
    return true;
  case MSR_APIC_BASE:
    if (value & ~kApicBaseWritable)
      return fault(EXC_GP, 0);
    m.apic_base = value;
    return true;
  case MSR_FEATURE_CONTROL:
    // Locked by the firmware: writes fault.
    return fault(EXC_GP, 0);
  case MSR_BIOS_SIGN_ID:
  case MSR_MCG_STATUS:
    // The microcode update trigger and the machine-check status accept
    // writes that change nothing here.
    return true;
  case MSR_SYSENTER_CS:
    m.sysenter_cs = value & 0xffff;
    return true;
  case MSR_SYSENTER_ESP:
    return canonical(m.sysenter_esp);
  case MSR_SYSENTER_EIP:
    return canonical(m.sysenter_eip);
  case MSR_MISC_ENABLE:
    m.misc_enable =
        (m.misc_enable & ~kMiscEnableWritable) | (value & kMiscEnableWritable);
    return true;
  case MSR_PAT:
    if (!valid_pat(value))
      return fault(EXC_GP, 0);
    m.pat = value;
    return true;
  case MSR_MTRR_DEF_TYPE:
    if ((value & ~uint64_t{0xcff}) || !valid_memory_type(value & 0xff, false))
      return fault(EXC_GP, 0);
    m.mtrr_def_type = value;
    return true;
  case MSR_EFER: {
    if (value & ~(kEferWritable | EFER_LMA))
      return fault(EXC_GP, 0);
    // LME cannot change while paging is on; LMA is read-only.
    if (state.paging() && ((value ^ state.efer) & EFER_LME))
      return fault(EXC_GP, 0);
    uint64_t efer = (value & kEferWritable) | (state.efer & EFER_LMA);
    if ((efer ^ state.efer) & EFER_NXE)
      flush_tlb(true);
    state.efer = efer;
    return true;
  }
  case MSR_STAR:
    m.star = value;
    return true;
  case MSR_LSTAR:
    return canonical(m.lstar);
  case MSR_CSTAR:
    return canonical(m.cstar);
  case MSR_SFMASK:
    m.sfmask = value & 0xffffffff;
    return true;
  case MSR_FS_BASE:
    return canonical(state.seg[FS].base);
  case MSR_GS_BASE:
    return canonical(state.seg[GS].base);
  case MSR_KERNEL_GS_BASE:
    return canonical(m.kernel_gs_base);
  case MSR_TSC_AUX:
    if (value >> 32)
      return fault(EXC_GP, 0);
    m.tsc_aux = value;
    return true;
  case MSR_PLATFORM_ID:
  case MSR_MTRR_CAP:
  case MSR_MCG_CAP:
    return fault(EXC_GP, 0);
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "wrmsr 0x%x <- 0x%llx: unknown MSR, #GP\n", index,
                   static_cast<unsigned long long>(value));
    return fault(EXC_GP, 0);
  }
}

} // namespace sable::cpu
