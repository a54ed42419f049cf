#pragma once
// Decoded basic blocks, keyed by the physical address of their first byte
// and the code size they were decoded for. A block never crosses a page,
// so a store into a page invalidates exactly the blocks of that page.
//
// Each vCPU has a cache of its own: only its thread looks blocks up, runs
// them and frees retired ones, while stores from any thread invalidate
// (every vCPU's cache registers a code-write handler with GuestMemory). So
// a retired block is never freed under another vCPU, and lookups do not
// contend; the price is decoding shared code once per vCPU.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "cpu/flags.h"
#include "cpu/instruction.h"
#include "cpu/ops/handlers.h"

namespace sable {
class GuestMemory;
}

namespace sable::cpu {

// One decoded instruction of a block with its handlers, looked up once at
// decode time. The instruction comes first: a chained handler finds the
// step after its own from the address of its instruction (cpu/ops/chain.h).
struct Step {
  Instruction insn;
  HandlerPair handler;
};
static_assert(std::is_standard_layout_v<Step>);

bool end_of_chain(Cpu &cpu, const Instruction &insn);

struct Block;

// Where a block went on to, by the RIP it left for (Block::links). It holds
// while the vCPU's context generation is the one it records (see
// Cpu::run). `entry` is the next block's first step when threaded code may
// run it without CS checks (Block::needs_cs_checks), else null.
struct BlockLink {
  uint64_t rip = 0;
  uint64_t generation = 0;
  Block *block = nullptr;
  const Step *entry = nullptr;
};

// What the run loop reads of a block on every pass comes first, the links
// right after: a step from block to block should touch few cache lines.
struct Block {
  // Cleared when a store hits the block's page; the run loop stops
  // executing the block at the next instruction boundary.
  std::atomic<bool> valid{true};
  // The last instruction leaves CS, CPL, the code size and the segment
  // registers unchanged (a near branch, for instance).
  bool keeps_context = false;
  CodeSize mode = CodeSize::Bits16;
  // Bytes from the first instruction's start to the last one's end.
  unsigned length = 0;
  // The block's instructions, then a step whose chain handler goes on to
  // the next block (end_of_chain). `count` does not include it.
  std::vector<Step> steps;
  unsigned count = 0;

  // The blocks run after this one, by where it ended: at its end (a branch
  // not taken), or elsewhere, as a block runs on past conditional branches
  // and may leave at any of them.
  using Link = BlockLink;
  static constexpr unsigned kTakenLinks = 4;
  Link links[1 + kTakenLinks];
  // The link for leaving, at `rip`, the block entered at `start_rip`. A
  // fall-through that wraps IP takes a slot of the taken links: threaded
  // code never runs such a block (needs_cs_checks), and the link records
  // its RIP anyway.
  Link &link_to(uint64_t rip, uint64_t start_rip) {
    if (rip == start_rip + length)
      return links[0];
    return taken_link(rip);
  }
  // The link for leaving for `rip` by the taken branch `insn`: the first
  // relative branches of a block have a slot each, as their targets are
  // fixed once the block's RIP is, and the last instruction of a block that
  // may change the context leaves by links[0], which never holds for such
  // a block. So run() can tell from the link threaded code left by
  // (Cpu::exit_link_) whether that instruction ran.
  Link &exit_link(const Instruction &insn, uint64_t rip) {
    return insn.exit_link != Instruction::kLinkByTarget ? links[insn.exit_link]
                                                        : taken_link(rip);
  }
  // Whether running the block from `rip` needs the CS checks per
  // instruction: outside 64-bit code, when it reaches past the CS limit,
  // or when IP would wrap inside it (threaded code does not wrap IP).
  bool needs_cs_checks(uint64_t rip, uint64_t cs_limit) const {
    return mode != CodeSize::Bits64 &&
           (rip + length - 1 > cs_limit ||
            rip + length > size_mask(static_cast<unsigned>(mode)));
  }

  uint64_t physical = 0;
  // For a block of one instruction crossing a page: the physical page
  // holding the rest of its bytes.
  static constexpr uint64_t kNoContinuation = ~uint64_t{0};
  uint64_t continuation_page = kNoContinuation;

  // Places `insn` at the block's end: a RIP-relative operand becomes
  // relative to the block's entry RIP (kBlockRip). `select` then gives the
  // handlers for it as placed.
  template <typename Select> void append(Instruction insn, Select &&select) {
    insn.block_offset = static_cast<uint16_t>(length);
    if (insn.base == kRip) {
      insn.base = kBlockRip;
      insn.disp += length;
    }
    if (is_relative_branch(insn.op) && relative_branches_ < kTakenLinks)
      insn.exit_link = static_cast<uint8_t>(1 + relative_branches_++);
    steps.push_back(Step{insn, select(insn)});
    length += insn.length;
    ++count;
  }
  // After the last append.
  void close() {
    Instruction end;
    end.block_offset = static_cast<uint16_t>(length);
    steps.push_back(Step{end, {nullptr, end_of_chain}});
  }
  const Instruction &last() const { return steps[count - 1].insn; }

private:
  static bool is_relative_branch(Op op) {
    switch (op) {
    case Op::JMP:
    case Op::JCC:
    case Op::CALL:
    case Op::LOOP:
    case Op::LOOPE:
    case Op::LOOPNE:
    case Op::JCXZ:
      return true;
    default:
      return false;
    }
  }
  Link &taken_link(uint64_t rip) {
    return links[1 + ((rip ^ (rip >> 6)) & (kTakenLinks - 1))];
  }
  unsigned relative_branches_ = 0;
};

class BlockCache {
public:
  explicit BlockCache(GuestMemory *memory) : memory_(memory) {}

  Block *find(uint64_t physical, CodeSize mode);
  // Before reading the bytes of a block to decode: marks its page
  // PAGE_HAS_CODE, so that later stores invalidate, and returns the ticket
  // for insert().
  uint64_t begin_decode(uint64_t physical);
  // Takes ownership of `block`, unless a page was invalidated since
  // begin_decode returned `ticket` (a store may have changed the bytes
  // while they were decoded): then returns null and leaves the block to
  // the caller, to run once uncached.
  Block *insert(std::unique_ptr<Block> &block, uint64_t ticket);
  // Thread-safe (code-write handler): drops every block of the page.
  // Dropped blocks stay allocated until release_retired(), because the
  // vCPU may be executing one of them.
  void invalidate_page(uint64_t physical);
  // Frees invalidated blocks; only from the vCPU thread between blocks.
  void release_retired() {
    // Called between every two blocks: only call out when there is
    // something to free.
    if (has_retired_.load(std::memory_order_acquire))
      free_retired();
  }
  void clear();
  // Counts invalidations: a block seen before an unchanged count is still
  // cached and allocated.
  uint64_t invalidations() const {
    return invalidations_.load(std::memory_order_acquire);
  }
  // Drops everything when the guest-physical layout changed since the
  // last call (GuestMemory::generation()): a block's bytes may be gone.
  void sync_layout(uint64_t generation) {
    if (generation != layout_generation_)
      follow_layout(generation);
  }

private:
  static uint64_t key(uint64_t physical, CodeSize mode) {
    return (physical << 4) | static_cast<uint64_t>(mode);
  }
  static unsigned recent_slot(uint64_t physical) {
    return (physical ^ (physical >> 12)) & (kRecentEntries - 1);
  }
  void free_retired();
  void follow_layout(uint64_t generation);
  // Drops `block` from the lookup array; under lock_.
  void forget_recent(const Block *block);
  // Keeps an invalidated block alive until release_retired(); under lock_.
  void retire(std::unique_ptr<Block> block);

  GuestMemory *memory_;
  // Direct-mapped array of recently found blocks, read without the lock by
  // the vCPU thread. Entries are cleared (under the lock) before their
  // block is retired, and retired blocks live until release_retired(), so a
  // pointer read here stays valid for the rest of the block.
  static constexpr unsigned kRecentEntries = 4096;
  std::atomic<Block *> recent_[kRecentEntries] = {};
  std::mutex lock_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> page_blocks_;
  std::vector<std::unique_ptr<Block>> retired_;
  std::atomic<bool> has_retired_{false};
  // Counts invalidations, for the tickets of begin_decode.
  std::atomic<uint64_t> invalidations_{0};
  uint64_t layout_generation_ = 0;
};

} // namespace sable::cpu
