#include "cpu/block_cache.h"

#include "cpu/cpu.h"
#include "machine/memory.h"

namespace sable::cpu {

Block *BlockCache::find(uint64_t physical, CodeSize mode) {
  std::atomic<Block *> &recent = recent_[recent_slot(physical)];
  Block *block = recent.load(std::memory_order_acquire);
  if (block && block->physical == physical && block->mode == mode &&
      block->valid.load(std::memory_order_relaxed))
    return block;
  std::lock_guard guard(lock_);
  auto at = blocks_.find(key(physical, mode));
  if (at == blocks_.end())
    return nullptr;
  recent.store(at->second.get(), std::memory_order_release);
  return at->second.get();
}

void BlockCache::forget_recent(const Block *block) {
  std::atomic<Block *> &recent = recent_[recent_slot(block->physical)];
  if (recent.load(std::memory_order_relaxed) == block)
    recent.store(nullptr, std::memory_order_relaxed);
}

uint64_t BlockCache::begin_decode(uint64_t physical) {
  const uint64_t ticket = invalidations_.load(std::memory_order_acquire);
  if (memory_)
    memory_->mark_code_page(physical);
  return ticket;
}

Block *BlockCache::insert(std::unique_ptr<Block> &block, uint64_t ticket) {
  std::lock_guard guard(lock_);
  if (invalidations_.load(std::memory_order_relaxed) != ticket)
    return nullptr;
  const uint64_t page = block->physical & ~kPageMask;
  const uint64_t k = key(block->physical, block->mode);
  page_blocks_[page].push_back(k);
  if (block->continuation_page != Block::kNoContinuation)
    page_blocks_[block->continuation_page].push_back(k);
  Block *raw = block.get();
  std::unique_ptr<Block> &slot = blocks_[k];
  if (slot) {
    // The block replaced (the same bytes reached with another continuation
    // page) may still be referenced through another linear address:
    // counting it as an invalidation makes the vCPU forget those.
    invalidations_.fetch_add(1, std::memory_order_relaxed);
    slot->valid.store(false, std::memory_order_relaxed);
    forget_recent(slot.get());
    retire(std::move(slot));
  }
  slot = std::move(block);
  return raw;
}

// GuestMemory cleared PAGE_HAS_CODE before calling: the page is marked
// again by the next begin_decode, on whichever vCPU.
void BlockCache::invalidate_page(uint64_t physical) {
  std::lock_guard guard(lock_);
  invalidations_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t page = physical & ~kPageMask;
  auto listed = page_blocks_.find(page);
  if (listed == page_blocks_.end())
    return;
  for (uint64_t k : listed->second) {
    auto at = blocks_.find(k);
    if (at == blocks_.end())
      continue;
    at->second->valid.store(false, std::memory_order_relaxed);
    forget_recent(at->second.get());
    retire(std::move(at->second));
    blocks_.erase(at);
  }
  page_blocks_.erase(listed);
}

void BlockCache::retire(std::unique_ptr<Block> block) {
  retired_.push_back(std::move(block));
  has_retired_.store(true, std::memory_order_release);
}

void BlockCache::free_retired() {
  std::lock_guard guard(lock_);
  retired_.clear();
  has_retired_.store(false, std::memory_order_relaxed);
}

void BlockCache::follow_layout(uint64_t generation) {
  clear();
  layout_generation_ = generation;
}

void BlockCache::clear() {
  std::lock_guard guard(lock_);
  for (auto &[key, block] : blocks_) {
    block->valid.store(false, std::memory_order_relaxed);
    retire(std::move(block));
  }
  for (std::atomic<Block *> &recent : recent_)
    recent.store(nullptr, std::memory_order_relaxed);
  blocks_.clear();
  // Other vCPUs may still hold code on these pages, so their
  // PAGE_HAS_CODE stays: a store to one costs a needless invalidation.
  page_blocks_.clear();
  invalidations_.fetch_add(1, std::memory_order_relaxed);
}

void Cpu::invalidate_code(uint64_t gpa) {
  blocks_->invalidate_page(gpa);
}

} // namespace sable::cpu
