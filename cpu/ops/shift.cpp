// ROL ROR RCL RCR SHL SHR SAR (count in operand 1), SHLD SHRD (count in
// operand 2). The count masking and flag rules live in cpu/flags.cpp.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/flag_checkpoint.h"
#include "cpu/ops/forms.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

using Shift = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t);
using RotateThroughCarry = uint64_t (*)(CpuState &, unsigned, uint64_t,
                                        uint64_t, bool);

template <Shift Compute> bool shift(Cpu &cpu, const Instruction &insn) {
  uint64_t count;
  if (!cpu.read_operand(insn, 1, count))
    return false;
  const unsigned size = insn.operands[0].size;
  return modify_with_flags(cpu, insn, 0, [&](uint64_t value) {
    return Compute(cpu.state, size, value, count);
  });
}

template <RotateThroughCarry Compute>
bool rotate_through_carry(Cpu &cpu, const Instruction &insn) {
  uint64_t count;
  if (!cpu.read_operand(insn, 1, count))
    return false;
  const unsigned size = insn.operands[0].size;
  const bool carry = carry_flag(cpu.state);
  return modify_with_flags(cpu, insn, 0, [&](uint64_t value) {
    return Compute(cpu.state, size, value, count, carry);
  });
}

template <uint64_t (*Compute)(CpuState &, unsigned, uint64_t, uint64_t,
                              uint64_t)>
bool double_shift(Cpu &cpu, const Instruction &insn) {
  uint64_t fill, count;
  if (!cpu.read_operand(insn, 1, fill) || !cpu.read_operand(insn, 2, count))
    return false;
  const unsigned size = insn.operands[0].size;
  return modify_with_flags(cpu, insn, 0, [&](uint64_t value) {
    return Compute(cpu.state, size, value, fill, count);
  });
}

// A register shifted by an immediate or by CL, for one size (forms.h).
template <Shift Compute> struct ShiftForm {
  template <Form F, unsigned Size> struct At {
    static bool run(Cpu &cpu, const Instruction &insn) {
      const unsigned gpr = insn.operands[0].reg;
      const uint64_t count =
          F == Form::RegImm ? insn.imm : cpu.state.gpr[RCX] & 0xff;
      store_reg<Size>(
          cpu, gpr, Compute(cpu.state, Size, load_reg<Size>(cpu, gpr), count));
      return true;
    }
  };
};

template <Shift Compute> HandlerPair shift_form(const Instruction &insn) {
  const Operand &dst = insn.operands[0], &count = insn.operands[1];
  if (insn.operand_count != 2 || dst.kind != OperandKind::Reg)
    return {};
  if (count.kind == OperandKind::Imm)
    return sized_handler<ShiftForm<Compute>::template At, Form::RegImm>(
        dst.size);
  if (count.kind == OperandKind::Reg && count.reg == RCX && count.size == 1)
    return sized_handler<ShiftForm<Compute>::template At, Form::RegReg>(
        dst.size);
  return {};
}

} // namespace

void register_shift_ops(HandlerTable &table) {
  table.set(Op::ROL, threaded<shift<alu_rol>>);
  table.set(Op::ROR, threaded<shift<alu_ror>>);
  table.set(Op::RCL, threaded<rotate_through_carry<alu_rcl>>);
  table.set(Op::RCR, threaded<rotate_through_carry<alu_rcr>>);
  table.set(Op::SHL, threaded<shift<alu_shl>>);
  table.set(Op::SHR, threaded<shift<alu_shr>>);
  table.set(Op::SAR, threaded<shift<alu_sar>>);
  table.set(Op::SHLD, threaded<double_shift<alu_shld>>);
  table.set(Op::SHRD, threaded<double_shift<alu_shrd>>);
  table.specialize(Op::ROL, shift_form<alu_rol>);
  table.specialize(Op::ROR, shift_form<alu_ror>);
  table.specialize(Op::SHL, shift_form<alu_shl>);
  table.specialize(Op::SHR, shift_form<alu_shr>);
  table.specialize(Op::SAR, shift_form<alu_sar>);
}

} // namespace sable::cpu
