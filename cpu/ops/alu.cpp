// ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/flag_checkpoint.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

using Binary = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t);
using BinaryWithCarry = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t,
                                     bool);

template <Binary Compute> bool binary(Cpu &cpu, const Instruction &insn) {
  uint64_t src;
  if (!cpu.read_operand(insn, 1, src))
    return false;
  const unsigned size = insn.operands[0].size;
  return modify_with_flags(cpu, insn, 0, [&](uint64_t dst) {
    return Compute(cpu.state, size, dst, src);
  });
}

template <BinaryWithCarry Compute>
bool binary_with_carry(Cpu &cpu, const Instruction &insn) {
  uint64_t src;
  if (!cpu.read_operand(insn, 1, src))
    return false;
  const unsigned size = insn.operands[0].size;
  const bool carry = carry_flag(cpu.state);
  return modify_with_flags(cpu, insn, 0, [&](uint64_t dst) {
    return Compute(cpu.state, size, dst, src, carry);
  });
}

// CMP and TEST: flags only, nothing written.
template <Binary Compute> bool compare(Cpu &cpu, const Instruction &insn) {
  uint64_t dst, src;
  if (!cpu.read_operand(insn, 0, dst) || !cpu.read_operand(insn, 1, src))
    return false;
  Compute(cpu.state, insn.operands[0].size, dst, src);
  return true;
}

template <uint64_t (*Compute)(CpuState &, unsigned, uint64_t, bool)>
bool increment(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  const bool carry = carry_flag(cpu.state);
  return modify_with_flags(cpu, insn, 0, [&](uint64_t dst) {
    return Compute(cpu.state, size, dst, carry);
  });
}

bool neg(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  return modify_with_flags(cpu, insn, 0, [&](uint64_t dst) {
    return alu_neg(cpu.state, size, dst);
  });
}

bool not_(Cpu &cpu, const Instruction &insn) {
  const uint64_t mask = size_mask(insn.operands[0].size);
  return cpu.modify_operand(insn, 0, [&](uint64_t dst) { return ~dst & mask; });
}

} // namespace

void register_alu_ops(HandlerTable &table) {
  table.set(Op::ADD, binary<alu_add>);
  table.set(Op::OR, binary<alu_or>);
  table.set(Op::ADC, binary_with_carry<alu_adc>);
  table.set(Op::SBB, binary_with_carry<alu_sbb>);
  table.set(Op::AND, binary<alu_and>);
  table.set(Op::SUB, binary<alu_sub>);
  table.set(Op::XOR, binary<alu_xor>);
  table.set(Op::CMP, compare<alu_sub>);
  table.set(Op::TEST, compare<alu_and>);
  table.set(Op::INC, increment<alu_inc>);
  table.set(Op::DEC, increment<alu_dec>);
  table.set(Op::NEG, neg);
  table.set(Op::NOT, not_);
}

} // namespace sable::cpu
