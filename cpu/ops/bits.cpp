// BT BTS BTR BTC, BSF BSR, POPCNT LZCNT TZCNT, BSWAP.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

enum class BitAction { Test, Set, Reset, Complement };

// BT* on memory with a register offset reach any operand-sized word around
// the address: the signed offset selects the word, its low bits the bit.
// An immediate offset, or a register base, only uses the low bits.
template <BitAction Action> bool bit_test(Cpu &cpu, const Instruction &insn) {
  uint64_t offset;
  if (!cpu.read_operand(insn, 1, offset))
    return false;
  const unsigned size = insn.operands[0].size;
  const unsigned bits = size_bits(size);
  Instruction target = insn;
  if (insn.operands[0].kind == OperandKind::Mem &&
      insn.operands[1].kind != OperandKind::Imm) {
    const int64_t word =
        sign_extend(offset, insn.operands[1].size) >> __builtin_ctz(bits);
    target.disp += word * static_cast<int64_t>(size);
  }
  const uint64_t mask = uint64_t{1} << (offset & (bits - 1));
  bool bit = false;
  if constexpr (Action == BitAction::Test) {
    uint64_t value;
    if (!cpu.read_operand(target, 0, value))
      return false;
    bit = value & mask;
  } else {
    const bool done = cpu.modify_operand(target, 0, [&](uint64_t value) {
      bit = value & mask;
      if constexpr (Action == BitAction::Set)
        return value | mask;
      else if constexpr (Action == BitAction::Reset)
        return value & ~mask;
      else
        return value ^ mask;
    });
    if (!done)
      return false;
  }
  set_bit_test_flags(cpu.state, bit);
  return true;
}

template <bool (*Scan)(CpuState &, unsigned, uint64_t, uint64_t &)>
bool bit_scan(Cpu &cpu, const Instruction &insn) {
  uint64_t source;
  if (!cpu.read_operand(insn, 1, source))
    return false;
  uint64_t index = 0;
  if (!Scan(cpu.state, insn.operands[0].size, source, index))
    return true; // zero source: the destination keeps its value
  return cpu.write_operand(insn, 0, index);
}

bool popcnt(Cpu &cpu, const Instruction &insn) {
  uint64_t source;
  if (!cpu.read_operand(insn, 1, source))
    return false;
  source &= size_mask(insn.operands[0].size);
  set_popcnt_flags(cpu.state, source == 0);
  return cpu.write_operand(insn, 0, __builtin_popcountll(source));
}

bool lzcnt(Cpu &cpu, const Instruction &insn) {
  uint64_t source;
  if (!cpu.read_operand(insn, 1, source))
    return false;
  const unsigned size = insn.operands[0].size;
  source &= size_mask(size);
  const uint64_t count = source == 0
                             ? size_bits(size)
                             : __builtin_clzll(source) - (64 - size_bits(size));
  set_count_flags(cpu.state, source == 0, count);
  return cpu.write_operand(insn, 0, count);
}

bool tzcnt(Cpu &cpu, const Instruction &insn) {
  uint64_t source;
  if (!cpu.read_operand(insn, 1, source))
    return false;
  const unsigned size = insn.operands[0].size;
  source &= size_mask(size);
  const uint64_t count =
      source == 0 ? size_bits(size) : __builtin_ctzll(source);
  set_count_flags(cpu.state, source == 0, count);
  return cpu.write_operand(insn, 0, count);
}

// BSWAP of a 16-bit register is undefined; Intel processors clear it.
bool bswap(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.operands[0].size;
  uint64_t value;
  if (!cpu.read_operand(insn, 0, value))
    return false;
  uint64_t swapped = 0;
  if (size == 8)
    swapped = __builtin_bswap64(value);
  else if (size == 4)
    swapped = __builtin_bswap32(static_cast<uint32_t>(value));
  return cpu.write_operand(insn, 0, swapped);
}

} // namespace

void register_bit_ops(HandlerTable &table) {
  table.set(Op::BT, threaded<bit_test<BitAction::Test>>);
  table.set(Op::BTS, threaded<bit_test<BitAction::Set>>);
  table.set(Op::BTR, threaded<bit_test<BitAction::Reset>>);
  table.set(Op::BTC, threaded<bit_test<BitAction::Complement>>);
  table.set(Op::BSF, threaded<bit_scan<alu_bsf>>);
  table.set(Op::BSR, threaded<bit_scan<alu_bsr>>);
  table.set(Op::POPCNT, threaded<popcnt>);
  table.set(Op::LZCNT, threaded<lzcnt>);
  table.set(Op::TZCNT, threaded<tzcnt>);
  table.set(Op::BSWAP, threaded<bswap>);
}

} // namespace sable::cpu
