// Near control transfers: JMP, CALL, RET (relative and indirect), Jcc,
// LOOP/LOOPE/LOOPNE, JCXZ/JECXZ/JRCXZ. Targets are truncated to the
// operand size; outside 64-bit mode they must lie within the CS limit, in
// 64-bit mode they must be canonical (#GP(0) otherwise, raised before
// anything is pushed, popped or decremented).

#include <array>
#include <utility>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/far_transfer.h"
#include "cpu/ops/forms.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

// Whether a target already truncated to the operand size may be jumped to.
bool target_allowed(const Cpu &cpu, uint64_t target) {
  if (cpu.state.code_size() == CodeSize::Bits64)
    return is_canonical(target);
  return target <= cpu.state.seg[CS].limit;
}

// The target of a relative near branch, truncated to the operand size;
// false when jumping there faults. 8-byte operands exist only in 64-bit
// code, where the target needs no truncation, only the canonical form.
bool relative_target(const Cpu &cpu, const Instruction &insn,
                     uint64_t &target) {
  target = cpu.next_rip + insn.imm;
  if (insn.opsize == 8)
    return is_canonical(target);
  target &= size_mask(insn.opsize);
  return target_allowed(cpu, target);
}

bool check_target(Cpu &cpu, unsigned size, uint64_t &target) {
  target &= size_mask(size);
  return target_allowed(cpu, target) || cpu.fault(EXC_GP, 0);
}

bool jump_to(Cpu &cpu, unsigned size, uint64_t target) {
  if (!check_target(cpu, size, target))
    return false;
  cpu.next_rip = target;
  return true;
}

bool call_to(Cpu &cpu, unsigned size, uint64_t target) {
  if (!check_target(cpu, size, target) ||
      !cpu.push(cpu.next_rip & size_mask(size), size))
    return false;
  cpu.next_rip = target;
  return true;
}

// A relative near branch taken: to its target, or #GP(0).
bool jump_relative(Cpu &cpu, const Instruction &insn) {
  uint64_t target;
  if (!relative_target(cpu, insn, target))
    return cpu.fault(EXC_GP, 0);
  cpu.next_rip = target;
  return true;
}

bool jmp(Cpu &cpu, const Instruction &insn) {
  return jump_relative(cpu, insn);
}

bool jmp64_chain(Cpu &cpu, const Instruction &insn) {
  return chain_relative_branch(cpu, insn,
                               [&] { return chained<jmp>(cpu, insn); });
}

bool jmp_indirect(Cpu &cpu, const Instruction &insn) {
  uint64_t target;
  return cpu.read_operand(insn, 0, target) && jump_to(cpu, insn.opsize, target);
}

bool call(Cpu &cpu, const Instruction &insn) {
  return call_to(cpu, insn.opsize, cpu.next_rip + insn.imm);
}

bool call_indirect(Cpu &cpu, const Instruction &insn) {
  uint64_t target;
  return cpu.read_operand(insn, 0, target) && call_to(cpu, insn.opsize, target);
}

bool ret(Cpu &cpu, const Instruction &insn) {
  const uint64_t rsp = cpu.reg(RSP, 8);
  uint64_t target;
  if (!cpu.pop(target, insn.opsize))
    return false;
  if (!check_target(cpu, insn.opsize, target)) {
    cpu.set_reg(RSP, 8, rsp);
    return false;
  }
  if (insn.imm) {
    const unsigned stack = cpu.stack_size();
    cpu.set_reg(RSP, stack,
                (cpu.reg(RSP, stack) + (insn.imm & 0xffff)) & size_mask(stack));
  }
  cpu.next_rip = target;
  return true;
}

bool jcc(Cpu &cpu, const Instruction &insn) {
  if (!cpu.condition(insn.cond))
    return true;
  return jump_relative(cpu, insn);
}

enum class LoopKind { Always, WhileEqual, WhileNotEqual };

// The counter is rCX at the address size; it is decremented only once
// the branch target is known to be valid.
template <LoopKind Kind> bool loop(Cpu &cpu, const Instruction &insn) {
  const unsigned width = insn.addrsize;
  const uint64_t count = (cpu.reg(RCX, width) - 1) & size_mask(width);
  bool taken = count != 0;
  if constexpr (Kind == LoopKind::WhileEqual)
    taken = taken && (arith_flags(cpu.state) & ZF);
  else if constexpr (Kind == LoopKind::WhileNotEqual)
    taken = taken && !(arith_flags(cpu.state) & ZF);
  uint64_t target = cpu.next_rip + insn.imm;
  if (taken && !check_target(cpu, insn.opsize, target))
    return false;
  cpu.set_reg(RCX, width, count);
  if (taken)
    cpu.next_rip = target;
  return true;
}

bool jcxz(Cpu &cpu, const Instruction &insn) {
  if (cpu.reg(RCX, insn.addrsize) != 0)
    return true;
  return jump_relative(cpu, insn);
}

// Near CALL and RET with 8-byte operands, which exist only in 64-bit mode
// (stack pointer RSP whole, canonical targets, SS flat).

bool call64(Cpu &cpu, const Instruction &insn) {
  const uint64_t target = cpu.next_rip + insn.imm;
  if (!is_canonical(target))
    return cpu.fault(EXC_GP, 0);
  const uint64_t rsp = cpu.state.gpr[RSP] - 8;
  if (!store_at<8>(cpu, SS, rsp, cpu.next_rip))
    return false;
  cpu.state.gpr[RSP] = rsp;
  cpu.next_rip = target;
  return true;
}

bool ret64(Cpu &cpu, const Instruction &) {
  const uint64_t rsp = cpu.state.gpr[RSP];
  uint64_t target;
  if (!load_at<8>(cpu, SS, rsp, target))
    return false;
  if (!is_canonical(target))
    return cpu.fault(EXC_GP, 0);
  cpu.state.gpr[RSP] = rsp + 8;
  cpu.next_rip = target;
  return true;
}

// CALL and RET of 64-bit code as threaded code, on the flat stack: as
// chain_relative_branch, the call stores its return address (computed from the
// block's RIP) before it knows whether the link holds, which the full
// handler it leaves the rest to stores again.
bool call64_chain(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  const uint64_t return_rip = rip_in_block(s, insn) + insn.length;
  const uint64_t target = return_rip + insn.imm;
  const uint64_t rsp = s.gpr[RSP] - 8;
  if (store_at<8, Path::Flat>(cpu, SS, rsp, return_rip))
    if (const Step *entry = cpu.follow_link(
            cpu.running_block->exit_link(insn, target), target)) {
      s.gpr[RSP] = rsp;
      return entry->handler.chain(cpu, entry->insn);
    }
  return chained<call64>(cpu, insn);
}

bool ret64_chain(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  const uint64_t rsp = s.gpr[RSP];
  uint64_t target;
  if (load_at<8, Path::Flat>(cpu, SS, rsp, target))
    if (const Step *entry = cpu.follow_link(
            cpu.running_block->exit_link(insn, target), target)) {
      s.gpr[RSP] = rsp + 8;
      return entry->handler.chain(cpu, entry->insn);
    }
  return chained<ret64>(cpu, insn);
}

// Jcc compiled for one condition (handlers.h, "specializer"); on
// Path::Fast a condition that needs the flags worked out, or a target that
// would fault, is left to the full handler.
template <unsigned Cond, Path P = Path::Full>
bool jcc_on(Cpu &cpu, const Instruction &insn) {
  bool taken;
  if (!condition_on_path<Cond, P>(cpu.state, taken))
    return false;
  if (!taken)
    return true;
  if constexpr (P == Path::Fast) {
    uint64_t target;
    if (!relative_target(cpu, insn, target))
      return false;
    cpu.next_rip = target;
    return true;
  } else {
    return jump_relative(cpu, insn);
  }
}

// Jcc of 64-bit code as threaded code: a condition the last flag record
// gives (condition_at_hand) decides between the next step and
// chain_relative_branch; the others are left to jcc_on<Cond>.
template <unsigned Cond> bool jcc64_chain(Cpu &cpu, const Instruction &insn) {
  bool holds;
  if (!condition_on_path<Cond, Path::Fast>(cpu.state, holds)) [[unlikely]]
    return chained<jcc_on<Cond>>(cpu, insn);
  if (holds)
    return chain_relative_branch(
        cpu, insn, [&] { return chained<jcc_on<Cond>>(cpu, insn); });
  const Step &next = reinterpret_cast<const Step *>(&insn)[1];
  return next.handler.chain(cpu, next.insn);
}

template <unsigned... Conds>
constexpr std::array<HandlerPair, sizeof...(Conds)>
jcc_handlers(std::integer_sequence<unsigned, Conds...>) {
  return {threaded_with_fast<jcc_on<Conds>, jcc_on<Conds, Path::Fast>>...};
}

template <unsigned... Conds>
constexpr std::array<HandlerPair, sizeof...(Conds)>
jcc64_handlers(std::integer_sequence<unsigned, Conds...>) {
  return {HandlerPair{jcc_on<Conds>, jcc64_chain<Conds>}...};
}

HandlerPair jcc_form(const Instruction &insn) {
  static constexpr auto handlers =
      jcc_handlers(std::make_integer_sequence<unsigned, 16>{});
  static constexpr auto handlers64 =
      jcc64_handlers(std::make_integer_sequence<unsigned, 16>{});
  return (insn.opsize == 8 ? handlers64 : handlers)[insn.cond & 15];
}

} // namespace

void register_branch_ops(HandlerTable &table) {
  table.set(Op::JMP, threaded<jmp>);
  table.set(Op::JMP_INDIRECT, threaded<jmp_indirect>);
  table.set(Op::CALL, threaded<call>);
  table.set(Op::CALL_INDIRECT, threaded<call_indirect>);
  table.set(Op::RET, threaded<ret>);
  table.set(Op::JCC, threaded<jcc>);
  table.set(Op::LOOP, threaded<loop<LoopKind::Always>>);
  table.set(Op::LOOPE, threaded<loop<LoopKind::WhileEqual>>);
  table.set(Op::LOOPNE, threaded<loop<LoopKind::WhileNotEqual>>);
  table.set(Op::JCXZ, threaded<jcxz>);
  table.specialize(Op::JCC, jcc_form);
  table.specialize(Op::JMP, [](const Instruction &insn) {
    return insn.opsize == 8 ? HandlerPair{jmp, jmp64_chain} : HandlerPair{};
  });
  table.specialize(Op::CALL, [](const Instruction &insn) {
    return insn.opsize == 8 ? HandlerPair{call64, call64_chain} : HandlerPair{};
  });
  table.specialize(Op::RET, [](const Instruction &insn) {
    return insn.opsize == 8 && insn.imm == 0 ? HandlerPair{ret64, ret64_chain}
                                             : HandlerPair{};
  });
}

} // namespace sable::cpu
