#pragma once
// Threaded code. A loop calling each handler from one place makes one
// indirect call whose target the host predicts poorly: the same call site
// jumps to a different handler after almost every guest instruction. A
// chained handler runs its instruction and jumps to the next instruction's
// chained handler itself, so every handler has a jump of its own, predicted
// from the handler before it, as guest code repeats its instruction
// sequences.
//
// RIP is current only where it is read: a handler that never branches and
// never reads RIP leaves it stale (a RIP-relative operand goes through
// CpuState::block_rip, see kBlockRip), and every other handler first sets
// it from block_rip and the instruction's block_offset. So RIP is right
// when a handler faults (the fast variants fall back to a full handler
// that sets it), and whenever the chain returns to run().
//
// The chain covers what Cpu::run's plain loop did: it runs only with no
// debugger, no CS limit check, no interrupt shadow and no IP wraparound
// inside the block (run checks these once per block). After a taken
// branch or the block's last instruction it goes on into the next block
// when Cpu::follow_link finds that nothing run() checks between blocks has
// changed. It returns false after a fault (RIP at the faulting
// instruction, Cpu::running_block the block holding it), true when it
// leaves the rest to run(), or after a store into the running block.
//
// The jumps are tail calls, which the compiler makes when it can; where it
// cannot, the host stack grows by one frame per instruction, at most
// kMaxBlockInstructions for each of the chain's blocks, which follow_link
// bounds.

#include <atomic>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

// Where `insn` of the running block starts; threaded code leaves
// CpuState::rip stale.
inline uint64_t rip_in_block(const CpuState &s, const Instruction &insn) {
  return s.block_rip + insn.block_offset;
}

// Inline in every chained handler, so that each has its own jump into the
// next block too, predicted from where the block left.
[[gnu::always_inline]] inline const Step *Cpu::follow_link(Block::Link &link,
                                                           uint64_t rip) {
  // What run() looks at between blocks waits for it: the budget brings
  // the chain back to run() after at most kMaxChainedBlocks blocks, which
  // bounds how late an exit request or an interrupt is taken. Events: IF
  // changes, interrupt shadows and halts come only with instructions that
  // do not keep the context, after which no link holds (run() records
  // links only for blocks that keep it), and NMIs and A20 changes reach
  // the vCPU between run() calls. A TLB flush advances the context
  // generation. Blocks invalidated since run() stay allocated until it
  // frees them, so the next block's own flag tells whether it is still
  // cached. Only a change of the memory layout must stop the chain at
  // once: the next block's bytes may be gone. A link that holds was
  // recorded when `rip` was fetched, so `rip` is canonical.
  const Step *entry = link.entry;
  if (chain_budget_ == 0 || env.memory->generation() != tlb.memory_generation ||
      link.generation != context_generation_ || link.rip != rip || !entry ||
      !link.block->valid.load(std::memory_order_relaxed)) {
    exit_link_ = &link;
    return nullptr;
  }
  --chain_budget_;
  running_block = link.block;
  state.block_rip = rip;
  return entry;
}

[[gnu::always_inline]] inline bool Cpu::chain_to(Block::Link &link,
                                                 uint64_t rip) {
  if (const Step *entry = follow_link(link, rip))
    return entry->handler.chain(*this, entry->insn);
  state.rip = rip;
  return true;
}

// `Fast`, when given, is H on Path::Fast (cpu/ops/forms.h): it either does
// all of H's work or none of it, and then H runs (through chained<H>). Never
// inlined: a fast variant's fallback to H must stay a jump, or the fallback's
// calls would give the fast variant a stack frame. `Sequential`: Fast (or,
// without Fast, H) never branches and never reads RIP or Cpu::next_rip,
// which are then left stale (every handler that reads them runs after
// setting them).
template <Handler H, Handler Fast = nullptr, bool Sequential = false>
[[gnu::noinline]] bool chained(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  if constexpr (Sequential) {
    if constexpr (Fast != nullptr) {
      if (!Fast(cpu, insn)) [[unlikely]]
        return chained<H>(cpu, insn);
    } else if (!H(cpu, insn)) [[unlikely]] {
      s.rip = rip_in_block(s, insn);
      return false;
    }
    const Step &next = reinterpret_cast<const Step *>(&insn)[1];
    return next.handler.chain(cpu, next.insn);
  }
  s.rip = rip_in_block(s, insn);
  const uint64_t fall_through = s.rip + insn.length;
  cpu.next_rip = fall_through;
  if constexpr (Fast != nullptr) {
    if (!Fast(cpu, insn)) [[unlikely]]
      return chained<H>(cpu, insn);
  } else if (!H(cpu, insn)) [[unlikely]] {
    return false;
  }
  s.rip = cpu.next_rip;
  if (cpu.next_rip != fall_through)
    return cpu.chain_to(cpu.running_block->exit_link(insn, s.rip), s.rip);
  // A store by the fast path goes only to a page without decoded code
  // (Cpu::prepared_host), so it cannot have hit the running block.
  if (Fast == nullptr &&
      !cpu.running_block->valid.load(std::memory_order_relaxed))
    return true;
  const Step &next = reinterpret_cast<const Step *>(&insn)[1];
  return next.handler.chain(cpu, next.insn);
}

// A relative branch of 64-bit code (operand size 8) taken, as threaded
// code: into the next block when the link for its target holds (which
// proves the target canonical, Cpu::follow_link); else back to run() with
// RIP at a canonical target, or to `faulting()`, the branch's threaded
// code that sets RIP and raises #GP (a callable, so that nothing of it is
// worked out on the way to the link).
template <typename Faulting>
[[gnu::always_inline]] inline bool
chain_relative_branch(Cpu &cpu, const Instruction &branch,
                      Faulting &&faulting) {
  const uint64_t target =
      rip_in_block(cpu.state, branch) + branch.length + branch.imm;
  if (const Step *entry =
          cpu.follow_link(cpu.running_block->exit_link(branch, target), target))
    return entry->handler.chain(cpu, entry->insn);
  if (!is_canonical(target)) [[unlikely]]
    return faulting();
  cpu.state.rip = target;
  return true;
}

// A handler with its chained form, for HandlerTable::set and specializers.
template <Handler H> inline constexpr HandlerPair threaded{H, chained<H>};
// The same for a handler with a Path::Fast variant (cpu/ops/forms.h).
template <Handler H, Handler Fast>
inline constexpr HandlerPair threaded_with_fast{H, chained<H, Fast>};
// The same when the fast variant never branches nor reads next_rip.
template <Handler H, Handler Fast>
inline constexpr HandlerPair threaded_sequential{H, chained<H, Fast, true>};
// A handler working on registers alone: it never faults, branches, stores
// or reads next_rip.
template <Handler H>
inline constexpr HandlerPair threaded_on_registers{H,
                                                   chained<H, nullptr, true>};

} // namespace sable::cpu
