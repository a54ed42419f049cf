// Guest memory access: segmentation, then paging (none, 32-bit, PAE,
// 4-level) through the software TLB, then RAM by host pointer or the rest
// of the physical address space through GuestMemory.

#include "cpu/mmu.h"

#include "cpu/ops/far_transfer.h"
#include "machine/memory.h"
#include "machine/ram_access.h"

namespace sable::cpu {

namespace {

constexpr uint64_t PTE_PRESENT = 1u << 0;
constexpr uint64_t PTE_WRITABLE = 1u << 1;
constexpr uint64_t PTE_USER = 1u << 2;
constexpr uint64_t PTE_ACCESSED = 1u << 5;
constexpr uint64_t PTE_DIRTY = 1u << 6;
constexpr uint64_t PTE_LARGE = 1u << 7;
constexpr uint64_t PTE_GLOBAL = 1u << 8;
constexpr uint64_t PTE_NO_EXECUTE = uint64_t{1} << 63;

constexpr uint64_t kAddressMask =
    ((uint64_t{1} << kPhysicalAddressBits) - 1) & ~kPageMask;
// Bits 51:MAXPHYADDR of 4-level entries (62:52 are ignored there).
constexpr uint64_t kReserved4Level =
    ((uint64_t{1} << 52) - 1) & ~((uint64_t{1} << kPhysicalAddressBits) - 1);
// Bits 62:MAXPHYADDR of PAE entries.
constexpr uint64_t kReservedPae =
    (uint64_t{1} << 63) - (uint64_t{1} << kPhysicalAddressBits);
// Bits 63:MAXPHYADDR, 8:5 and 2:1 of the PDPTE registers.
constexpr uint64_t kReservedPdpte =
    ~((uint64_t{1} << kPhysicalAddressBits) - 1) | 0x1e6;
// Address bits below a large page's size that must be zero.
constexpr uint64_t kReserved4MiB = 0x3fe000;
constexpr uint64_t kReserved2MiB = 0x1fe000;
constexpr uint64_t kReserved1GiB = 0x3fffe000;

constexpr uint16_t kAllAccesses = 0x1ff;

struct PagingEntry {
  uint64_t address;
  uint64_t value;
};

struct Walk {
  uint64_t physical_page = 0;
  uint32_t mapping_mask = kPageMask;
  bool writable = true;
  bool user = true;
  bool no_execute = false;
  bool global = false;
  PagingEntry entries[4];
  unsigned count = 0;
  unsigned entry_size = 8;
  // A PAE PDPTE comes from the PDPTE registers: it carries no access
  // rights and gets no accessed bit.
  bool first_from_registers = false;
};

uint64_t read_entry(GuestMemory &memory, uint64_t address, unsigned size) {
  uint64_t value = 0;
  if (const uint8_t *host = memory.host_pointer(address, false))
    load_ram(&value, host, size);
  else
    memory.read(address, &value, size);
  return value;
}

// Accessed and dirty bits are set with an atomic OR, as the hardware's
// locked update, so a concurrent guest store to the entry is not lost.
void set_entry_bits(GuestMemory &memory, const PagingEntry &entry,
                    unsigned size, uint64_t bits) {
  if ((entry.value & bits) == bits)
    return;
  if (uint8_t *host = memory.host_pointer(entry.address, true)) {
    if (size == 8)
      __atomic_fetch_or(reinterpret_cast<uint64_t *>(host), bits,
                        __ATOMIC_SEQ_CST);
    else
      __atomic_fetch_or(reinterpret_cast<uint32_t *>(host),
                        static_cast<uint32_t>(bits), __ATOMIC_SEQ_CST);
    memory.note_store(entry.address, size);
    return;
  }
  uint64_t value = entry.value | bits;
  memory.write(entry.address, &value, size);
}

// Walks the paging structures for `linear`. On failure `error` holds the
// P and RSVD bits of the #PF error code.
bool walk(Cpu &cpu, uint64_t linear, Walk &w, uint32_t &error) {
  const CpuState &s = cpu.state;
  GuestMemory &memory = *cpu.env.memory;
  const bool nxe = s.efer & EFER_NXE;
  const uint64_t no_execute_reserved = nxe ? 0 : PTE_NO_EXECUTE;

  auto visit = [&](uint64_t address, uint64_t reserved,
                   uint64_t &entry) -> bool {
    address &= s.a20_mask;
    entry = read_entry(memory, address, w.entry_size);
    if (!(entry & PTE_PRESENT)) {
      error = 0;
      return false;
    }
    if (entry & reserved) {
      error = PF_PRESENT | PF_RESERVED;
      return false;
    }
    w.entries[w.count++] = {address, entry};
    w.writable &= (entry & PTE_WRITABLE) != 0;
    w.user &= (entry & PTE_USER) != 0;
    if (nxe && (entry & PTE_NO_EXECUTE))
      w.no_execute = true;
    return true;
  };
  auto leaf = [&](uint64_t entry, uint64_t frame, uint32_t mapping_mask) {
    w.physical_page = frame;
    w.mapping_mask = mapping_mask;
    w.global = (entry & PTE_GLOBAL) && (s.cr4 & CR4_PGE);
  };

  uint64_t entry;
  if (!(s.cr4 & CR4_PAE)) {
    w.entry_size = 4;
    uint64_t directory = s.cr3 & 0xfffff000;
    if (!visit(directory + ((linear >> 22) & 0x3ff) * 4, 0, entry))
      return false;
    if ((entry & PTE_LARGE) && (s.cr4 & CR4_PSE)) {
      if (entry & kReserved4MiB) {
        error = PF_PRESENT | PF_RESERVED;
        return false;
      }
      leaf(entry, (entry & 0xffc00000) | (linear & 0x3ff000), 0x3fffff);
      return true;
    }
    uint64_t table = entry & 0xfffff000;
    if (!visit(table + ((linear >> 12) & 0x3ff) * 4, 0, entry))
      return false;
    leaf(entry, entry & 0xfffff000, kPageMask);
    return true;
  }

  uint64_t table;
  uint64_t reserved;
  if (s.long_mode_active()) {
    reserved = kReserved4Level | no_execute_reserved;
    if (!visit((s.cr3 & kAddressMask) + ((linear >> 39) & 0x1ff) * 8,
               reserved | PTE_LARGE, entry))
      return false;
    if (!visit((entry & kAddressMask) + ((linear >> 30) & 0x1ff) * 8, reserved,
               entry))
      return false;
    if (entry & PTE_LARGE) {
      if (entry & kReserved1GiB) {
        error = PF_PRESENT | PF_RESERVED;
        return false;
      }
      leaf(entry,
           (entry & kAddressMask & ~uint64_t{0x3fffffff}) |
               (linear & 0x3ffff000),
           0x3fffffff);
      return true;
    }
    table = entry & kAddressMask;
  } else {
    reserved = kReservedPae | no_execute_reserved;
    if (!cpu.tlb.pdptes_loaded && !load_pdptes(cpu, s.cr3)) {
      // Reserved bits in a PDPTE that was not loaded by a CR3 write (state
      // restored from elsewhere) show up as a reserved-bit page fault.
      cpu.pending = {};
      error = PF_PRESENT | PF_RESERVED;
      return false;
    }
    uint64_t pdpte = cpu.tlb.pdpte[(linear >> 30) & 3];
    if (!(pdpte & PTE_PRESENT)) {
      error = 0;
      return false;
    }
    w.first_from_registers = true;
    w.entries[w.count++] = {0, pdpte};
    table = pdpte & kAddressMask;
  }
  if (!visit(table + ((linear >> 21) & 0x1ff) * 8, reserved, entry))
    return false;
  if (entry & PTE_LARGE) {
    if (entry & kReserved2MiB) {
      error = PF_PRESENT | PF_RESERVED;
      return false;
    }
    leaf(entry,
         (entry & kAddressMask & ~uint64_t{0x1fffff}) | (linear & 0x1ff000),
         0x1fffff);
    return true;
  }
  if (!visit((entry & kAddressMask) + ((linear >> 12) & 0x1ff) * 8, reserved,
             entry))
    return false;
  leaf(entry, entry & kAddressMask, kPageMask);
  return true;
}

// Every (access, privilege) pair the translation allows, from the combined
// rights of the walk and CR0.WP, CR4.SMEP, CR4.SMAP.
uint16_t allowed_accesses(const CpuState &s, const Walk &w, bool dirty) {
  const bool write_protect = s.cr0 & CR0_WP;
  const bool smep = s.cr4 & CR4_SMEP;
  const bool smap = s.cr4 & CR4_SMAP;
  uint16_t allowed = 0;
  auto allow = [&](Access access, Privilege privilege, bool ok) {
    if (ok)
      allowed |= tlb_permission(static_cast<unsigned>(access), privilege);
  };
  allow(Access::Read, Privilege::User, w.user);
  allow(Access::Write, Privilege::User, w.user && w.writable && dirty);
  allow(Access::Execute, Privilege::User, w.user && !w.no_execute);
  for (Privilege p : {Privilege::Supervisor, Privilege::SupervisorAc}) {
    bool data = !(smap && w.user && p == Privilege::Supervisor);
    allow(Access::Read, p, data);
    allow(Access::Write, p, data && (w.writable || !write_protect) && dirty);
    allow(Access::Execute, p, !w.no_execute && !(smep && w.user));
  }
  return allowed;
}

void cache_host_pointers(GuestMemory &memory, TlbEntry &entry) {
  const GuestMemory::Segment *segment = memory.find(entry.physical_page);
  if (!segment || !segment->host ||
      entry.physical_page + kPageSize > segment->base + segment->length)
    return;
  entry.host_read = segment->host + (entry.physical_page - segment->base);
  if (segment->kind == GuestMemory::Kind::Ram) {
    entry.host_write = entry.host_read;
    const uint64_t epoch = memory.store_tracking_epoch();
    uint8_t flags = memory.page_flags(entry.physical_page);
    if ((flags & (GuestMemory::PAGE_DIRTY | GuestMemory::PAGE_HAS_CODE)) ==
        GuestMemory::PAGE_DIRTY)
      entry.untracked_epoch = epoch;
  }
  for (Privilege privilege :
       {Privilege::User, Privilege::Supervisor, Privilege::SupervisorAc})
    for (Access access : {Access::Read, Access::Write}) {
      const unsigned a = static_cast<unsigned>(access);
      if ((entry.allowed & tlb_permission(a, privilege)) &&
          (access == Access::Read ? entry.host_read : entry.host_write))
        entry.allowed |= tlb_direct_permission(a, privilege);
    }
}

TlbEntry *fill_tlb(Cpu &cpu, uint64_t linear, Access access,
                   Privilege privilege) {
  CpuState &s = cpu.state;
  GuestMemory &memory = *cpu.env.memory;
  if (cpu.tlb.memory_generation != memory.generation() ||
      cpu.tlb.a20_mask != s.a20_mask)
    cpu.flush_tlb(true);

  TlbEntry filled;
  filled.linear_page = linear & ~kPageMask;
  if (!s.paging()) {
    filled.physical_page = filled.linear_page & s.a20_mask;
    filled.allowed = kAllAccesses;
  } else {
    Walk w;
    uint32_t error = 0;
    bool ok = walk(cpu, linear, w, error);
    uint16_t needed = tlb_permission(static_cast<unsigned>(access), privilege);
    const bool write = access == Access::Write;
    bool dirty =
        write || (w.count && (w.entries[w.count - 1].value & PTE_DIRTY));
    if (ok && !(allowed_accesses(s, w, dirty) & needed)) {
      ok = false;
      error = PF_PRESENT;
    }
    if (!ok) {
      if (write)
        error |= PF_WRITE;
      if (privilege == Privilege::User)
        error |= PF_USER;
      if (access == Access::Execute &&
          ((s.efer & EFER_NXE) || (s.cr4 & CR4_SMEP)))
        error |= PF_FETCH;
      s.cr2 = linear;
      cpu.fault(EXC_PF, error);
      return nullptr;
    }
    for (unsigned i = w.first_from_registers ? 1 : 0; i < w.count; ++i)
      set_entry_bits(memory, w.entries[i], w.entry_size,
                     PTE_ACCESSED |
                         (write && i == w.count - 1 ? PTE_DIRTY : 0));
    filled.physical_page = w.physical_page & s.a20_mask;
    filled.allowed = allowed_accesses(s, w, dirty);
    filled.global = w.global;
    filled.mapping_mask = w.mapping_mask;
  }
  cache_host_pointers(memory, filled);
  return &cpu.tlb.insert(filled);
}

void copy_from_page(Cpu &cpu, const TlbEntry &entry, uint64_t offset,
                    void *data, unsigned size) {
  if (entry.host_read)
    load_ram(data, entry.host_read + offset, size);
  else
    cpu.env.memory->read(entry.physical_page + offset, data, size);
}

void copy_to_page(Cpu &cpu, TlbEntry &entry, uint64_t offset, const void *data,
                  unsigned size) {
  GuestMemory &memory = *cpu.env.memory;
  uint64_t physical = entry.physical_page + offset;
  if (!entry.host_write) {
    memory.write(physical, data, size);
    return;
  }
  store_ram(entry.host_write + offset, data, size);
  const uint64_t epoch = memory.store_tracking_epoch();
  if (entry.skips_store_tracking(epoch))
    return;
  memory.note_store(physical, size);
  if (!(memory.page_flags(physical) & GuestMemory::PAGE_HAS_CODE))
    entry.untracked_epoch = epoch;
}

bool alignment_fault(const CpuState &s, uint64_t linear, unsigned size) {
  if (!(s.rflags & AC) || !(s.cr0 & CR0_AM) || (size & (size - 1)) ||
      size > 8 || !(linear & (size - 1)))
    return false;
  return s.cpl() == 3;
}

} // namespace

Privilege access_privilege(const CpuState &state, bool implicit) {
  if (implicit)
    return Privilege::Supervisor;
  if (state.cpl() == 3)
    return Privilege::User;
  return (state.cr4 & CR4_SMAP) && (state.rflags & AC) ? Privilege::SupervisorAc
                                                       : Privilege::Supervisor;
}

bool segment_linear(Cpu &cpu, unsigned seg, uint64_t offset, unsigned size,
                    Access access, uint64_t &linear) {
  const CpuState &s = cpu.state;
  const uint8_t vector = seg == SS ? EXC_SS : EXC_GP;
  if (s.code_size() == CodeSize::Bits64) {
    linear = (seg >= FS ? s.seg[seg].base : 0) + offset;
    if (!is_canonical(linear) || !is_canonical(linear + size - 1))
      return cpu.fault(vector, 0);
    return true;
  }
  const Segment &segment = s.seg[seg];
  const uint16_t type = segment.attributes & 0xf;
  const bool code = type & 8;
  bool expand_down = false;
  if (s.protected_mode() && !s.v86()) {
    if (!segment.present())
      return cpu.fault(vector, 0);
    bool permitted = access == Access::Execute ? code
                     : access == Access::Write ? !code && (type & 2)
                                               : !code || (type & 2);
    if (!permitted)
      return cpu.fault(vector, 0);
    expand_down = !code && (type & 4);
  }
  uint64_t last = offset + size - 1;
  bool inside;
  if (expand_down) {
    uint64_t upper = segment.big() ? 0xffffffffull : 0xffffull;
    inside = offset > segment.limit && last <= upper;
  } else {
    inside = last <= segment.limit;
  }
  if (!inside)
    return cpu.fault(vector, 0);
  linear = (segment.base + offset) & 0xffffffffull;
  return true;
}

TlbEntry *tlb_entry(Cpu &cpu, uint64_t linear, Access access,
                    Privilege privilege) {
  if (TlbEntry *entry =
          cpu.tlb.lookup(linear, static_cast<unsigned>(access), privilege))
    return entry;
  return fill_tlb(cpu, linear, access, privilege);
}

bool access_linear(Cpu &cpu, uint64_t linear, void *data, unsigned size,
                   Access access, Privilege privilege) {
  if (cpu.debug) [[unlikely]]
    cpu.check_watchpoints(linear, size, access);
  uint64_t offset = linear & kPageMask;
  auto bytes = static_cast<uint8_t *>(data);
  if (offset + size <= kPageSize) {
    TlbEntry *entry = tlb_entry(cpu, linear, access, privilege);
    if (!entry)
      return false;
    if (access == Access::Write)
      copy_to_page(cpu, *entry, offset, data, size);
    else
      copy_from_page(cpu, *entry, offset, data, size);
    return true;
  }
  // Outside 64-bit mode linear addresses wrap at 4 GiB.
  const uint64_t wrap =
      cpu.state.code_size() == CodeSize::Bits64 ? ~uint64_t{0} : 0xffffffffull;
  auto for_each_page = [&](auto &&body) {
    for (unsigned done = 0; done < size;) {
      uint64_t address = (linear + done) & wrap;
      unsigned chunk = static_cast<unsigned>(
          std::min<uint64_t>(size - done, kPageSize - (address & kPageMask)));
      if (!body(address, done, chunk))
        return false;
      done += chunk;
    }
    return true;
  };
  if (!for_each_page([&](uint64_t address, unsigned, unsigned) {
        return tlb_entry(cpu, address, access, privilege) != nullptr;
      }))
    return false;
  return for_each_page([&](uint64_t address, unsigned done, unsigned chunk) {
    TlbEntry *entry = tlb_entry(cpu, address, access, privilege);
    if (!entry)
      return false;
    if (access == Access::Write)
      copy_to_page(cpu, *entry, address & kPageMask, bytes + done, chunk);
    else
      copy_from_page(cpu, *entry, address & kPageMask, bytes + done, chunk);
    return true;
  });
}

bool load_pdptes(Cpu &cpu, uint64_t cr3) {
  uint64_t table = (cr3 & 0xffffffe0) & cpu.state.a20_mask;
  uint64_t entries[4];
  cpu.env.memory->read(table, entries, sizeof(entries));
  for (uint64_t entry : entries)
    if ((entry & PTE_PRESENT) && (entry & kReservedPdpte))
      return cpu.fault(EXC_GP, 0);
  std::memcpy(cpu.tlb.pdpte, entries, sizeof(entries));
  cpu.tlb.pdptes_loaded = true;
  return true;
}

bool Cpu::read_translated(unsigned seg, uint64_t offset, void *data,
                          unsigned size) {
  uint64_t linear = 0;
  if (!segment_linear(*this, seg, offset, size, Access::Read, linear))
    return false;
  if (alignment_fault(state, linear, size))
    return fault(EXC_AC, 0);
  return access_linear(*this, linear, data, size, Access::Read,
                       access_privilege(state, false));
}

bool Cpu::write_translated(unsigned seg, uint64_t offset, const void *data,
                           unsigned size) {
  uint64_t linear = 0;
  if (!segment_linear(*this, seg, offset, size, Access::Write, linear))
    return false;
  if (alignment_fault(state, linear, size))
    return fault(EXC_AC, 0);
  return access_linear(*this, linear, const_cast<void *>(data), size,
                       Access::Write, access_privilege(state, false));
}

bool Cpu::read_linear(uint64_t linear, void *data, unsigned size,
                      bool supervisor) {
  return access_linear(*this, linear, data, size, Access::Read,
                       access_privilege(state, supervisor));
}

bool Cpu::write_linear(uint64_t linear, const void *data, unsigned size,
                       bool supervisor) {
  return access_linear(*this, linear, const_cast<void *>(data), size,
                       Access::Write, access_privilege(state, supervisor));
}

bool Cpu::translate(uint64_t linear, Access access, bool user, uint64_t &phys) {
  Privilege privilege =
      user ? Privilege::User
           : (access_privilege(state, false) == Privilege::SupervisorAc
                  ? Privilege::SupervisorAc
                  : Privilege::Supervisor);
  TlbEntry *entry = tlb_entry(*this, linear, access, privilege);
  if (!entry)
    return false;
  phys = entry->physical_page | (linear & kPageMask);
  return true;
}

bool Cpu::probe_linear(uint64_t linear, uint64_t &phys) {
  if (!state.paging()) {
    phys = linear & 0xffffffffull & state.a20_mask;
    return true;
  }
  PendingFault saved = pending;
  Walk w;
  uint32_t error = 0;
  bool ok = walk(*this, linear, w, error);
  pending = saved;
  if (!ok)
    return false;
  phys = (w.physical_page & state.a20_mask) | (linear & kPageMask);
  return true;
}

bool Cpu::locate_for_rmw(const Instruction &insn, unsigned size, uint8_t *&host,
                         uint64_t &offset, uint64_t &tracked) {
  host = nullptr;
  tracked = kUntrackedStore;
  offset = effective_address(insn);
  uint64_t linear = 0;
  if (!segment_linear(*this, insn.seg, offset, size, Access::Write, linear))
    return false;
  if (alignment_fault(state, linear, size))
    return fault(EXC_AC, 0);
  Privilege privilege = access_privilege(state, false);
  if (debug) [[unlikely]] {
    check_watchpoints(linear, size, Access::Read);
    check_watchpoints(linear, size, Access::Write);
  }
  uint64_t page_offset = linear & kPageMask;
  if (page_offset + size > kPageSize) {
    // Checks both pages now, so the read-then-write the caller does
    // through write_value cannot fault halfway.
    uint64_t next = (linear + size - 1) & ~kPageMask;
    if (state.code_size() != CodeSize::Bits64)
      next &= 0xffffffffull;
    return tlb_entry(*this, linear, Access::Write, privilege) &&
           tlb_entry(*this, next, Access::Write, privilege);
  }
  TlbEntry *entry = tlb_entry(*this, linear, Access::Write, privilege);
  if (!entry)
    return false;
  if (entry->host_write) {
    host = entry->host_write + page_offset;
    if (!entry->skips_store_tracking(env.memory->store_tracking_epoch()))
      tracked = entry->physical_page + page_offset;
  }
  return true;
}

void Cpu::note_rmw_store(uint64_t physical, unsigned size) {
  env.memory->note_store(physical, size);
}

bool Cpu::compare_exchange_16(const Instruction &insn, uint64_t value[2],
                              const uint64_t desired[2], bool &equal) {
  uint8_t *host = nullptr;
  uint64_t offset = 0;
  uint64_t tracked = kUntrackedStore;
  if (!locate_for_rmw(insn, 16, host, offset, tracked))
    return false;
  if (!host) {
    // Not RAM: no other vCPU can share the operand atomically anyway.
    uint64_t current[2];
    if (!read(insn.seg, offset, current, 16))
      return false;
    equal = current[0] == value[0] && current[1] == value[1];
    const uint64_t *stored = equal ? desired : current;
    if (!write(insn.seg, offset, stored, 16))
      return false;
    value[0] = current[0];
    value[1] = current[1];
    return true;
  }
  // The locked cycle writes the operand back even on a mismatch, as the
  // instruction does.
  asm volatile("lock cmpxchg16b %[memory]"
               : "=@ccz"(equal),
                 [memory] "+m"(*reinterpret_cast<unsigned __int128 *>(host)),
                 "+a"(value[0]), "+d"(value[1])
               : "b"(desired[0]), "c"(desired[1])
               : "memory");
  if (tracked != kUntrackedStore)
    note_rmw_store(tracked, 16);
  return true;
}

} // namespace sable::cpu
