#pragma once
// Decoded basic blocks, keyed by the physical address of their first byte
// and the code size they were decoded for. A block never crosses a page,
// so a store into a page invalidates exactly the blocks of that page.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cpu/instruction.h"
#include "cpu/ops/handlers.h"

namespace sable {
class GuestMemory;
}

namespace sable::cpu {

struct Block {
  uint64_t physical = 0;
  CodeSize mode = CodeSize::Bits16;
  std::vector<Instruction> instructions;
  // The handler of each instruction, looked up once at decode time.
  std::vector<Handler> handlers;
  // Cleared when a store hits the block's page; the run loop stops
  // executing the block at the next instruction boundary.
  std::atomic<bool> valid{true};
  uint64_t executions = 0;

  // Bytes from the first instruction's start to the last one's end.
  unsigned length = 0;

  void append(const Instruction &insn, Handler handler) {
    instructions.push_back(insn);
    handlers.push_back(handler);
    length += insn.length;
  }
};

class BlockCache {
public:
  explicit BlockCache(GuestMemory *memory) : memory_(memory) {}

  Block *find(uint64_t physical, CodeSize mode);
  // Takes ownership and marks the page PAGE_HAS_CODE. `first_on_page`
  // tells the caller that the page had no code, so the TLB entries that
  // skip store tracking for it must stop doing so.
  Block *insert(std::unique_ptr<Block> block, bool &first_on_page);
  // Thread-safe (code-write handler): drops every block of the page.
  // Dropped blocks stay allocated until release_retired(), because the
  // vCPU may be executing one of them.
  void invalidate_page(uint64_t physical);
  // Frees invalidated blocks; only from the vCPU thread between blocks.
  void release_retired();
  void clear();
  // Drops everything when the guest-physical layout changed since the
  // last call (GuestMemory::generation()): a block's bytes may be gone.
  void sync_layout(uint64_t generation);

private:
  static uint64_t key(uint64_t physical, CodeSize mode) {
    return (physical << 4) | static_cast<uint64_t>(mode);
  }
  static unsigned recent_slot(uint64_t physical) {
    return (physical ^ (physical >> 12)) & (kRecentEntries - 1);
  }
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
  uint64_t layout_generation_ = 0;
};

} // namespace sable::cpu
