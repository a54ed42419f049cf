// Data movement: MOV MOVZX MOVSX MOVBE LEA XCHG XADD CMPXCHG CMPXCHG8B/16B,
// CBW/CWD and their wider forms, XLAT, CMOVcc, SETcc, SALC, LDS/LES/LFS/
// LGS/LSS, MOV to/from segment registers, NOP and PAUSE.

#include <array>
#include <utility>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/flag_checkpoint.h"
#include "cpu/ops/forms.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

bool mov(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  return cpu.read_operand(insn, 1, value) &&
         cpu.write_operand(insn, 0, value & size_mask(insn.operands[0].size));
}

bool movzx(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if (!cpu.read_operand(insn, 1, value))
    return false;
  return cpu.write_operand(insn, 0, value & size_mask(insn.operands[1].size));
}

bool movsx(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if (!cpu.read_operand(insn, 1, value))
    return false;
  const uint64_t extended =
      static_cast<uint64_t>(sign_extend(value, insn.operands[1].size));
  return cpu.write_operand(insn, 0,
                           extended & size_mask(insn.operands[0].size));
}

bool movbe(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if (!cpu.read_operand(insn, 1, value))
    return false;
  const unsigned size = insn.operands[0].size;
  const uint64_t swapped = __builtin_bswap64(value) >> (64 - size_bits(size));
  return cpu.write_operand(insn, 0, swapped);
}

// The address is computed at the address size, then truncated (or
// zero-extended) to the operand size.
bool lea(Cpu &cpu, const Instruction &insn) {
  return cpu.write_operand(
      insn, 0, cpu.effective_address(insn) & size_mask(insn.operands[0].size));
}

// XCHG with memory is always locked (Cpu::modify_operand knows).
bool xchg(Cpu &cpu, const Instruction &insn) {
  const bool memory_first = insn.operands[0].kind == OperandKind::Mem;
  const unsigned mem = memory_first ? 0 : 1;
  const unsigned reg = memory_first ? 1 : 0;
  uint64_t reg_value;
  if (!cpu.read_operand(insn, reg, reg_value))
    return false;
  uint64_t other = 0;
  if (!cpu.modify_operand(insn, mem, [&](uint64_t old) {
        other = old;
        return reg_value;
      }))
    return false;
  return cpu.write_operand(insn, reg, other);
}

// TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (DEST wins when both name the
// same register).
bool xadd(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  uint64_t src;
  if (!cpu.read_operand(insn, 1, src))
    return false;
  if (insn.operands[0].kind != OperandKind::Mem) {
    uint64_t dst;
    if (!cpu.read_operand(insn, 0, dst))
      return false;
    const uint64_t sum = alu_add(cpu.state, size, dst, src);
    return cpu.write_operand(insn, 1, dst) && cpu.write_operand(insn, 0, sum);
  }
  uint64_t old = 0;
  if (!modify_with_flags(cpu, insn, 0, [&](uint64_t dst) {
        old = dst;
        return alu_add(cpu.state, size, dst, src);
      }))
    return false;
  return cpu.write_operand(insn, 1, old);
}

// The destination is always written (with its own value when the
// comparison fails, as the locked cycle requires); the accumulator only on
// failure.
bool cmpxchg(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  const uint64_t mask = size_mask(size);
  uint64_t src;
  if (!cpu.read_operand(insn, 1, src))
    return false;
  const uint64_t accumulator = cpu.reg(RAX, size) & mask;
  uint64_t current = 0;
  if (!cpu.modify_operand(insn, 0, [&](uint64_t dst) {
        current = dst & mask;
        return current == accumulator ? src : current;
      }))
    return false;
  alu_sub(cpu.state, size, accumulator, current);
  if (current != accumulator)
    cpu.set_reg(RAX, size, current);
  return true;
}

// CMPXCHG8B compares EDX:EAX with m64 and stores ECX:EBX on a match;
// CMPXCHG16B (operand size 8) does the same with the 64-bit registers
// and needs a 16-byte aligned operand.
bool cmpxchg8b(Cpu &cpu, const Instruction &insn) {
  const unsigned half = insn.opsize == 8 ? 8 : 4;
  const uint64_t expected_low = cpu.reg(RAX, half);
  const uint64_t expected_high = cpu.reg(RDX, half);
  const uint64_t new_low = cpu.reg(RBX, half);
  const uint64_t new_high = cpu.reg(RCX, half);
  uint64_t low = 0, high = 0;
  bool equal = false;
  if (half == 4) {
    const uint64_t expected = (expected_high << 32) | expected_low;
    if (!cpu.modify_operand(insn, 0, [&](uint64_t value) {
          low = value & 0xffffffff;
          high = value >> 32;
          equal = value == expected;
          return equal ? (new_high << 32) | new_low : value;
        }))
      return false;
  } else {
    if (cpu.effective_address(insn) & 15)
      return cpu.fault(EXC_GP, 0);
    uint64_t value[2] = {expected_low, expected_high};
    const uint64_t desired[2] = {new_low, new_high};
    if (!cpu.compare_exchange_16(insn, value, desired, equal))
      return false;
    low = value[0];
    high = value[1];
  }
  update_arith_flags(cpu.state, ZF, flag_if(equal, ZF));
  if (!equal) {
    cpu.set_reg(RAX, half, low);
    cpu.set_reg(RDX, half, high);
  }
  return true;
}

// CBW / CWDE / CDQE: sign-extend the lower half of rAX into all of it.
bool cbw(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  const int64_t value = sign_extend(cpu.reg(RAX, size / 2), size / 2);
  cpu.set_reg(RAX, size, static_cast<uint64_t>(value) & size_mask(size));
  return true;
}

// CWD / CDQ / CQO: fill rDX with the sign of rAX.
bool cwd(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  const bool negative = cpu.reg(RAX, size) & sign_bit(size);
  cpu.set_reg(RDX, size, negative ? size_mask(size) : 0);
  return true;
}

bool xlat(Cpu &cpu, const Instruction &insn) {
  const uint64_t address = (cpu.reg(RBX, insn.addrsize) + cpu.reg(RAX, 1)) &
                           size_mask(insn.addrsize);
  uint64_t value;
  if (!cpu.read_value(insn.seg, address, 1, value))
    return false;
  cpu.set_reg(RAX, 1, value);
  return true;
}

// The source is read (and may fault) whatever the condition; a 32-bit
// destination is written either way, so 64-bit mode clears its upper half.
bool cmovcc(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if (!cpu.read_operand(insn, 1, value))
    return false;
  if (!cpu.condition(insn.cond)) {
    if (insn.operands[0].size != 4)
      return true;
    if (!cpu.read_operand(insn, 0, value))
      return false;
  }
  return cpu.write_operand(insn, 0, value);
}

bool setcc(Cpu &cpu, const Instruction &insn) {
  return cpu.write_operand(insn, 0, cpu.condition(insn.cond) ? 1 : 0);
}

bool salc(Cpu &cpu, const Instruction &) {
  cpu.set_reg(RAX, 1, carry_flag(cpu.state) ? 0xff : 0);
  return true;
}

// LDS LES LFS LGS LSS: offset (operand size) then selector from memory.
// The segment is loaded first so a faulting selector leaves the register.
bool load_far_pointer(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  const uint64_t address = cpu.effective_address(insn);
  uint64_t offset, selector;
  if (!cpu.read_value(insn.seg, address, size, offset) ||
      !cpu.read_value(insn.seg, (address + size) & size_mask(insn.addrsize), 2,
                      selector))
    return false;
  if (!cpu.load_segment(insn.aux, static_cast<uint16_t>(selector)))
    return false;
  return cpu.write_operand(insn, 0, offset);
}

bool mov_seg(Cpu &cpu, const Instruction &insn) {
  if (insn.operands[0].kind == OperandKind::Seg) {
    const unsigned seg = insn.operands[0].reg;
    if (seg == CS)
      return cpu.fault(EXC_UD);
    uint64_t selector;
    if (!cpu.read_operand(insn, 1, selector) ||
        !cpu.load_segment(seg, static_cast<uint16_t>(selector)))
      return false;
    if (seg == SS)
      cpu.state.interrupt_shadow = true;
    return true;
  }
  const uint64_t selector = cpu.state.seg[insn.operands[1].reg].selector;
  // A memory destination is always a 16-bit store; a register one takes
  // the zero-extended selector at the operand size.
  if (insn.operands[0].kind == OperandKind::Mem)
    return cpu.write_value(insn.seg, cpu.effective_address(insn), 2, selector);
  return cpu.write_operand(insn, 0, selector);
}

bool nop(Cpu &, const Instruction &) {
  return true;
}

} // namespace

// ---- the same operations for one operand form and size (forms.h)

template <Form F, unsigned Size>
struct MovForm : OnBothPaths<MovForm<F, Size>> {
  template <Path P> static bool execute(Cpu &cpu, const Instruction &insn) {
    uint64_t value;
    if (!load_source<F, Size, P>(cpu, insn, value))
      return false;
    if constexpr (register_destination(F)) {
      store_reg<Size>(cpu, insn.operands[0].reg, value);
      return true;
    } else {
      return store_memory<Size, P>(cpu, insn, value);
    }
  }
};

// MOVZX/MOVSX from a register or memory of SourceSize bytes.
template <bool Signed, unsigned Size, unsigned SourceSize, bool FromMemory,
          Path P = Path::Full>
bool extend(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if constexpr (FromMemory) {
    if (!load_memory<SourceSize, P>(cpu, insn, value))
      return false;
  } else {
    value = load_reg<SourceSize>(cpu, insn.operands[1].reg);
  }
  if constexpr (Signed)
    value = static_cast<uint64_t>(sign_extend(value, SourceSize));
  store_reg<Size>(cpu, insn.operands[0].reg, value);
  return true;
}

// The memory form as a form of its own, for form_pair.
template <bool Signed, unsigned Size, unsigned SourceSize>
struct ExtendFromMemory
    : OnBothPaths<ExtendFromMemory<Signed, Size, SourceSize>> {
  template <Path P> static bool execute(Cpu &cpu, const Instruction &insn) {
    return extend<Signed, Size, SourceSize, true, P>(cpu, insn);
  }
};

template <bool Signed, unsigned Size, unsigned SourceSize>
HandlerPair extend_from(const Instruction &insn) {
  switch (insn.operands[1].kind) {
  case OperandKind::Reg:
    return threaded_on_registers<extend<Signed, Size, SourceSize, false>>;
  case OperandKind::Mem:
    return form_pair<ExtendFromMemory<Signed, Size, SourceSize>, Form::RegMem>(
        fast_path_for(insn));
  default:
    return {};
  }
}

template <bool Signed> HandlerPair extend_form(const Instruction &insn) {
  if (insn.operands[0].kind != OperandKind::Reg)
    return {};
  const unsigned size = insn.operands[0].size;
  switch (insn.operands[1].size) {
  case 1:
    return size == 2   ? extend_from<Signed, 2, 1>(insn)
           : size == 4 ? extend_from<Signed, 4, 1>(insn)
           : size == 8 ? extend_from<Signed, 8, 1>(insn)
                       : HandlerPair{};
  case 2:
    return size == 4   ? extend_from<Signed, 4, 2>(insn)
           : size == 8 ? extend_from<Signed, 8, 2>(insn)
                       : HandlerPair{};
  case 4:
    return Signed && size == 8 ? extend_from<Signed, 8, 4>(insn)
                               : HandlerPair{};
  default:
    return {};
  }
}

// On Path::Flat (64-bit addressing) the address needs no truncation, and
// on Path::FlatBase it has no index register either (operand_offset); the
// segment plays no part.
template <unsigned Size, Path P>
bool lea_sized(Cpu &cpu, const Instruction &insn) {
  store_reg<Size>(cpu, insn.operands[0].reg, operand_offset<P>(cpu, insn));
  return true;
}

HandlerPair lea_form(const Instruction &insn) {
  const Path path = fast_path_for(insn);
  return word_sized(insn.operands[0].size, [path](auto size) -> HandlerPair {
    constexpr unsigned kSize = decltype(size)::value;
    switch (path) {
    case Path::FlatBase:
      return threaded_on_registers<lea_sized<kSize, Path::FlatBase>>;
    case Path::Flat:
      return threaded_on_registers<lea_sized<kSize, Path::Flat>>;
    default:
      return threaded_on_registers<lea_sized<kSize, Path::Fast>>;
    }
  });
}

namespace {

// A false condition still writes a 4-byte destination (zeroing the upper
// half), as the generic handler does.
template <unsigned Size, unsigned Cond, Path P = Path::Full>
bool cmovcc_registers(Cpu &cpu, const Instruction &insn) {
  bool move;
  if (!condition_on_path<Cond, P>(cpu.state, move))
    return false;
  const unsigned dst = insn.operands[0].reg;
  if (move)
    store_reg<Size>(cpu, dst, load_reg<Size>(cpu, insn.operands[1].reg));
  else if constexpr (Size == 4)
    store_reg<Size>(cpu, dst, load_reg<Size>(cpu, dst));
  return true;
}

template <unsigned Cond, Path P = Path::Full>
bool setcc_register(Cpu &cpu, const Instruction &insn) {
  bool set;
  if (!condition_on_path<Cond, P>(cpu.state, set))
    return false;
  store_reg<1>(cpu, insn.operands[0].reg, set);
  return true;
}

template <unsigned Size> struct CmovOn {
  template <unsigned Cond>
  static constexpr HandlerPair pair =
      threaded_sequential<cmovcc_registers<Size, Cond>,
                          cmovcc_registers<Size, Cond, Path::Fast>>;
};

struct SetOn {
  template <unsigned Cond>
  static constexpr HandlerPair pair =
      threaded_sequential<setcc_register<Cond>,
                          setcc_register<Cond, Path::Fast>>;
};

// On's handler pairs for the 16 conditions, by condition.
template <typename On, unsigned... Conds>
constexpr std::array<HandlerPair, sizeof...(Conds)>
by_condition(std::integer_sequence<unsigned, Conds...>) {
  return {On::template pair<Conds>...};
}

} // namespace

HandlerPair cmovcc_form(const Instruction &insn) {
  Form form;
  if (!operand_form(insn, form) || form != Form::RegReg)
    return {};
  return word_sized(insn.operands[0].size, [&](auto size) -> HandlerPair {
    static constexpr auto handlers =
        by_condition<CmovOn<decltype(size)::value>>(
            std::make_integer_sequence<unsigned, 16>{});
    return handlers[insn.cond & 15];
  });
}

HandlerPair setcc_form(const Instruction &insn) {
  static constexpr auto handlers =
      by_condition<SetOn>(std::make_integer_sequence<unsigned, 16>{});
  return insn.operands[0].kind == OperandKind::Reg ? handlers[insn.cond & 15]
                                                   : HandlerPair{};
}

void register_data_ops(HandlerTable &table) {
  table.set(Op::MOV, threaded<mov>);
  table.set(Op::MOVZX, threaded<movzx>);
  table.set(Op::MOVSX, threaded<movsx>);
  table.set(Op::MOVBE, threaded<movbe>);
  table.set(Op::LEA, threaded<lea>);
  table.set(Op::XCHG, threaded<xchg>);
  table.set(Op::XADD, threaded<xadd>);
  table.set(Op::CMPXCHG, threaded<cmpxchg>);
  table.set(Op::CMPXCHG8B, threaded<cmpxchg8b>);
  table.set(Op::CBW, threaded<cbw>);
  table.set(Op::CWD, threaded<cwd>);
  table.set(Op::XLAT, threaded<xlat>);
  table.set(Op::CMOVCC, threaded<cmovcc>);
  table.set(Op::SETCC, threaded<setcc>);
  table.specialize(Op::SETCC, setcc_form);
  table.set(Op::SALC, threaded<salc>);
  table.set(Op::LOAD_FAR_POINTER, threaded<load_far_pointer>);
  table.set(Op::MOV_SEG, threaded<mov_seg>);
  table.set(Op::NOP, threaded_on_registers<nop>);
  table.set(Op::PAUSE, threaded<nop>);

  table.specialize(Op::MOV, form_handler<MovForm>);
  table.specialize(Op::MOVZX, extend_form<false>);
  table.specialize(Op::MOVSX, extend_form<true>);
  table.specialize(Op::LEA, lea_form);
  table.specialize(Op::CMOVCC, cmovcc_form);
}

} // namespace sable::cpu
