#pragma once
// Operand forms. The generic handlers look at every operand's kind and size
// on every execution; the forms below let a family also offer handlers
// compiled for one combination (register or memory destination, register,
// immediate or memory source, a fixed size), chosen once when a block is
// decoded. They are instantiations of the same semantics (cpu/flags.h and
// the family's own functions), not a second implementation.

#include <type_traits>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

enum class Form : uint8_t { RegReg, RegImm, RegMem, MemReg, MemImm };

// The form of a two-operand instruction whose operands are general
// registers (not AH..BH), an immediate, or a memory operand of at most 8
// bytes, with a destination of 1, 2, 4 or 8 bytes; false otherwise. A
// register source must have the destination's size; an immediate is
// already extended by the decoder.
inline bool operand_form(const Instruction &insn, Form &form) {
  if (insn.operand_count != 2)
    return false;
  const Operand &dst = insn.operands[0], &src = insn.operands[1];
  if (dst.size != 1 && dst.size != 2 && dst.size != 4 && dst.size != 8)
    return false;
  if (src.kind == OperandKind::Reg && src.size != dst.size)
    return false;
  if (dst.kind == OperandKind::Reg) {
    switch (src.kind) {
    case OperandKind::Reg:
      form = Form::RegReg;
      return true;
    case OperandKind::Imm:
      form = Form::RegImm;
      return true;
    case OperandKind::Mem:
      form = Form::RegMem;
      return src.size == dst.size;
    default:
      return false;
    }
  }
  if (dst.kind == OperandKind::Mem) {
    switch (src.kind) {
    case OperandKind::Reg:
      form = Form::MemReg;
      return true;
    case OperandKind::Imm:
      form = Form::MemImm;
      return true;
    default:
      return false;
    }
  }
  return false;
}

constexpr bool register_destination(Form form) {
  return form == Form::RegReg || form == Form::RegImm || form == Form::RegMem;
}

template <unsigned Size> uint64_t load_reg(const Cpu &cpu, unsigned gpr) {
  return cpu.state.gpr[gpr] & size_mask(Size);
}

// 1- and 2-byte writes keep the upper bits; 4-byte writes zero them.
template <unsigned Size>
void store_reg(Cpu &cpu, unsigned gpr, uint64_t value) {
  uint64_t &r = cpu.state.gpr[gpr];
  if constexpr (Size == 4)
    r = value & 0xffffffff;
  else if constexpr (Size == 8)
    r = value;
  else
    r = (r & ~size_mask(Size)) | (value & size_mask(Size));
}

template <unsigned Size>
bool load_memory(Cpu &cpu, const Instruction &insn, uint64_t &value) {
  return cpu.read_value(insn.seg, cpu.effective_address(insn), Size, value);
}

template <unsigned Size>
bool store_memory(Cpu &cpu, const Instruction &insn, uint64_t value) {
  return cpu.write_value(insn.seg, cpu.effective_address(insn), Size, value);
}

// Operand 1 of form F.
template <Form F, unsigned Size>
bool load_source(Cpu &cpu, const Instruction &insn, uint64_t &value) {
  if constexpr (F == Form::RegReg || F == Form::MemReg) {
    value = load_reg<Size>(cpu, insn.operands[1].reg);
    return true;
  } else if constexpr (F == Form::RegImm || F == Form::MemImm) {
    value = insn.imm;
    return true;
  } else {
    return load_memory<Size>(cpu, insn, value);
  }
}

// pick(std::integral_constant<unsigned, N>{}) for a `size` N of 2, 4 or 8
// (the word, doubleword and quadword operand sizes); empty otherwise.
template <typename Pick> HandlerPair word_sized(unsigned size, Pick &&pick) {
  switch (size) {
  case 2:
    return pick(std::integral_constant<unsigned, 2>{});
  case 4:
    return pick(std::integral_constant<unsigned, 4>{});
  case 8:
    return pick(std::integral_constant<unsigned, 8>{});
  default:
    return {};
  }
}

// The handlers of H<F, Size>::run for the form and size of `insn`, or
// none.
template <template <Form, unsigned> class H, Form F>
HandlerPair sized_handler(unsigned size) {
  switch (size) {
  case 1:
    return threaded<H<F, 1>::run>;
  case 2:
    return threaded<H<F, 2>::run>;
  case 4:
    return threaded<H<F, 4>::run>;
  case 8:
    return threaded<H<F, 8>::run>;
  default:
    return {};
  }
}

template <template <Form, unsigned> class H>
HandlerPair form_handler(const Instruction &insn) {
  Form form;
  if (!operand_form(insn, form))
    return {};
  const unsigned size = insn.operands[0].size;
  switch (form) {
  case Form::RegReg:
    return sized_handler<H, Form::RegReg>(size);
  case Form::RegImm:
    return sized_handler<H, Form::RegImm>(size);
  case Form::RegMem:
    return sized_handler<H, Form::RegMem>(size);
  case Form::MemReg:
    return sized_handler<H, Form::MemReg>(size);
  case Form::MemImm:
    return sized_handler<H, Form::MemImm>(size);
  }
  return {};
}

} // namespace sable::cpu
