#pragma once
// Source operands for the integer handlers. An immediate's Operand::size is
// its encoded width while Instruction::imm already holds the sign- or
// zero-extended value the instruction uses, so immediates are taken from
// `imm` whole; the handler masks the result to its operation size.

#include "cpu/cpu.h"

namespace sable::cpu {

inline bool read_source(Cpu &cpu, const Instruction &insn, unsigned index,
                        uint64_t &value) {
  if (insn.operands[index].kind == OperandKind::Imm) {
    value = insn.imm;
    return true;
  }
  return cpu.read_operand(insn, index, value);
}

} // namespace sable::cpu
