#pragma once
// Software TLB: a direct-mapped cache of linear-page translations, each
// tagged with the accesses the page walk allowed, so the common access is
// one index, one compare and a memcpy through the host pointer.

#include <cstdint>

namespace sable::cpu {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPageMask = kPageSize - 1;

// A 48-bit linear address sign-extended to 64 bits.
inline bool is_canonical(uint64_t address) {
  return static_cast<uint64_t>(static_cast<int64_t>(address << 16) >> 16) ==
         address;
}

// Who performs an access, as paging distinguishes it. SMAP makes explicit
// supervisor accesses with RFLAGS.AC set a class of their own.
enum class Privilege : uint8_t {
  User = 0,
  Supervisor = 1,   // implicit system accesses, or SMAP without AC
  SupervisorAc = 2, // explicit supervisor access with RFLAGS.AC = 1
};

// Bit for (access, privilege) in TlbEntry::allowed; access is Read = 0,
// Write = 1, Execute = 2 as in cpu::Access.
constexpr uint16_t tlb_permission(unsigned access, Privilege privilege) {
  return uint16_t(1u << (static_cast<unsigned>(privilege) * 3 + access));
}

// Bit in TlbEntry::allowed for an access Cpu::host_in_tlb may do through
// the host pointer (Read or Write only): set beside tlb_permission(access,
// privilege) when the page has host_read for reads, host_write for
// stores, so that a read through it needs no null test.
constexpr uint16_t tlb_direct_permission(unsigned access, Privilege privilege) {
  return uint16_t(1u << (9 + static_cast<unsigned>(privilege) * 2 + access));
}

// One cache line each, with what an access checks first, so that a lookup
// touches one line.
struct alignas(64) TlbEntry {
  static constexpr uint64_t kInvalid = ~uint64_t{0};

  uint64_t linear_page = kInvalid; // linear address & ~kPageMask
  // Host memory of the whole page: reads use host_read (RAM or ROM),
  // stores host_write (RAM only); null sends the access to GuestMemory.
  uint8_t *host_read = nullptr;
  uint8_t *host_write = nullptr;
  // The memory's store_tracking_epoch() (read before the page flags were)
  // when the page was found already dirty and without decoded code: while
  // the epoch stays the same, a store through host_write needs no
  // GuestMemory::note_store. kTracked, which no epoch reaches, otherwise.
  static constexpr uint64_t kTracked = ~uint64_t{0};
  uint64_t untracked_epoch = kTracked;
  bool global = false;
  // tlb_permission and tlb_direct_permission bits; writes only once D is
  // set.
  uint16_t allowed = 0;
  // Offset mask of the page that produced the translation (0xfff, or
  // 0x1fffff and up for large pages cached as 4 KiB fragments).
  uint32_t mapping_mask = 0xfff;
  uint64_t physical_page = 0; // after the A20 mask

  bool skips_store_tracking(uint64_t current_epoch) const {
    return untracked_epoch == current_epoch;
  }
};

class Tlb {
public:
  static constexpr unsigned kEntries = 1024;

  TlbEntry &slot(uint64_t linear) {
    return entries_[(linear >> 12) & (kEntries - 1)];
  }
  // The entry for `linear` if it allows the access, else null.
  TlbEntry *lookup(uint64_t linear, unsigned access, Privilege privilege) {
    return lookup_permitted(linear, tlb_permission(access, privilege));
  }

  // lookup() with the permission bit already worked out.
  TlbEntry *lookup_permitted(uint64_t linear, uint16_t permission) {
    TlbEntry &entry = slot(linear);
    if (entry.linear_page != (linear & ~kPageMask) ||
        !(entry.allowed & permission))
      return nullptr;
    return &entry;
  }

  // Returns where the entry went. A non-canonical linear page (as a
  // fetch running into one may translate) goes to a scratch entry that no
  // lookup finds: Cpu::prepared_host relies on every tag being canonical.
  TlbEntry &insert(const TlbEntry &entry) {
    const uint64_t page = entry.linear_page;
    if (!is_canonical(page)) {
      uncached_ = entry;
      return uncached_;
    }
    TlbEntry &stored = slot(page) = entry;
    if (entry.mapping_mask != kPageMask)
      holds_large_pages_ = true;
    return stored;
  }
  void flush(bool include_global) {
    ++flushes;
    for (TlbEntry &entry : entries_)
      if (include_global || !entry.global)
        entry = TlbEntry{};
    if (include_global)
      holds_large_pages_ = false;
  }
  // INVLPG: drops the translation of `linear` whether or not it is global,
  // with every cached fragment of the large page it may belong to.
  void flush_page(uint64_t linear) {
    ++flushes;
    TlbEntry &entry = slot(linear);
    if (entry.linear_page == (linear & ~kPageMask))
      entry = TlbEntry{};
    if (!holds_large_pages_)
      return;
    for (TlbEntry &other : entries_)
      if (other.linear_page != TlbEntry::kInvalid &&
          ((other.linear_page ^ linear) & ~uint64_t{other.mapping_mask}) == 0)
        other = TlbEntry{};
  }
  // PAE paging keeps the four PDPTEs loaded at the last CR3 write (or at
  // the CR0/CR4 write that enabled PAE paging).
  uint64_t pdpte[4] = {};
  bool pdptes_loaded = false;

  // What the cached translations were computed against; a change of either
  // flushes everything (see Cpu::run).
  uint64_t memory_generation = 0;
  // Counts flushes: a translation seen before an unchanged count holds.
  uint64_t flushes = 0;
  uint64_t a20_mask = ~uint64_t{0};

private:
  TlbEntry entries_[kEntries];
  TlbEntry uncached_;
  bool holds_large_pages_ = false;
};

} // namespace sable::cpu
