#pragma once
// Architectural state of one x86 vCPU: plain data, shared by the
// interpreter, the JIT (which addresses its fields directly), the gdbstub
// and save/restore. Behaviour lives in cpu/*.cpp.

#include <cstddef>
#include <cstdint>

#include "cpu/instruction.h"

namespace sable::cpu {

enum Rflags : uint64_t {
  CF = 1u << 0,
  PF = 1u << 2,
  AF = 1u << 4,
  ZF = 1u << 6,
  SF = 1u << 7,
  TF = 1u << 8,
  IF = 1u << 9,
  DF = 1u << 10,
  OF = 1u << 11,
  IOPL = 3u << 12,
  NT = 1u << 14,
  RF = 1u << 16,
  VM = 1u << 17,
  AC = 1u << 18,
  VIF = 1u << 19,
  VIP = 1u << 20,
  ID = 1u << 21,
};
constexpr uint64_t kArithFlags = CF | PF | AF | ZF | SF | OF;

enum Cr0 : uint64_t {
  CR0_PE = 1u << 0,
  CR0_MP = 1u << 1,
  CR0_EM = 1u << 2,
  CR0_TS = 1u << 3,
  CR0_ET = 1u << 4,
  CR0_NE = 1u << 5,
  CR0_WP = 1u << 16,
  CR0_AM = 1u << 18,
  CR0_NW = 1u << 29,
  CR0_CD = 1u << 30,
  CR0_PG = 1u << 31,
};
enum Cr4 : uint64_t {
  CR4_VME = 1u << 0,
  CR4_PVI = 1u << 1,
  CR4_TSD = 1u << 2,
  CR4_DE = 1u << 3,
  CR4_PSE = 1u << 4,
  CR4_PAE = 1u << 5,
  CR4_MCE = 1u << 6,
  CR4_PGE = 1u << 7,
  CR4_PCE = 1u << 8,
  CR4_OSFXSR = 1u << 9,
  CR4_OSXMMEXCPT = 1u << 10,
  CR4_UMIP = 1u << 11,
  CR4_FSGSBASE = 1u << 16,
  CR4_PCIDE = 1u << 17,
  CR4_OSXSAVE = 1u << 18,
  CR4_SMEP = 1u << 20,
  CR4_SMAP = 1u << 21,
};
enum Efer : uint64_t {
  EFER_SCE = 1u << 0,
  EFER_LME = 1u << 8,
  EFER_LMA = 1u << 10,
  EFER_NXE = 1u << 11,
};

enum Exception : uint8_t {
  EXC_DE = 0,
  EXC_DB = 1,
  EXC_NMI = 2,
  EXC_BP = 3,
  EXC_OF = 4,
  EXC_BR = 5,
  EXC_UD = 6,
  EXC_NM = 7,
  EXC_DF = 8,
  EXC_TS = 10,
  EXC_NP = 11,
  EXC_SS = 12,
  EXC_GP = 13,
  EXC_PF = 14,
  EXC_MF = 16,
  EXC_AC = 17,
  EXC_MC = 18,
  EXC_XM = 19,
};

// A segment register with its hidden descriptor cache. `attributes` uses
// the VMX access-rights layout (type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13,
// D/B 14, G 15), which is also what KVM's kvm_segment carries bit by bit.
struct Segment {
  uint16_t selector = 0;
  uint64_t base = 0;
  uint32_t limit = 0xffff; // byte-granular, already scaled by G
  uint16_t attributes = 0;

  bool operator==(const Segment &) const = default;

  unsigned dpl() const { return (attributes >> 5) & 3; }
  bool present() const { return attributes & 0x80; }
  bool big() const { return attributes & 0x4000; }       // D/B
  bool long_mode() const { return attributes & 0x2000; } // L
};

struct TableRegister {
  uint64_t base = 0;
  uint16_t limit = 0xffff;
};

// Arithmetic flags are computed on demand from the last flag-setting
// operation (cpu/flags.cpp). `op` says how to derive them; `size` is the
// operand size in bytes.
// The operands and result are masked to `size` bytes.
struct LazyFlags {
  uint64_t result = 0;
  uint64_t src = 0; // second operand (or shift count, or carry-in detail)
  uint64_t dst = 0; // first operand before the operation
  uint8_t op = 0;   // a LazyOp from cpu/flags.h; 0 = flags are in rflags
  uint8_t size = 4;
};

// x87, MMX and SSE state, in the layout FXSAVE stores (512 bytes), so
// FXSAVE/XSAVE and KVM's kvm_fpu copy it directly.
struct alignas(16) FpuState {
  uint16_t fcw = 0x037f;
  uint16_t fsw = 0;
  uint8_t ftw = 0; // abridged tag word: 1 bit per register, 1 = valid
  uint8_t reserved0 = 0;
  uint16_t fop = 0;
  uint64_t fip = 0;
  uint64_t fdp = 0;
  uint32_t mxcsr = 0x1f80;
  uint32_t mxcsr_mask = 0xffff;
  uint8_t st[8][16] = {}; // 80-bit registers in 16-byte slots, ST(0) = phys top
  uint8_t xmm[16][16] = {};
  uint8_t reserved1[96] = {};
};
static_assert(sizeof(FpuState) == 512);

struct Msrs {
  uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0;
  uint64_t kernel_gs_base = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t apic_base = 0xfee00900; // enabled, bootstrap processor
  uint64_t pat = 0x0007040600070406ull;
  uint64_t tsc_aux = 0;
  uint64_t misc_enable = 1; // fast strings
  uint64_t tsc_offset = 0;  // guest TSC = host-derived TSC + offset
  uint64_t tsc_adjust = 0;  // what guest writes added to the TSC since reset
  uint64_t mtrr_def_type = 0;
  uint64_t mtrr_fixed[11] = {};
  uint64_t mtrr_var[16] = {}; // base/mask pairs
  uint64_t feature_control = 0;
};

struct CpuState {
  uint64_t gpr[16] = {};
  uint64_t rip = 0xfff0;
  uint64_t no_register = 0; // always 0: address slot kNoReg
  // Where the running block was entered: address slot kBlockRip, and the
  // base threaded code works RIP out from.
  uint64_t block_rip = 0;
  uint64_t rflags =
      0x2; // the arithmetic flags here are stale while lazy.op != 0
  LazyFlags lazy;

  Segment seg[6];
  Segment ldtr, tr;
  TableRegister gdtr, idtr;

  uint64_t cr0 = CR0_ET | CR0_CD | CR0_NW;
  uint64_t cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t dr[8] = {0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400};
  uint64_t efer = 0;
  uint64_t xcr0 = 1;
  Msrs msr;
  FpuState fpu;

  // Execution state that is not architectural registers but must survive
  // save/restore.
  bool halted = false;
  // Interrupts are inhibited for one instruction after STI, MOV SS, POP SS.
  bool interrupt_shadow = false;
  bool nmi_pending = false;
  bool nmi_blocked = false;
  uint64_t a20_mask = ~uint64_t{0}; // ~(1 << 20) while the A20 gate is closed

  // gpr[slot], rip, no_register or block_rip for an Instruction's base or
  // index.
  uint64_t address_slot(unsigned slot) const {
    return reinterpret_cast<const uint64_t *>(this)[slot];
  }

  unsigned cpl() const {
    if (!protected_mode())
      return 0;
    if (v86())
      return 3;
    return seg[CS].selector & 3;
  }
  bool protected_mode() const { return cr0 & CR0_PE; }
  bool paging() const { return cr0 & CR0_PG; }
  bool long_mode_active() const { return efer & EFER_LMA; }
  bool v86() const { return rflags & VM; }
  CodeSize code_size() const {
    if (long_mode_active() && seg[CS].long_mode())
      return CodeSize::Bits64;
    if (protected_mode() && !v86() && seg[CS].big())
      return CodeSize::Bits32;
    return CodeSize::Bits16;
  }
};
static_assert(offsetof(CpuState, gpr) == 0 &&
              offsetof(CpuState, rip) == kRip * sizeof(uint64_t) &&
              offsetof(CpuState, no_register) == kNoReg * sizeof(uint64_t) &&
              offsetof(CpuState, block_rip) == kBlockRip * sizeof(uint64_t));

} // namespace sable::cpu
