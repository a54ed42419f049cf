#pragma once
// Guest-physical address space: RAM (one anonymous mmap per region, so KVM
// can register the very same host memory), ROM, and MMIO holes dispatched
// to the MmioBus. Regions added later overlay earlier ones; a flat view of
// non-overlapping segments is recomputed whenever the layout changes.
//
// Threads: the layout changes under the machine lock (devices, setup) while
// vCPU threads keep reading it without a lock, so every flat view stays
// allocated until the GuestMemory goes, and the host memory of a region a
// device removes at run time is the device's. Page flags are atomics.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sable {

class MmioBus;

class GuestMemory {
public:
  enum class Kind { Ram, Rom, Mmio };

  struct Segment {
    uint64_t base;
    uint64_t length;
    Kind kind;
    uint8_t *host; // first byte of the segment; null for MMIO
  };

  // Per-page flags for the software engine's store path: one byte load
  // tells whether a store needs the slow path.
  enum PageFlag : uint8_t {
    PAGE_DIRTY = 1,    // written since the last dirty-log sync
    PAGE_HAS_CODE = 2, // holds decoded or translated guest code
  };
  // Identifies a code-write handler for remove_code_write_handler.
  using HandlerId = unsigned;

  explicit GuestMemory(MmioBus &mmio);
  ~GuestMemory();
  GuestMemory(const GuestMemory &) = delete;
  GuestMemory &operator=(const GuestMemory &) = delete;

  // Throws std::runtime_error when the host refuses the memory.
  uint8_t *add_ram(const std::string &name, uint64_t base, uint64_t size);
  // ROM: the guest reads the content, its writes are dropped.
  uint8_t *add_rom(const std::string &name, uint64_t base,
                   const std::vector<uint8_t> &content);
  void add_mmio(const std::string &name, uint64_t base, uint64_t size);
  // RAM backed by host memory the caller owns and keeps alive while it is
  // mapped (a device's VRAM behind a PCI BAR); remove_region leaves that
  // memory alone. Not counted in ram_size().
  void add_device_ram(const std::string &name, uint64_t base, uint64_t size,
                      uint8_t *host);
  // Maps the host memory of an existing region again at another guest
  // address (PAM shadowing, the BIOS alias below 1 MiB).
  void add_alias(const std::string &name, uint64_t base, uint64_t size,
                 const std::string &target, uint64_t target_offset, Kind kind);
  void remove_region(const std::string &name);

  const Segment *find(uint64_t gpa) const;
  // Host pointer for a RAM page (or a ROM page, when !for_write); null
  // otherwise. Valid to the end of the segment.
  uint8_t *host_pointer(uint64_t gpa, bool for_write) const;

  // Slow path for everything else: splits at segment ends, dispatches MMIO,
  // reads unmapped space as all-ones and drops writes to it and to ROM.
  void read(uint64_t gpa, void *data, size_t size) const;
  void write(uint64_t gpa, const void *data, size_t size);

  const std::vector<Segment> &segments() const {
    return *flat_.load(std::memory_order_acquire);
  }
  uint64_t ram_size() const { return ram_size_; }
  // Bumped on every layout change, so cached translations can notice.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }
  void add_layout_listener(std::function<void()> listener) {
    listeners_.push_back(std::move(listener));
  }

  // Page flags, indexed by guest frame number; frames above both 4 GiB
  // and the highest RAM address have none.
  uint8_t page_flags(uint64_t gpa) const;
  void set_page_flags(uint64_t gpa, uint8_t flags);
  void clear_page_flags(uint64_t gpa, uint8_t flags);
  void mark_dirty(uint64_t gpa, size_t size);
  // Returns whether the page was dirty and clears its dirty bit (which
  // bumps store_tracking_epoch()).
  bool test_and_clear_dirty(uint64_t gpa);
  // Handlers run, on the storing thread, when a store hits a PAGE_HAS_CODE
  // page (one per vCPU block cache). Added and removed only while no vCPU
  // runs.
  HandlerId add_code_write_handler(std::function<void(uint64_t gpa)> handler);
  void remove_code_write_handler(HandlerId id);
  // After a store to RAM through a host pointer (never before it, or a
  // concurrent decoder could read the old bytes after the invalidation):
  // marks the pages dirty; a page with code loses PAGE_HAS_CODE and every
  // code-write handler runs for it.
  void note_store(uint64_t gpa, size_t size);
  // Before the bytes of a code page are decoded: from now on every store
  // to the page reaches the code-write handlers. A page that had no code
  // bumps store_tracking_epoch().
  void mark_code_page(uint64_t gpa);
  // TLB entries that skip note_store for a page (dirty, no code) are only
  // valid while this is the epoch they were made in: a page getting code
  // on any vCPU, or losing its dirty bit, ends them all without reaching
  // into other vCPUs' TLBs.
  uint64_t store_tracking_epoch() const {
    return tracking_epoch_.load(std::memory_order_acquire);
  }

private:
  struct Region {
    std::string name;
    uint64_t base;
    uint64_t size;
    Kind kind;
    uint8_t *host;  // null for MMIO
    bool owns_host; // an mmap to release, not an alias
  };

  void rebuild();
  void grow_page_flags(uint64_t end);
  Region &named(const std::string &name);

  MmioBus &mmio_;
  std::vector<Region> regions_;
  // Every flat view built so far; flat_ points at the newest.
  std::vector<std::unique_ptr<std::vector<Segment>>> views_;
  std::atomic<const std::vector<Segment> *> flat_;
  uint64_t ram_size_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::vector<std::function<void()>> listeners_;
  std::unique_ptr<std::atomic<uint8_t>[]> flags_;
  uint64_t flag_pages_ = 0;
  std::atomic<uint64_t> tracking_epoch_{0};
  std::vector<std::pair<HandlerId, std::function<void(uint64_t)>>>
      code_write_handlers_;
  HandlerId next_handler_id_ = 0;
};

} // namespace sable
