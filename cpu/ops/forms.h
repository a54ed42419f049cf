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
#include "cpu/ops/flag_checkpoint.h"
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

// How a form's handler reaches memory. Full: every access, faults
// included. Fast: only what Cpu::prepared_host allows, calling nothing, so
// that its threaded code needs no stack frame; it returns false before
// changing anything when an access needs more, and the chain then runs the
// Full handler instead (cpu/ops/chain.h). Flat: Fast for accesses the
// decoder found flat (flat_access), which skip the address-size and
// segment tests. FlatBase: Flat for an address without an index register.
enum class Path : uint8_t { Full, Fast, Flat, FlatBase };

constexpr bool on_fast_path(Path p) {
  return p != Path::Full;
}
constexpr bool flat_path(Path p) {
  return p == Path::Flat || p == Path::FlatBase;
}

// Condition `Cond`, compiled for it. On a fast path only when the last
// flag record gives it (condition_at_hand), else false and nothing done:
// the full variant then works the flags out, and the fast one stays
// without a stack frame.
template <unsigned Cond, Path P>
bool condition_on_path(const CpuState &state, bool &holds) {
  if constexpr (on_fast_path(P))
    return condition_at_hand(state, Cond, holds);
  holds = condition_holds(state, Cond);
  return true;
}

// 64-bit addressing through ES, CS, SS or DS: in 64-bit code, where alone
// addresses are 8 bytes wide, these segments have base 0 and no limit.
inline bool flat_access(const Instruction &insn) {
  return insn.addrsize == 8 && insn.seg <= DS;
}

// The fast path for the memory operand of `insn`.
inline Path fast_path_for(const Instruction &insn) {
  if (!flat_access(insn))
    return Path::Fast;
  return insn.index == kNoReg ? Path::FlatBase : Path::Flat;
}

template <Path P>
uint8_t *fast_host(Cpu &cpu, unsigned seg, uint64_t offset, unsigned size,
                   Access access) {
  if constexpr (flat_path(P))
    return cpu.prepared_flat_host(offset, size, access);
  else
    return cpu.prepared_host(seg, offset, size, access);
}

template <unsigned Size, Path P = Path::Full>
bool load_at(Cpu &cpu, unsigned seg, uint64_t offset, uint64_t &value) {
  if constexpr (on_fast_path(P)) {
    const uint8_t *host = fast_host<P>(cpu, seg, offset, Size, Access::Read);
    if (!host)
      return false;
    value = load_ram_value(host, Size);
    return true;
  } else {
    return cpu.read_value(seg, offset, Size, value);
  }
}

template <unsigned Size, Path P = Path::Full>
bool store_at(Cpu &cpu, unsigned seg, uint64_t offset, uint64_t value) {
  if constexpr (on_fast_path(P)) {
    uint8_t *host = fast_host<P>(cpu, seg, offset, Size, Access::Write);
    if (!host)
      return false;
    store_ram_value(host, Size, value);
    return true;
  } else {
    return cpu.write_value(seg, offset, Size, value);
  }
}

// The offset of the instruction's memory operand.
template <Path P>
uint64_t operand_offset(const Cpu &cpu, const Instruction &insn) {
  if constexpr (P == Path::FlatBase)
    return static_cast<uint64_t>(insn.disp) + cpu.state.address_slot(insn.base);
  else if constexpr (P == Path::Flat)
    return cpu.address_sum(insn);
  else
    return cpu.effective_address(insn);
}

template <unsigned Size, Path P = Path::Full>
bool load_memory(Cpu &cpu, const Instruction &insn, uint64_t &value) {
  return load_at<Size, P>(cpu, insn.seg, operand_offset<P>(cpu, insn), value);
}

template <unsigned Size, Path P = Path::Full>
bool store_memory(Cpu &cpu, const Instruction &insn, uint64_t value) {
  return store_at<Size, P>(cpu, insn.seg, operand_offset<P>(cpu, insn), value);
}

// Operand 1 of form F.
template <Form F, unsigned Size, Path P = Path::Full>
bool load_source(Cpu &cpu, const Instruction &insn, uint64_t &value) {
  if constexpr (F == Form::RegReg || F == Form::MemReg) {
    value = load_reg<Size>(cpu, insn.operands[1].reg);
    return true;
  } else if constexpr (F == Form::RegImm || F == Form::MemImm) {
    value = insn.imm;
    return true;
  } else {
    return load_memory<Size, P>(cpu, insn, value);
  }
}

// Read-modify-write of a form's memory destination (operand 0).
template <unsigned Size, Path P, typename Compute>
bool modify_memory(Cpu &cpu, const Instruction &insn, Compute &&compute) {
  if constexpr (on_fast_path(P)) {
    if (insn.lock)
      return false;
    uint8_t *host = fast_host<P>(cpu, insn.seg, operand_offset<P>(cpu, insn),
                                 Size, Access::Write);
    if (!host)
      return false;
    store_ram_value(host, Size, compute(load_ram_value(host, Size)));
    return true;
  } else {
    return modify_with_flags(cpu, insn, 0, compute);
  }
}

// A form whose Self::execute<P> is written for every path: run, fast and
// flat.
template <typename Self> struct OnBothPaths {
  static bool run(Cpu &cpu, const Instruction &insn) {
    return Self::template execute<Path::Full>(cpu, insn);
  }
  static bool fast(Cpu &cpu, const Instruction &insn) {
    return Self::template execute<Path::Fast>(cpu, insn);
  }
  static bool flat(Cpu &cpu, const Instruction &insn) {
    return Self::template execute<Path::Flat>(cpu, insn);
  }
  static bool flat_base(Cpu &cpu, const Instruction &insn) {
    return Self::template execute<Path::FlatBase>(cpu, insn);
  }
};

// The handlers of a form's H::run, with the variant of H for the fast
// path `fast` (fast_path_for) in its threaded code when H has them. Forms
// do not branch, and their addresses take RIP from CpuState
// (Cpu::address_sum). A form without them, on registers alone, is one of
// those handlers too.
template <typename H, Form F> constexpr HandlerPair form_pair(Path fast) {
  if constexpr (requires { &H::fast; }) {
    switch (fast) {
    case Path::FlatBase:
      return threaded_sequential<H::run, H::flat_base>;
    case Path::Flat:
      return threaded_sequential<H::run, H::flat>;
    default:
      return threaded_sequential<H::run, H::fast>;
    }
  } else if constexpr (F == Form::RegReg || F == Form::RegImm) {
    return threaded_on_registers<H::run>;
  } else {
    return threaded<H::run>;
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
// none. `fast`: the fast path for the form's memory operand.
template <template <Form, unsigned> class H, Form F>
HandlerPair sized_handler(unsigned size, Path fast = Path::Fast) {
  switch (size) {
  case 1:
    return form_pair<H<F, 1>, F>(fast);
  case 2:
    return form_pair<H<F, 2>, F>(fast);
  case 4:
    return form_pair<H<F, 4>, F>(fast);
  case 8:
    return form_pair<H<F, 8>, F>(fast);
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
  const Path fast = fast_path_for(insn);
  switch (form) {
  case Form::RegReg:
    return sized_handler<H, Form::RegReg>(size);
  case Form::RegImm:
    return sized_handler<H, Form::RegImm>(size);
  case Form::RegMem:
    return sized_handler<H, Form::RegMem>(size, fast);
  case Form::MemReg:
    return sized_handler<H, Form::MemReg>(size, fast);
  case Form::MemImm:
    return sized_handler<H, Form::MemImm>(size, fast);
  }
  return {};
}

} // namespace sable::cpu
