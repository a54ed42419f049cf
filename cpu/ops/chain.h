#pragma once
// Threaded code. The run loop's common case used to call each handler from
// one place, an indirect call whose target the host predicts poorly: the
// same call site jumps to a different handler after almost every guest
// instruction. A chained handler runs its instruction, commits RIP and
// jumps to the next instruction's chained handler itself, so every handler
// has a jump of its own, predicted from the handler before it, as guest code
// repeats its instruction sequences.
//
// The chain covers what Cpu::run's plain loop did: it runs only with no
// debugger, no CS limit check, no interrupt shadow and no IP wraparound
// inside the block (run checks these once per block). It returns false
// after a fault (RIP at the faulting instruction), true after a taken
// branch, a store into the running block, or the block's last instruction.
//
// The jump is a tail call, which the compiler makes when it can; where it
// cannot, the host stack grows by one frame per instruction of the block,
// at most kMaxBlockInstructions.

#include <atomic>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

template <Handler H> bool chained(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  const uint64_t fall_through = s.rip + insn.length;
  cpu.next_rip = fall_through;
  if (!H(cpu, insn)) [[unlikely]]
    return false;
  s.rip = cpu.next_rip;
  if (cpu.next_rip != fall_through ||
      !cpu.running_block->valid.load(std::memory_order_relaxed))
    return true;
  const Step &next = reinterpret_cast<const Step *>(&insn)[1];
  return next.handler.chain(cpu, next.insn);
}

// A handler with its chained form, for HandlerTable::set and specializers.
template <Handler H> inline constexpr HandlerPair threaded{H, chained<H>};

} // namespace sable::cpu
