// Flag instructions: CLC STC CMC CLD STD, LAHF SAHF, PUSHF POPF, CLI STI,
// with the IOPL rules of protected mode and virtual-8086 mode (including
// the VME/PVI virtual interrupt flag).

#include "cpu/flags.h"
#include "cpu/cpu.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

unsigned iopl(const CpuState &s) {
  return (s.rflags & IOPL) >> 12;
}

bool clc(Cpu &cpu, const Instruction &) {
  update_arith_flags(cpu.state, CF, 0);
  return true;
}

bool stc(Cpu &cpu, const Instruction &) {
  update_arith_flags(cpu.state, CF, CF);
  return true;
}

bool cmc(Cpu &cpu, const Instruction &) {
  update_arith_flags(cpu.state, CF, flag_if(!carry_flag(cpu.state), CF));
  return true;
}

bool cld(Cpu &cpu, const Instruction &) {
  cpu.state.rflags &= ~uint64_t{DF};
  return true;
}

bool std_(Cpu &cpu, const Instruction &) {
  cpu.state.rflags |= DF;
  return true;
}

// AH = SF:ZF:0:AF:0:PF:1:CF
bool lahf(Cpu &cpu, const Instruction &) {
  const uint64_t low = (cpu.rflags() & (SF | ZF | AF | PF | CF)) | 2;
  cpu.set_reg(RAX, 2, (low << 8) | cpu.reg(RAX, 1));
  return true;
}

bool sahf(Cpu &cpu, const Instruction &) {
  update_arith_flags(cpu.state, SF | ZF | AF | PF | CF, cpu.reg(RAX, 2) >> 8);
  return true;
}

// Virtual-8086 mode with IOPL < 3 traps PUSHF/POPF/CLI/STI unless VME
// lets the 16-bit forms work on VIF instead of IF.
bool v86_trapped(const CpuState &s) {
  return s.v86() && iopl(s) < 3;
}
bool virtual_interrupts(const CpuState &s) {
  if (s.v86())
    return s.cr4 & CR4_VME;
  return s.protected_mode() && s.cpl() == 3 && (s.cr4 & CR4_PVI);
}

// The image omits VM and RF.
bool pushf(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  uint64_t image = cpu.rflags() & ~uint64_t{VM | RF};
  if (v86_trapped(cpu.state)) {
    if (!virtual_interrupts(cpu.state) || size != 2)
      return cpu.fault(EXC_GP, 0);
    image = (image & ~uint64_t{IF}) | IOPL;
    if (image & VIF)
      image |= IF;
  }
  return cpu.push(image & size_mask(size), size);
}

// Which bits POPF may change: never VM, VIP, VIF (and RF is cleared);
// IOPL only at CPL 0 (or in real mode); IF only when CPL <= IOPL.
bool popf(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  CpuState &s = cpu.state;
  const uint64_t rsp = cpu.reg(RSP, 8);
  const uint64_t old = cpu.rflags();
  const bool trapped = v86_trapped(s);
  if (trapped && (!virtual_interrupts(s) || size != 2))
    return cpu.fault(EXC_GP, 0);
  uint64_t popped;
  if (!cpu.pop(popped, size))
    return false;
  uint64_t changeable = CF | PF | AF | ZF | SF | TF | DF | OF | NT | AC | ID;
  if (trapped) {
    // VME: the popped IF goes to VIF; setting TF, or enabling interrupts
    // while one is pending, is for the monitor to handle.
    if ((popped & TF) || ((popped & IF) && (old & VIP))) {
      cpu.set_reg(RSP, 8, rsp);
      return cpu.fault(EXC_GP, 0);
    }
    changeable &= 0xffff;
    uint64_t value = (old & ~changeable) | (popped & changeable);
    value = (value & ~uint64_t{VIF}) | flag_if(popped & IF, VIF);
    cpu.set_rflags(value);
    return true;
  }
  if (!s.protected_mode() || (s.cpl() == 0 && !s.v86()))
    changeable |= IOPL;
  if (!s.protected_mode() || s.cpl() <= iopl(s))
    changeable |= IF;
  if (size == 2)
    changeable &= 0xffff;
  cpu.set_rflags(((old & ~changeable) | (popped & changeable)) & ~uint64_t{RF});
  return true;
}

// CLI/STI: IF when CPL <= IOPL; else VIF with VME/PVI; else #GP(0).
template <bool Enable> bool set_interrupt_flag(Cpu &cpu, const Instruction &) {
  CpuState &s = cpu.state;
  const bool allowed = !s.protected_mode() || s.cpl() <= iopl(s);
  if (allowed) {
    if constexpr (Enable) {
      // Interrupts stay blocked for one more instruction only when STI
      // actually enables them.
      if (!(s.rflags & IF))
        s.interrupt_shadow = true;
      s.rflags |= IF;
    } else {
      s.rflags &= ~uint64_t{IF};
    }
    return true;
  }
  if (!virtual_interrupts(s))
    return cpu.fault(EXC_GP, 0);
  if constexpr (Enable) {
    if (s.rflags & VIP)
      return cpu.fault(EXC_GP, 0);
    s.rflags |= VIF;
  } else {
    s.rflags &= ~uint64_t{VIF};
  }
  return true;
}

// CLAC/STAC: SMAP's override of supervisor-mode access prevention; only at
// CPL 0 (the decoder already limits them to SMAP's encodings).
template <bool Set> bool set_access_flag(Cpu &cpu, const Instruction &) {
  if (cpu.state.protected_mode() && cpu.state.cpl() > 0)
    return cpu.fault(EXC_UD);
  cpu.state.rflags =
      Set ? cpu.state.rflags | AC : cpu.state.rflags & ~uint64_t{AC};
  return true;
}

} // namespace

void register_flag_ops(HandlerTable &table) {
  table.set(Op::CLC, threaded<clc>);
  table.set(Op::STC, threaded<stc>);
  table.set(Op::CMC, threaded<cmc>);
  table.set(Op::CLD, threaded<cld>);
  table.set(Op::STD, threaded<std_>);
  table.set(Op::LAHF, threaded<lahf>);
  table.set(Op::SAHF, threaded<sahf>);
  table.set(Op::PUSHF, threaded<pushf>);
  table.set(Op::POPF, threaded<popf>);
  table.set(Op::CLAC, threaded<set_access_flag<false>>);
  table.set(Op::STAC, threaded<set_access_flag<true>>);
  table.set(Op::CLI, threaded<set_interrupt_flag<false>>);
  table.set(Op::STI, threaded<set_interrupt_flag<true>>);
}

} // namespace sable::cpu
