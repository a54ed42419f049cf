// ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/flag_checkpoint.h"
#include "cpu/ops/forms.h"
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

// The same operations for one operand form and size (cpu/ops/forms.h).
// `Compute` is a Binary, or with `WithCarry` a BinaryWithCarry given CF
// as it was before the instruction.
template <auto Compute, bool WithCarry> struct BinaryForm {
  template <Form F, unsigned Size> struct At : OnBothPaths<At<F, Size>> {
    template <Path P> static bool execute(Cpu &cpu, const Instruction &insn) {
      uint64_t src;
      if (!load_source<F, Size, P>(cpu, insn, src))
        return false;
      const bool carry = WithCarry && carry_flag(cpu.state);
      auto apply = [&](uint64_t dst) {
        if constexpr (WithCarry)
          return Compute(cpu.state, Size, dst, src, carry);
        else
          return Compute(cpu.state, Size, dst, src);
      };
      if constexpr (register_destination(F)) {
        const unsigned gpr = insn.operands[0].reg;
        store_reg<Size>(cpu, gpr, apply(load_reg<Size>(cpu, gpr)));
        return true;
      } else {
        return modify_memory<Size, P>(cpu, insn, apply);
      }
    }
  };
};

template <Binary Compute> struct CompareForm {
  template <Form F, unsigned Size> struct At : OnBothPaths<At<F, Size>> {
    template <Path P> static bool execute(Cpu &cpu, const Instruction &insn) {
      uint64_t dst, src;
      if constexpr (register_destination(F))
        dst = load_reg<Size>(cpu, insn.operands[0].reg);
      else if (!load_memory<Size, P>(cpu, insn, dst))
        return false;
      if (!load_source<F, Size, P>(cpu, insn, src))
        return false;
      Compute(cpu.state, Size, dst, src);
      return true;
    }
  };
};

template <Binary Compute> HandlerPair binary_form(const Instruction &insn) {
  return form_handler<BinaryForm<Compute, false>::template At>(insn);
}

template <BinaryWithCarry Compute>
HandlerPair carry_form(const Instruction &insn) {
  return form_handler<BinaryForm<Compute, true>::template At>(insn);
}

template <Binary Compute> HandlerPair compare_form(const Instruction &insn) {
  return form_handler<CompareForm<Compute>::template At>(insn);
}

template <uint64_t (*Compute)(CpuState &, unsigned, uint64_t, bool),
          unsigned Size>
bool increment_register(Cpu &cpu, const Instruction &insn) {
  const unsigned gpr = insn.operands[0].reg;
  store_reg<Size>(cpu, gpr,
                  Compute(cpu.state, Size, load_reg<Size>(cpu, gpr),
                          carry_flag(cpu.state)));
  return true;
}

template <uint64_t (*Compute)(CpuState &, unsigned, uint64_t, bool)>
HandlerPair increment_form(const Instruction &insn) {
  if (insn.operands[0].kind != OperandKind::Reg)
    return {};
  return word_sized(insn.operands[0].size, [](auto size) -> HandlerPair {
    return threaded_on_registers<
        increment_register<Compute, decltype(size)::value>>;
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
  table.set(Op::ADD, threaded<binary<alu_add>>);
  table.set(Op::OR, threaded<binary<alu_or>>);
  table.set(Op::ADC, threaded<binary_with_carry<alu_adc>>);
  table.set(Op::SBB, threaded<binary_with_carry<alu_sbb>>);
  table.set(Op::AND, threaded<binary<alu_and>>);
  table.set(Op::SUB, threaded<binary<alu_sub>>);
  table.set(Op::XOR, threaded<binary<alu_xor>>);
  table.set(Op::CMP, threaded<compare<alu_sub>>);
  table.set(Op::TEST, threaded<compare<alu_and>>);
  table.set(Op::INC, threaded<increment<alu_inc>>);
  table.set(Op::DEC, threaded<increment<alu_dec>>);
  table.set(Op::NEG, threaded<neg>);
  table.set(Op::NOT, threaded<not_>);

  table.specialize(Op::ADD, binary_form<alu_add>);
  table.specialize(Op::OR, binary_form<alu_or>);
  table.specialize(Op::ADC, carry_form<alu_adc>);
  table.specialize(Op::SBB, carry_form<alu_sbb>);
  table.specialize(Op::AND, binary_form<alu_and>);
  table.specialize(Op::SUB, binary_form<alu_sub>);
  table.specialize(Op::XOR, binary_form<alu_xor>);
  table.specialize(Op::CMP, compare_form<alu_sub>);
  table.specialize(Op::TEST, compare_form<alu_and>);
  table.specialize(Op::INC, increment_form<alu_inc>);
  table.specialize(Op::DEC, increment_form<alu_dec>);
}

} // namespace sable::cpu
