// The run loop: events between blocks, then one decoded block (from the
// block cache, or decoded now) executed instruction by instruction.

#include <algorithm>
#include <capstone/capstone.h>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "cpu/block_cache.h"
#include "cpu/cpu.h"
#include "cpu/exceptions.h"
#include "cpu/mmu.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/fused.h"
#include "cpu/ops/handlers.h"
#include "cpu/state_text.h"
#include "machine/irq.h"
#include "machine/log.h"
#include "machine/memory.h"

namespace sable::cpu {

namespace {

// Guests that hit an encoding sable rejects get #UD; -d guest_errors shows
// the bytes, which tells an unimplemented instruction from a guest bug.
void log_invalid_encoding(uint64_t linear, const uint8_t *bytes,
                          unsigned length) {
  if (!log_enabled(LOG_GUEST_ERRORS))
    return;
  std::string text;
  char hex[4];
  for (unsigned i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, " %02x", bytes[i]);
    text += hex;
  }
  log_write("invalid opcode at linear 0x%llx:%s\n",
            static_cast<unsigned long long>(linear), text.c_str());
}

constexpr unsigned kMaxBlockInstructions = 64;
// Blocks one run of threaded code may chain before returning to run(),
// which bounds the host stack should a jump not compile to a tail call.
constexpr uint64_t kMaxChainedBlocks = 64;
constexpr unsigned kMaxInstructionLength = 15;

// POP SS opens an interrupt shadow and POP ES/DS/FS/GS change state a
// block may depend on; the op table cannot tell them from POP r/m.
bool ends_block(const Instruction &insn) {
  // Reading a segment register changes nothing a block rests on.
  if (insn.op == Op::MOV_SEG)
    return insn.operands[0].kind == OperandKind::Seg;
  return op_ends_block(insn.op) ||
         (insn.op == Op::POP && insn.operands[0].kind == OperandKind::Seg);
}

uint64_t wrap_ip(uint64_t ip, CodeSize mode) {
  switch (mode) {
  case CodeSize::Bits16:
    return ip & 0xffff;
  case CodeSize::Bits32:
    return ip & 0xffffffff;
  default:
    return ip;
  }
}

// The linear address of the page after the one holding `linear`.
uint64_t continuation_linear(uint64_t linear, CodeSize mode) {
  const uint64_t next = (linear | kPageMask) + 1;
  return mode == CodeSize::Bits64 ? next : next & 0xffffffff;
}

// Addresses are linear, as the fetch saw them.
void log_disassembly(const CpuState &s, uint64_t linear, const uint8_t *bytes,
                     size_t size) {
  csh handle;
  cs_mode mode = s.code_size() == CodeSize::Bits64   ? CS_MODE_64
                 : s.code_size() == CodeSize::Bits32 ? CS_MODE_32
                                                     : CS_MODE_16;
  if (cs_open(CS_ARCH_X86, mode, &handle) != CS_ERR_OK)
    return;
  cs_insn *insns = nullptr;
  size_t count = cs_disasm(handle, bytes, size, linear, 0, &insns);
  log_write("IN: %04x:%016" PRIx64 "\n", s.seg[CS].selector, s.rip);
  for (size_t i = 0; i < count; ++i)
    log_write("0x%016" PRIx64 ":  %s %s\n", insns[i].address, insns[i].mnemonic,
              insns[i].op_str);
  log_write("\n");
  cs_free(insns, count);
  cs_close(&handle);
}

void log_registers(Cpu &cpu) {
  cpu.rflags(); // folds the lazy arithmetic flags into state.rflags
  log_write("%s", describe_registers(cpu.state).c_str());
}

// Delivers an NMI or an external interrupt when one may be taken; false on
// a triple fault. `pending_flag` is the controller's pending_flag().
bool take_events(Cpu &cpu, const std::atomic<bool> *pending_flag) {
  CpuState &s = cpu.state;
  if (s.interrupt_shadow)
    return true;
  if (s.nmi_pending && !s.nmi_blocked) {
    cpu.forget_context();
    return deliver_nmi(cpu);
  }
  if ((s.rflags & IF) && cpu.env.interrupts &&
      (pending_flag ? pending_flag->load(std::memory_order_acquire)
                    : cpu.env.interrupts->interrupt_pending())) {
    cpu.forget_context();
    return deliver_external_interrupt(
        cpu, cpu.env.interrupts->acknowledge_interrupt());
  }
  return true;
}

// Whether a block ending in `insn` leaves CS, CPL, the code size and the
// segment registers as they were: near branches, string and port I/O do.
bool keeps_context(const Instruction &insn) {
  if (!ends_block(insn))
    return true;
  switch (insn.op) {
  case Op::JMP:
  case Op::JMP_INDIRECT:
  case Op::CALL:
  case Op::CALL_INDIRECT:
  case Op::RET:
  case Op::LOOP:
  case Op::LOOPE:
  case Op::LOOPNE:
  case Op::JCXZ:
  case Op::MOVS:
  case Op::CMPS:
  case Op::STOS:
  case Op::LODS:
  case Op::SCAS:
  case Op::INS:
  case Op::OUTS:
  case Op::IN:
  case Op::OUT:
    return true;
  default:
    return false;
  }
}

// Decodes the block starting at CS:RIP, which `entry` translates. Returns
// null with a fault recorded when fetching an instruction's second page
// faults. `cacheable` is false for code outside RAM/ROM and for an
// instruction crossing a page, whose bytes depend on two translations.
std::unique_ptr<Block> decode_block(Cpu &cpu, const TlbEntry &entry,
                                    uint64_t linear, bool &cacheable) {
  const HandlerTable &table = handler_table();
  const CpuState &s = cpu.state;
  const CodeSize mode = s.code_size();
  const unsigned start = linear & kPageMask;
  auto block = std::make_unique<Block>();
  block->physical = entry.physical_page + start;
  block->mode = mode;

  uint8_t copy[kPageSize];
  const uint8_t *page = entry.host_read;
  cacheable = page != nullptr;
  unsigned max_instructions = kMaxBlockInstructions;
  if (!page) {
    // Code in device memory (a flash chip): fetch just one instruction's
    // worth, as reads may have side effects.
    cpu.env.memory->read(
        block->physical, copy + start,
        std::min(kPageSize - start, uint64_t{kMaxInstructionLength}));
    page = copy;
    max_instructions = 1;
  }
  unsigned offset = start;
  while (block->count < max_instructions) {
    const unsigned available = kPageSize - offset;
    Instruction insn;
    DecodeStatus status = decode(
        page + offset, std::min(available, kMaxInstructionLength), mode, insn);
    if (status == DecodeStatus::Truncated) {
      // An instruction crossing into the next page is a block of its own,
      // cached with the physical page of its continuation: a store to
      // either page invalidates it, and a lookup checks that the next
      // linear page still maps there (Cpu::fetch_block).
      if (block->count != 0)
        break;
      uint8_t bytes[kMaxInstructionLength];
      std::memcpy(bytes, page + offset, available);
      const uint64_t next_page = continuation_linear(linear, mode);
      const Privilege privilege =
          s.cpl() == 3 ? Privilege::User : Privilege::Supervisor;
      const TlbEntry *next =
          tlb_entry(cpu, next_page, Access::Execute, privilege);
      if (!next)
        return nullptr;
      if (next->host_read) {
        block->continuation_page = next->physical_page;
        cpu.env.memory->mark_code_page(next->physical_page);
      } else {
        cacheable = false;
      }
      if (!access_linear(cpu, next_page, bytes + available,
                         kMaxInstructionLength - available, Access::Execute,
                         privilege))
        return nullptr;
      decode(bytes, kMaxInstructionLength, mode, insn);
      block->append(insn, [&](const Instruction &placed) {
        return table.select(placed);
      });
      break;
    }
    block->append(
        insn, [&](const Instruction &placed) { return table.select(placed); });
    if (status == DecodeStatus::Invalid)
      log_invalid_encoding(linear + (offset - start), page + offset,
                           std::min(available, kMaxInstructionLength));
    offset += insn.length;
    if (status == DecodeStatus::Invalid || ends_block(insn) ||
        offset >= kPageSize)
      break;
  }
  for (unsigned i = 0; i + 1 < block->count; ++i)
    if (Handler fused =
            fused_chain(block->steps[i].insn, block->steps[i + 1].insn))
      block->steps[i].handler.chain = fused;
  block->close();
  block->keeps_context = keeps_context(block->last());
  if (!block->keeps_context)
    block->steps[block->count - 1].insn.exit_link = 0;
  if (log_enabled(LOG_IN_ASM))
    log_disassembly(s, linear, page + start,
                    std::min<size_t>(block->length, kPageSize - start));
  return block;
}

} // namespace

bool end_of_chain(Cpu &cpu, const Instruction &insn) {
  return cpu.chain_to(cpu.running_block->links[0],
                      rip_in_block(cpu.state, insn));
}

StopReason Cpu::stepped() {
  debug_hit = DebugEvent{};
  debug_hit.kind = DebugEvent::Kind::Step;
  debug_hit.vcpu = env.index;
  return StopReason::Debug;
}

bool Cpu::at_breakpoint() {
  const CpuState &s = state;
  uint64_t linear = s.seg[CS].base + s.rip;
  if (s.code_size() != CodeSize::Bits64)
    linear &= 0xffffffffull;
  auto hit = [&](const std::vector<uint64_t> &list, DebugEvent::Kind kind) {
    for (uint64_t address : list)
      if (address == linear) {
        debug_hit = DebugEvent{};
        debug_hit.kind = kind;
        debug_hit.vcpu = env.index;
        return true;
      }
    return false;
  };
  return hit(debug->breakpoints, DebugEvent::Kind::Breakpoint) ||
         hit(debug->hw_breakpoints, DebugEvent::Kind::HwBreakpoint);
}

void Cpu::check_watchpoints(uint64_t linear, unsigned size, Access access) {
  if (access == Access::Execute)
    return;
  const WatchKind kind =
      access == Access::Write ? WatchKind::Write : WatchKind::Read;
  for (const Watchpoint &watch : debug->watchpoints) {
    if (!(static_cast<unsigned>(watch.kind) & static_cast<unsigned>(kind)))
      continue;
    if (linear + size <= watch.address ||
        linear >= watch.address + watch.length)
      continue;
    if (watch_triggered)
      return;
    watch_triggered = true;
    debug_hit = DebugEvent{};
    debug_hit.kind = DebugEvent::Kind::Watchpoint;
    debug_hit.vcpu = env.index;
    debug_hit.address = std::max(linear, watch.address);
    debug_hit.watch = watch.kind;
    return;
  }
}

void Cpu::request_exit() {
  exit_requested_.store(true, std::memory_order_release);
}

void Cpu::forget_context() {
  forget_fast_access();
  context_unchecked_ = true;
}

void Cpu::forget_fast_access() {
  fast_.ready = 0;
  fast_.flat = false;
  fast_.read_permission = fast_.write_permission = 0;
}

Block *Cpu::fetch_block(std::unique_ptr<Block> &uncached) {
  CpuState &s = state;
  JumpEntry &jump = jump_cache_[(s.rip ^ (s.rip >> 12)) & (kJumpEntries - 1)];
  if (jump.generation == context_generation_ && jump.rip == s.rip)
    return jump.block;

  // CS checks and the execute permission of the MMU.
  const Privilege privilege =
      s.cpl() == 3 ? Privilege::User : Privilege::Supervisor;
  uint64_t linear = 0;
  TlbEntry *entry = nullptr;
  if (plain_linear(CS, s.rip, 1, Access::Execute, linear) ||
      segment_linear(*this, CS, s.rip, 1, Access::Execute, linear))
    entry = tlb_entry(*this, linear, Access::Execute, privilege);
  if (!entry)
    return nullptr;
  const CodeSize mode = s.code_size();
  const uint64_t physical = entry->physical_page | (linear & kPageMask);
  Block *block = entry->host_read ? blocks_->find(physical, mode) : nullptr;
  if (block && block->continuation_page != Block::kNoContinuation) {
    const TlbEntry *next = tlb_entry(*this, continuation_linear(linear, mode),
                                     Access::Execute, privilege);
    if (!next)
      return nullptr;
    if (next->physical_page != block->continuation_page)
      block = nullptr;
  }
  if (!block) {
    bool cacheable = false;
    const TlbEntry fetched = *entry;
    const uint64_t ticket = blocks_->begin_decode(physical);
    std::unique_ptr<Block> decoded =
        decode_block(*this, fetched, linear, cacheable);
    if (!decoded)
      return nullptr;
    if (cacheable)
      block = blocks_->insert(decoded, ticket);
    if (!block) {
      uncached = std::move(decoded);
      return uncached.get();
    }
  }
  jump = JumpEntry{s.rip, context_generation_, block};
  return block;
}

StopReason Cpu::run(uint64_t max_blocks) {
  // The debugger changes these only while the vCPU is stopped.
  const bool debugging = debug != nullptr || single_step;
  CpuState &s = state;
  // Fast accesses are valid only inside this loop: outside it, anyone may
  // change the state they were derived from. The jump cache and links
  // stay while the context they rest on is what this loop left (see
  // context_unchecked_).
  struct ContextScope {
    Cpu &cpu;
    explicit ContextScope(Cpu &c) : cpu(c) {
      cpu.forget_context();
      cpu.fast_.enabled = true;
    }
    ~ContextScope() {
      cpu.fast_.enabled = false;
      cpu.forget_fast_access();
    }
  } context_scope(*this);
  pending_flag_ = env.interrupts ? env.interrupts->pending_flag() : nullptr;
  Block::Link *link = nullptr;
  uint64_t link_generation = 0;
  for (uint64_t done = 0; done < max_blocks; ++done) {
    // A plain load first: the exchange is a locked instruction.
    if (exit_requested_.load(std::memory_order_relaxed) &&
        exit_requested_.exchange(false, std::memory_order_acq_rel))
      return StopReason::ExitRequested;
    blocks_->release_retired();
    blocks_->sync_layout(env.memory->generation());
    if (tlb.memory_generation != env.memory->generation() ||
        tlb.a20_mask != s.a20_mask)
      flush_tlb(true);
    // The jump cache maps RIP to blocks through the TLB's translations and
    // the blocks still cached; after the retired blocks are freed above, a
    // block invalidated since is noticed here.
    const uint64_t invalidations = blocks_->invalidations();
    if (tlb.flushes != seen_tlb_flushes_ ||
        invalidations != seen_invalidations_) {
      seen_tlb_flushes_ = tlb.flushes;
      seen_invalidations_ = invalidations;
      ++context_generation_;
    }
    // A single step holds interrupts off (QEMU's SSTEP_NOIRQ), except to
    // wake a halted vCPU, which would otherwise never get its step done.
    if ((!single_step || s.halted) && !take_events(*this, pending_flag_))
      return StopReason::Shutdown;
    if (s.halted)
      return StopReason::Halted;
    if (context_unchecked_) {
      context_unchecked_ = false;
      if (const ContextKey key = context_key(); !(key == context_)) {
        context_ = key;
        ++context_generation_;
      }
    }

    // The previous block's link: valid while the generation it was read
    // in lasts, which also keeps the previous block allocated.
    std::unique_ptr<Block> uncached;
    Block *block = nullptr;
    const bool linkable = link && link_generation == context_generation_;
    if (linkable && link->generation == context_generation_ &&
        link->rip == s.rip) {
      block = link->block;
    } else {
      block = fetch_block(uncached);
      if (!block) {
        if (!deliver_pending_fault())
          return StopReason::Shutdown;
        if (single_step)
          return stepped();
        link = nullptr;
        continue;
      }
      if (linkable && !uncached)
        *link = Block::Link{s.rip, context_generation_, block,
                            block->needs_cs_checks(s.rip, s.seg[CS].limit)
                                ? nullptr
                                : block->steps.data()};
    }
    link = nullptr;
    running_block = block;
    s.block_rip = s.rip;

    if (log_enabled(LOG_EXEC | LOG_CPU)) [[unlikely]] {
      SABLE_LOG(LOG_EXEC, "exec: %04x:%016" PRIx64 " [%016" PRIx64 "]\n",
                s.seg[CS].selector, s.rip, block->physical);
      if (log_enabled(LOG_CPU))
        log_registers(*this);
    }

    const CodeSize mode = block->mode;
    // Instructions change CS only as the last of a block, so when the
    // whole block lies inside the limit no instruction needs the check.
    const bool check_limit =
        mode != CodeSize::Bits64 && s.rip + block->length - 1 > s.seg[CS].limit;
    const Step *steps = block->steps.data();
    bool completed = true;
    exit_link_ = nullptr;
    if (!debugging && !block->needs_cs_checks(s.rip, s.seg[CS].limit) &&
        !s.interrupt_shadow) {
      // The common case, as threaded code (cpu/ops/chain.h). Only a
      // block's last instruction can open an interrupt shadow, halt, or
      // change the memory layout (MOV SS, STI, HLT and port I/O end
      // blocks), so the chain checks none of them.
      const uint64_t budget =
          log_enabled(LOG_EXEC | LOG_CPU)
              ? 0
              : std::min(kMaxChainedBlocks, max_blocks - done - 1);
      chain_budget_ = budget;
      const bool chain_completed = steps[0].handler.chain(*this, steps[0].insn);
      done += budget - chain_budget_;
      block = running_block;
      if (!chain_completed) {
        if (!deliver_pending_fault())
          return StopReason::Shutdown;
        completed = false;
      } else if (!block->valid.load(std::memory_order_relaxed)) {
        completed = false; // a store into this block (self-modifying code)
      }
    } else {
      for (size_t i = 0; i < block->count; ++i) {
        const Instruction &insn = steps[i].insn;
        // Breakpoints stop before the instruction; a single step starts
        // with the instruction under it.
        if (debugging && debug && !(i == 0 && single_step) && at_breakpoint())
          return StopReason::Debug;
        if (check_limit && s.rip + insn.length - 1 > s.seg[CS].limit) {
          fault(EXC_GP, 0);
          if (!deliver_pending_fault())
            return StopReason::Shutdown;
          completed = false;
          break;
        }
        const uint64_t fall_through = wrap_ip(s.rip + insn.length, mode);
        next_rip = fall_through;
        const bool shadowed = s.interrupt_shadow;
        if (!steps[i].handler.run(*this, insn)) {
          watch_triggered = false;
          if (!deliver_pending_fault())
            return StopReason::Shutdown;
          if (single_step)
            return stepped();
          completed = false;
          break;
        }
        s.rip = next_rip;
        if (shadowed)
          s.interrupt_shadow = false;
        if (debugging) [[unlikely]] {
          if (watch_triggered) {
            // debug_hit was filled in by check_watchpoints.
            watch_triggered = false;
            return StopReason::Debug;
          }
          if (single_step)
            return stepped();
        }
        if (next_rip != fall_through)
          break; // a conditional branch taken
        // A store into this block (self-modifying code), HLT, or a change
        // of the physical memory layout (PAM, BAR moves) ends it.
        if (!block->valid.load(std::memory_order_relaxed) || s.halted ||
            tlb.memory_generation != env.memory->generation()) {
          completed = false;
          break;
        }
      }
    }
    // Threaded code tells which link it found not to hold, as a relative
    // branch may keep a slot of its own, and a block that may change the
    // context kept it when it left before its last instruction
    // (Block::exit_link).
    const bool left_by_last = !exit_link_ || exit_link_ == &block->links[0];
    if (!completed || (!block->keeps_context && left_by_last)) {
      forget_context();
    } else if (block != uncached.get()) {
      link = exit_link_ ? exit_link_ : &block->link_to(s.rip, s.block_rip);
      link_generation = context_generation_;
    }
  }
  return StopReason::BudgetExhausted;
}

} // namespace sable::cpu
