#pragma once
// A read-modify-write to memory computes (and records flags) before its
// store, and the store can still fault. The faulting instruction must
// leave no trace, or its restart would see the flags it half-produced
// (ADC/SBB read CF): these helpers put the flags back on failure.

#include "cpu/cpu.h"

namespace sable::cpu {

template <typename Compute>
bool modify_with_flags(Cpu &cpu, const Instruction &insn, unsigned index,
                       Compute &&compute) {
  if (insn.operands[index].kind != OperandKind::Mem)
    return cpu.modify_operand(insn, index, compute);
  const uint64_t rflags = cpu.state.rflags;
  const LazyFlags lazy = cpu.state.lazy;
  if (cpu.modify_operand(insn, index, compute))
    return true;
  cpu.state.rflags = rflags;
  cpu.state.lazy = lazy;
  return false;
}

} // namespace sable::cpu
