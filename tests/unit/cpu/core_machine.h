#pragma once
// A vCPU over real RAM for the MMU, segmentation, exception and
// interpreter tests: helpers write descriptor tables and page tables into
// guest memory and put the CPU into each mode the way a guest would leave
// it (segment caches loaded as the matching far transfer would).

#include <cstring>

#include "vcpu_machine.h"

namespace sable::cpu::test {

constexpr uint64_t kGdtBase = 0x1000;
constexpr uint64_t kIdtBase = 0x2000;
constexpr uint64_t kTssBase = 0x3000;

// GDT slots used by the helpers.
constexpr uint16_t kCode32Selector = 0x08;
constexpr uint16_t kData32Selector = 0x10;
constexpr uint16_t kCode64Selector = 0x18;
constexpr uint16_t kUserCode32Selector = 0x23;
constexpr uint16_t kUserData32Selector = 0x2b;
constexpr uint16_t kTssSelector = 0x30; // 16 bytes in long mode
constexpr uint16_t kUserCode64Selector = 0x43;

// access byte | flags nibble << 12 in the VMX attribute layout
constexpr uint16_t kAttrCode32 = 0xc09b;
constexpr uint16_t kAttrData32 = 0xc093;
constexpr uint16_t kAttrCode64 = 0xa09b;

inline uint64_t descriptor(uint32_t base, uint32_t limit, uint16_t attributes) {
  uint64_t d = limit & 0xffff;
  d |= uint64_t{base & 0xffffff} << 16;
  d |= static_cast<uint64_t>(attributes & 0xff) << 40;
  d |= uint64_t{(limit >> 16) & 0xf} << 48;
  d |= static_cast<uint64_t>((attributes >> 12) & 0xf) << 52;
  d |= uint64_t{base >> 24} << 56;
  return d;
}

struct CoreMachine : VcpuMachine {
  explicit CoreMachine(uint64_t ram_size = 8 << 20) : VcpuMachine(ram_size) {}

  void put8(uint64_t gpa, uint8_t v) { ram[gpa] = v; }
  void put16(uint64_t gpa, uint16_t v) { std::memcpy(ram + gpa, &v, 2); }
  void put32(uint64_t gpa, uint32_t v) { std::memcpy(ram + gpa, &v, 4); }
  void put64(uint64_t gpa, uint64_t v) { std::memcpy(ram + gpa, &v, 8); }
  uint16_t get16(uint64_t gpa) const {
    uint16_t v;
    std::memcpy(&v, ram + gpa, 2);
    return v;
  }
  uint32_t get32(uint64_t gpa) const {
    uint32_t v;
    std::memcpy(&v, ram + gpa, 4);
    return v;
  }
  uint64_t get64(uint64_t gpa) const {
    uint64_t v;
    std::memcpy(&v, ram + gpa, 8);
    return v;
  }
  void put_bytes(uint64_t gpa, std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes)
      ram[gpa++] = b;
  }

  // Real mode with every segment at base 0.
  void real_mode() {
    CpuState &s = state();
    s.cr0 = CR0_ET;
    s.rflags = 2;
    s.seg[CS] = {0, 0, 0xffff, 0x9b};
    for (unsigned seg : {ES, SS, DS, FS, GS})
      s.seg[seg] = {0, 0, 0xffff, 0x93};
    s.idtr = {0, 0x3ff};
    cpu->flush_tlb(true);
  }

  void write_gdt() {
    put64(kGdtBase + kCode32Selector, descriptor(0, 0xfffff, kAttrCode32));
    put64(kGdtBase + kData32Selector, descriptor(0, 0xfffff, kAttrData32));
    put64(kGdtBase + kCode64Selector, descriptor(0, 0xfffff, kAttrCode64));
    put64(kGdtBase + (kUserCode32Selector & ~3),
          descriptor(0, 0xfffff, kAttrCode32 | 0x60));
    put64(kGdtBase + (kUserData32Selector & ~3),
          descriptor(0, 0xfffff, kAttrData32 | 0x60));
    put64(kGdtBase + (kUserCode64Selector & ~3),
          descriptor(0, 0xfffff, kAttrCode64 | 0x60));
    // 32-bit available TSS, limit 0x67 (0x2067 bytes with an I/O bitmap
    // when a test extends it).
    put64(kGdtBase + kTssSelector, descriptor(kTssBase, 0x67, 0x89));
    put64(kGdtBase + kTssSelector + 8, 0);
    state().gdtr = {kGdtBase, 0x4f};
  }

  // Flat 32-bit protected mode at CPL 0, GDT loaded, no paging.
  void protected_mode() {
    write_gdt();
    CpuState &s = state();
    s.cr0 = CR0_ET | CR0_PE;
    s.rflags = 2;
    s.seg[CS] = {kCode32Selector, 0, 0xffffffff, kAttrCode32};
    for (unsigned seg : {ES, SS, DS, FS, GS})
      s.seg[seg] = {kData32Selector, 0, 0xffffffff, kAttrData32};
    s.tr = {kTssSelector, kTssBase, 0x67, 0x8b};
    s.idtr = {kIdtBase, 0x7ff};
    cpu->flush_tlb(true);
  }

  // Switches to ring 3 with the flat user segments.
  void enter_user_mode() {
    CpuState &s = state();
    bool mode64 = s.long_mode_active();
    s.seg[CS] = {
        mode64 ? kUserCode64Selector : kUserCode32Selector, 0, 0xffffffff,
        static_cast<uint16_t>((mode64 ? kAttrCode64 : kAttrCode32) | 0x60)};
    for (unsigned seg : {ES, SS, DS, FS, GS})
      s.seg[seg] = {kUserData32Selector, 0, 0xffffffff,
                    static_cast<uint16_t>(kAttrData32 | 0x60)};
  }

  // 4-level paging with the first GiB identity-mapped by 2 MiB pages
  // (supervisor, writable), tables at 0x100000.
  static constexpr uint64_t kPml4 = 0x100000;
  void long_mode() {
    protected_mode();
    // The 64-bit TSS: RSP0..2 at 4, IST1..7 at 0x24.
    put64(kGdtBase + kTssSelector, descriptor(kTssBase, 0x67, 0x89));
    put64(kGdtBase + kTssSelector + 8, 0);
    map_identity(kPml4, 512);
    CpuState &s = state();
    s.cr4 = CR4_PAE;
    s.cr3 = kPml4;
    s.efer = EFER_LME | EFER_LMA | EFER_NXE;
    s.cr0 = CR0_ET | CR0_PE | CR0_PG;
    s.seg[CS] = {kCode64Selector, 0, 0xffffffff, kAttrCode64};
    s.idtr = {kIdtBase, 0xfff};
    s.tr = {kTssSelector, kTssBase, 0x67, 0x8b};
    cpu->flush_tlb(true);
  }
};

} // namespace sable::cpu::test
