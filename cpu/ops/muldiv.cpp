// MUL, IMUL (one, two and three operands), DIV, IDIV. The one-operand
// forms work on AX = AL * src (bytes) or rDX:rAX; DIV/IDIV leave the flags
// unchanged, which is what Intel processors do with these undefined flags.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/forms.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

using u128 = unsigned __int128;
using i128 = __int128;
using Multiply = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t,
                              uint64_t &);

// The implicit double-width operand: AH:AL for bytes, else rDX:rAX.
u128 read_wide_accumulator(Cpu &cpu, unsigned size) {
  if (size == 1)
    return cpu.reg(RAX, 2);
  return (u128{cpu.reg(RDX, size)} << size_bits(size)) | cpu.reg(RAX, size);
}

void write_wide_accumulator(Cpu &cpu, unsigned size, uint64_t low,
                            uint64_t high) {
  if (size == 1) {
    cpu.set_reg(RAX, 2, (high << 8) | low);
    return;
  }
  cpu.set_reg(RAX, size, low);
  cpu.set_reg(RDX, size, high);
}

template <Multiply Compute>
bool multiply_accumulator(Cpu &cpu, const Instruction &insn) {
  uint64_t src;
  if (!cpu.read_operand(insn, 0, src))
    return false;
  const unsigned size = insn.operands[0].size;
  uint64_t high;
  const uint64_t low = Compute(cpu.state, size, cpu.reg(RAX, size), src, high);
  write_wide_accumulator(cpu, size, low, high);
  return true;
}

// IMUL r, r/m (op0 = op0 * op1) and IMUL r, r/m, imm (op0 = op1 * op2).
bool imul(Cpu &cpu, const Instruction &insn) {
  const unsigned first = insn.operand_count == 3 ? 1 : 0;
  uint64_t a, b, high;
  if (!cpu.read_operand(insn, first, a) ||
      !cpu.read_operand(insn, first + 1, b))
    return false;
  return cpu.write_operand(
      insn, 0, alu_imul(cpu.state, insn.operands[0].size, a, b, high));
}

bool div(Cpu &cpu, const Instruction &insn) {
  uint64_t divisor;
  if (!cpu.read_operand(insn, 0, divisor))
    return false;
  const unsigned size = insn.operands[0].size;
  divisor &= size_mask(size);
  if (divisor == 0)
    return cpu.fault(EXC_DE);
  const u128 dividend = read_wide_accumulator(cpu, size);
  const u128 quotient = dividend / divisor;
  if (quotient > size_mask(size))
    return cpu.fault(EXC_DE);
  write_wide_accumulator(cpu, size, static_cast<uint64_t>(quotient),
                         static_cast<uint64_t>(dividend % divisor));
  return true;
}

bool idiv(Cpu &cpu, const Instruction &insn) {
  uint64_t raw_divisor;
  if (!cpu.read_operand(insn, 0, raw_divisor))
    return false;
  const unsigned size = insn.operands[0].size;
  const int64_t divisor = sign_extend(raw_divisor, size);
  if (divisor == 0)
    return cpu.fault(EXC_DE);
  const unsigned unused = 128 - 2 * size_bits(size);
  const i128 dividend =
      static_cast<i128>(read_wide_accumulator(cpu, size) << unused) >> unused;
  // The one quotient the host cannot compute is also out of range.
  const i128 most_negative = static_cast<i128>(u128{1} << 127);
  if (divisor == -1 && dividend == most_negative)
    return cpu.fault(EXC_DE);
  const i128 quotient = dividend / divisor;
  const i128 limit = i128{1} << (size_bits(size) - 1);
  if (quotient < -limit || quotient >= limit)
    return cpu.fault(EXC_DE);
  const uint64_t mask = size_mask(size);
  write_wide_accumulator(cpu, size, static_cast<uint64_t>(quotient) & mask,
                         static_cast<uint64_t>(dividend % divisor) & mask);
  return true;
}

// IMUL r, r/m and IMUL r, r/m, imm (both decoded as three operands) with
// a register or memory source of one size.
template <unsigned Size, bool WithImmediate, bool FromMemory>
bool imul_sized(Cpu &cpu, const Instruction &insn) {
  uint64_t a, b, high;
  if constexpr (FromMemory) {
    if (!load_memory<Size>(cpu, insn, a))
      return false;
  } else {
    a = load_reg<Size>(cpu, insn.operands[1].reg);
  }
  if constexpr (WithImmediate)
    b = insn.imm;
  else
    b = load_reg<Size>(cpu, insn.operands[2].reg);
  store_reg<Size>(cpu, insn.operands[0].reg,
                  alu_imul(cpu.state, Size, a, b, high));
  return true;
}

template <unsigned Size> HandlerPair imul_from(const Instruction &insn) {
  const Operand &third = insn.operands[2];
  const bool immediate = third.kind == OperandKind::Imm;
  if (insn.operand_count != 3 ||
      (!immediate &&
       (third.kind != OperandKind::Reg || third.size != insn.operands[0].size)))
    return {};
  switch (insn.operands[1].kind) {
  case OperandKind::Reg:
    return immediate ? threaded_on_registers<imul_sized<Size, true, false>>
                     : threaded_on_registers<imul_sized<Size, false, false>>;
  case OperandKind::Mem:
    return immediate ? threaded<imul_sized<Size, true, true>>
                     : threaded<imul_sized<Size, false, true>>;
  default:
    return {};
  }
}

HandlerPair imul_form(const Instruction &insn) {
  if (insn.operands[0].kind != OperandKind::Reg ||
      insn.operands[1].size != insn.operands[0].size)
    return {};
  return word_sized(insn.operands[0].size, [&](auto size) -> HandlerPair {
    return imul_from<decltype(size)::value>(insn);
  });
}

} // namespace

void register_muldiv_ops(HandlerTable &table) {
  table.set(Op::MUL, threaded<multiply_accumulator<alu_mul>>);
  table.set(Op::IMUL1, threaded<multiply_accumulator<alu_imul>>);
  table.set(Op::IMUL, threaded<imul>);
  table.set(Op::DIV, threaded<div>);
  table.set(Op::IDIV, threaded<idiv>);
  table.specialize(Op::IMUL, imul_form);
}

} // namespace sable::cpu
