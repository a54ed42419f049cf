#include "cpu/ops/fused.h"

#include <array>
#include <utility>

#include "cpu/block_cache.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/far_transfer.h"
#include "cpu/ops/forms.h"

namespace sable::cpu {

namespace {

// The compare runs here in full; the branch (the next step) only when its
// target is not a plain 64-bit one or would fault, through its own handler,
// which then finds the flags the compare recorded.
template <bool Test, unsigned Size, bool Immediate, unsigned Cond>
[[gnu::noinline]] bool compare_and_branch(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  const uint64_t dst = load_reg<Size>(cpu, insn.operands[0].reg);
  const uint64_t src = Immediate ? insn.imm & size_mask(Size)
                                 : load_reg<Size>(cpu, insn.operands[1].reg);
  bool holds;
  if constexpr (Test)
    holds = condition_after_logic(Cond, Size, alu_and(s, Size, dst, src));
  else
    holds =
        condition_after_sub(Cond, Size, dst, src, alu_sub(s, Size, dst, src));
  const Step *step = reinterpret_cast<const Step *>(&insn);
  const Instruction &branch = step[1].insn;
  const uint64_t branch_rip = s.rip + insn.length;
  const uint64_t after = branch_rip + branch.length;
  if (!holds) {
    s.rip = after;
    return step[2].handler.chain(cpu, step[2].insn);
  }
  const uint64_t target = after + branch.imm;
  if (branch.opsize != 8 || !is_canonical(target)) [[unlikely]] {
    s.rip = branch_rip;
    return step[1].handler.chain(cpu, branch);
  }
  s.rip = target;
  return cpu.chain_next_block();
}

template <bool Test, unsigned Size, bool Immediate, unsigned... Conds>
constexpr std::array<Handler, sizeof...(Conds)>
fused_handlers(std::integer_sequence<unsigned, Conds...>) {
  return {compare_and_branch<Test, Size, Immediate, Conds>...};
}

template <bool Test, unsigned Size, bool Immediate>
Handler fused_for(unsigned cond) {
  static constexpr auto handlers = fused_handlers<Test, Size, Immediate>(
      std::make_integer_sequence<unsigned, 16>{});
  return handlers[cond & 15];
}

template <bool Test, unsigned Size>
Handler fused_sized(bool immediate, unsigned cond) {
  return immediate ? fused_for<Test, Size, true>(cond)
                   : fused_for<Test, Size, false>(cond);
}

} // namespace

Handler fused_chain(const Instruction &compare, const Instruction &branch) {
  if ((compare.op != Op::CMP && compare.op != Op::TEST) ||
      branch.op != Op::JCC || compare.operand_count != 2)
    return nullptr;
  // The parity conditions need PF, which the operands do not give cheaply.
  const unsigned cond = branch.cond & 15;
  if (cond == 10 || cond == 11)
    return nullptr;
  const Operand &dst = compare.operands[0], &src = compare.operands[1];
  if (dst.kind != OperandKind::Reg || (dst.size != 4 && dst.size != 8))
    return nullptr;
  const bool immediate = src.kind == OperandKind::Imm;
  if (!immediate && (src.kind != OperandKind::Reg || src.size != dst.size))
    return nullptr;
  const bool test = compare.op == Op::TEST;
  if (dst.size == 8)
    return test ? fused_sized<true, 8>(immediate, cond)
                : fused_sized<false, 8>(immediate, cond);
  return test ? fused_sized<true, 4>(immediate, cond)
              : fused_sized<false, 4>(immediate, cond);
}

} // namespace sable::cpu
