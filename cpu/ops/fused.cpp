#include "cpu/ops/fused.h"

#include <array>
#include <utility>

#include "cpu/block_cache.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/forms.h"

namespace sable::cpu {

namespace {

enum class Setter : uint8_t { Compare, Test, Subtract, And, Add, Inc, Dec };

constexpr bool writes_destination(Setter setter) {
  return setter != Setter::Compare && setter != Setter::Test;
}

// Whether the branch on `cond` after `setter` is decided here: the
// subtractions and logic operations give every condition but parity from
// their operands; after the others only ZF and SF (and ADD's CF) come
// without deriving the rest.
constexpr bool fusible(Setter setter, unsigned cond) {
  const unsigned test = (cond >> 1) & 7;
  switch (setter) {
  case Setter::Add:
    return test == 1 || test == 2 || test == 4;
  case Setter::Inc:
  case Setter::Dec:
    return test == 2 || test == 4;
  default:
    return test != 5;
  }
}

// The operation runs here in full; the branch (the next step) only when
// its target would fault, through its own handler, which then finds the
// flags the operation recorded.
template <Setter S, unsigned Size, bool Immediate, unsigned Cond>
[[gnu::noinline]] bool operate_and_branch(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  const unsigned gpr = insn.operands[0].reg;
  const uint64_t dst = load_reg<Size>(cpu, gpr);
  uint64_t src = 0;
  if constexpr (S != Setter::Inc && S != Setter::Dec)
    src = Immediate ? insn.imm & size_mask(Size)
                    : load_reg<Size>(cpu, insn.operands[1].reg);
  uint64_t result;
  bool holds;
  if constexpr (S == Setter::Compare || S == Setter::Subtract) {
    result = alu_sub(s, Size, dst, src);
    holds = condition_after_sub(Cond, Size, dst, src, result);
  } else if constexpr (S == Setter::Add && ((Cond >> 1) & 7) == 1) {
    result = alu_add(s, Size, dst, src);
    holds = (result < dst) != (Cond & 1);
  } else {
    if constexpr (S == Setter::Test || S == Setter::And)
      result = alu_and(s, Size, dst, src);
    else if constexpr (S == Setter::Add)
      result = alu_add(s, Size, dst, src);
    else if constexpr (S == Setter::Inc)
      result = alu_inc(s, Size, dst, carry_flag(s));
    else
      result = alu_dec(s, Size, dst, carry_flag(s));
    // Logic conditions; after the others only E and S come here, which
    // depend on the result alone.
    holds = condition_after_logic(Cond, Size, result);
  }
  if constexpr (writes_destination(S))
    store_reg<Size>(cpu, gpr, result);
  const Step *step = reinterpret_cast<const Step *>(&insn);
  if (!holds)
    return step[2].handler.chain(cpu, step[2].insn);
  return chain_relative_branch(cpu, step[1].insn, [&] {
    return step[1].handler.chain(cpu, step[1].insn);
  });
}

template <Setter S, unsigned Size, bool Immediate, unsigned... Conds>
constexpr std::array<Handler, sizeof...(Conds)>
fused_handlers(std::integer_sequence<unsigned, Conds...>) {
  return {(fusible(S, Conds) ? operate_and_branch<S, Size, Immediate, Conds>
                             : nullptr)...};
}

template <Setter S, unsigned Size, bool Immediate>
Handler fused_for(unsigned cond) {
  static constexpr auto handlers = fused_handlers<S, Size, Immediate>(
      std::make_integer_sequence<unsigned, 16>{});
  return handlers[cond & 15];
}

// The handler of setter S on `size`-byte registers, with an immediate
// source or not, for `cond`.
template <Setter S>
Handler fused_sized(unsigned size, bool immediate, unsigned cond) {
  if (size == 8)
    return immediate ? fused_for<S, 8, true>(cond)
                     : fused_for<S, 8, false>(cond);
  return immediate ? fused_for<S, 4, true>(cond) : fused_for<S, 4, false>(cond);
}

using FusedSized = Handler (*)(unsigned size, bool immediate, unsigned cond);

// fused_sized of the setter `op`, or null when it is not one fused here.
FusedSized fused_sized_for(Op op) {
  switch (op) {
  case Op::CMP:
    return fused_sized<Setter::Compare>;
  case Op::TEST:
    return fused_sized<Setter::Test>;
  case Op::SUB:
    return fused_sized<Setter::Subtract>;
  case Op::AND:
    return fused_sized<Setter::And>;
  case Op::ADD:
    return fused_sized<Setter::Add>;
  case Op::INC:
    return fused_sized<Setter::Inc>;
  case Op::DEC:
    return fused_sized<Setter::Dec>;
  default:
    return nullptr;
  }
}

} // namespace

Handler fused_chain(const Instruction &setter, const Instruction &branch) {
  const FusedSized fused = fused_sized_for(setter.op);
  if (branch.op != Op::JCC || branch.opsize != 8 || setter.lock || !fused)
    return nullptr;
  const Operand &dst = setter.operands[0];
  if (dst.kind != OperandKind::Reg || (dst.size != 4 && dst.size != 8))
    return nullptr;
  const unsigned cond = branch.cond & 15;
  if (setter.op == Op::INC || setter.op == Op::DEC)
    return setter.operand_count == 1 ? fused(dst.size, false, cond) : nullptr;
  Form form;
  if (!operand_form(setter, form) ||
      (form != Form::RegReg && form != Form::RegImm))
    return nullptr;
  return fused(dst.size, form == Form::RegImm, cond);
}

} // namespace sable::cpu
