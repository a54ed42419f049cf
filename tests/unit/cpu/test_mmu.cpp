#include <catch2/catch.hpp>

#include "core_machine.h"
#include "cpu/mmu.h"
#include "machine/device.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint64_t kDirectory = 0x200000;
constexpr uint64_t kTable = 0x201000;
constexpr uint64_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80,
                   G = 0x100;
constexpr uint64_t NX = uint64_t{1} << 63;

// 32-bit paging: linear 0x400000.. mapped by one page table.
struct Paging32 : CoreMachine {
  Paging32() {
    protected_mode();
    put32(kDirectory + 1 * 4, kTable | P | RW | US);
    state().cr3 = kDirectory;
    REQUIRE(cpu->write_cr(0, state().cr0 | CR0_PG));
  }
  void map(uint64_t linear, uint64_t phys, uint64_t flags) {
    put32(kTable + ((linear >> 12) & 0x3ff) * 4,
          static_cast<uint32_t>(phys | flags));
  }
  uint32_t pte(uint64_t linear) {
    return get32(kTable + ((linear >> 12) & 0x3ff) * 4);
  }
};

// PAE paging: 2 MiB page at 0x600000 -> 0x600000, 4 KiB pages below.
struct PagingPae : CoreMachine {
  static constexpr uint64_t kPdpt = 0x300000, kPd = 0x301000, kPt = 0x302000;
  PagingPae() {
    protected_mode();
    put64(kPdpt, kPd | P);
    put64(kPd + 0 * 8, kPt | P | RW | US);
    put64(kPd + 3 * 8, 0x600000 | P | RW | PS);
    state().cr4 = CR4_PAE;
    state().efer = EFER_NXE;
    REQUIRE(cpu->write_cr(3, kPdpt));
    REQUIRE(cpu->write_cr(0, state().cr0 | CR0_PG));
  }
  void map(uint64_t linear, uint64_t phys, uint64_t flags) {
    put64(kPt + ((linear >> 12) & 0x1ff) * 8, phys | flags);
  }
};

} // namespace

TEST_CASE("real mode: segment base, limit and the A20 mask") {
  CoreMachine m;
  m.real_mode();
  m.state().seg[DS].base = 0x12340;
  uint32_t value = 0xdeadbeef;
  REQUIRE(m.cpu->write(DS, 0x10, &value, 4));
  CHECK(m.get32(0x12350) == 0xdeadbeef);
  CHECK_FALSE(m.cpu->write(DS, 0xfffe, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK_FALSE(m.cpu->read(SS, 0xffff, &value, 2));
  CHECK(m.cpu->pending.vector == EXC_SS);

  // With A20 closed, 0x100010 aliases 0x10.
  m.state().a20_mask = ~(uint64_t{1} << 20);
  m.cpu->flush_tlb(true);
  m.state().seg[DS].base = 0xffff0;
  value = 0x11223344;
  REQUIRE(m.cpu->write(DS, 0x20, &value, 4));
  CHECK(m.get32(0x10) == 0x11223344);
}

TEST_CASE("protected mode segment checks: null, read-only, expand-down") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  uint32_t value = 0;
  s.seg[ES] = {0, 0, 0, 0};
  CHECK_FALSE(m.cpu->read(ES, 0, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK(m.cpu->pending.error_code == 0);

  s.seg[FS] = {0x10, 0, 0xffff, 0x4091}; // read-only data
  CHECK(m.cpu->read(FS, 0, &value, 4));
  CHECK_FALSE(m.cpu->write(FS, 0, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_GP);

  // Expand-down, 32-bit: valid offsets are limit+1 .. 0xffffffff.
  s.seg[GS] = {0x10, 0x100000, 0xfff, 0x4097};
  CHECK_FALSE(m.cpu->write(GS, 0xffc, &value, 4));
  CHECK(m.cpu->write(GS, 0x1000, &value, 4));
  s.seg[SS] = {0x10, 0, 0xfff, 0x4097};
  CHECK_FALSE(m.cpu->write(SS, 0xffe, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_SS);

  // Execute-only code cannot be read.
  s.seg[DS] = {0x08, 0, 0xffffffff, 0xc099};
  CHECK_FALSE(m.cpu->read(DS, 0, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_GP);
}

TEST_CASE("32-bit paging: translation, accessed and dirty bits") {
  Paging32 m;
  m.map(0x400000, 0x500000, P | RW);
  uint64_t phys = 0;
  REQUIRE(m.cpu->translate(0x400123, Access::Read, false, phys));
  CHECK(phys == 0x500123);
  CHECK((m.pte(0x400000) & (A | D)) == A);
  CHECK(m.get32(kDirectory + 4) & A);

  uint32_t value = 0xcafef00d;
  REQUIRE(m.cpu->write(DS, 0x400010, &value, 4));
  CHECK(m.get32(0x500010) == 0xcafef00d);
  CHECK((m.pte(0x400000) & (A | D)) == (A | D));
  CHECK_FALSE(m.get32(kDirectory + 4) & D);
}

TEST_CASE("32-bit paging: 4 MiB pages with CR4.PSE") {
  Paging32 m;
  m.put32(kDirectory + 2 * 4, 0x400000 | P | RW | PS);
  uint64_t phys = 0;
  // Without PSE the PS bit is ignored: the entry is a page table at 4 MiB.
  m.put32(0x400000 + 0x5 * 4, 0x777000 | P);
  REQUIRE(m.cpu->translate(0x805000, Access::Read, false, phys));
  CHECK(phys == 0x777000);
  REQUIRE(m.cpu->write_cr(4, CR4_PSE));
  REQUIRE(m.cpu->translate(0x8abcde, Access::Read, false, phys));
  CHECK(phys == 0x4abcde);
  // Bits 21:13 of a 4 MiB PDE are reserved.
  m.put32(kDirectory + 3 * 4, 0x400000 | 0x2000 | P | PS);
  CHECK_FALSE(m.cpu->translate(0xc00000, Access::Read, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_RESERVED));
}

TEST_CASE("page faults: error codes and CR2") {
  Paging32 m;
  m.map(0x400000, 0x500000, P);           // supervisor, read-only
  m.map(0x401000, 0x501000, P | US);      // user, read-only
  m.map(0x402000, 0x502000, P | US | RW); // user, writable
  uint32_t value = 0;

  CHECK_FALSE(m.cpu->read(DS, 0x403000, &value, 4));
  CHECK(m.cpu->pending.vector == EXC_PF);
  CHECK(m.cpu->pending.error_code == 0);
  CHECK(m.state().cr2 == 0x403000);

  CHECK_FALSE(m.cpu->write(DS, 0x403004, &value, 4));
  CHECK(m.cpu->pending.error_code == PF_WRITE);
  CHECK(m.state().cr2 == 0x403004);

  // CR0.WP = 0: the supervisor may write read-only pages.
  CHECK(m.cpu->write(DS, 0x400000, &value, 4));
  REQUIRE(m.cpu->write_cr(0, m.state().cr0 | CR0_WP));
  CHECK_FALSE(m.cpu->write(DS, 0x400000, &value, 4));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_WRITE));

  m.enter_user_mode();
  CHECK_FALSE(m.cpu->read(DS, 0x400000, &value, 4));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_USER));
  CHECK(m.cpu->read(DS, 0x401000, &value, 4));
  CHECK_FALSE(m.cpu->write(DS, 0x401000, &value, 4));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_WRITE | PF_USER));
  CHECK(m.cpu->write(DS, 0x402000, &value, 4));
  // Implicit supervisor accesses (descriptor tables) ignore CPL 3.
  CHECK(m.cpu->read_linear(0x400000, &value, 4, true));
}

TEST_CASE("an access crossing pages checks both before writing") {
  Paging32 m;
  m.map(0x400000, 0x500000, P | RW);
  uint64_t value = 0x1122334455667788ull;
  CHECK_FALSE(m.cpu->write(DS, 0x400ffc, &value, 8));
  CHECK(m.cpu->pending.vector == EXC_PF);
  CHECK(m.state().cr2 == 0x401000);
  CHECK(m.get32(0x500ffc) == 0);

  m.map(0x401000, 0x700000, P | RW);
  REQUIRE(m.cpu->write(DS, 0x400ffc, &value, 8));
  CHECK(m.get32(0x500ffc) == 0x55667788);
  CHECK(m.get32(0x700000) == 0x11223344);
  uint64_t back = 0;
  REQUIRE(m.cpu->read(DS, 0x400ffc, &back, 8));
  CHECK(back == value);
}

TEST_CASE("TLB: stale until INVLPG or CR3 reload, global pages survive") {
  Paging32 m;
  m.map(0x400000, 0x500000, P | RW);
  m.map(0x401000, 0x510000, P | RW | G);
  REQUIRE(m.cpu->write_cr(4, CR4_PGE));
  m.put32(0x500000, 1);
  m.put32(0x600000, 2);
  m.put32(0x510000, 3);
  m.put32(0x610000, 4);
  uint32_t value = 0;
  REQUIRE(m.cpu->read(DS, 0x400000, &value, 4));
  CHECK(value == 1);
  REQUIRE(m.cpu->read(DS, 0x401000, &value, 4));
  CHECK(value == 3);

  m.map(0x400000, 0x600000, P | RW);
  m.map(0x401000, 0x610000, P | RW | G);
  REQUIRE(m.cpu->read(DS, 0x400000, &value, 4));
  CHECK(value == 1); // stale
  m.cpu->tlb.flush_page(0x400000);
  REQUIRE(m.cpu->read(DS, 0x400000, &value, 4));
  CHECK(value == 2);

  REQUIRE(m.cpu->write_cr(3, m.state().cr3));
  REQUIRE(m.cpu->read(DS, 0x401000, &value, 4));
  CHECK(value == 3); // global: kept across the CR3 write
  REQUIRE(m.cpu->write_cr(4, 0));
  REQUIRE(m.cpu->read(DS, 0x401000, &value, 4));
  CHECK(value == 4); // clearing CR4.PGE flushes everything
}

TEST_CASE("PAE paging: PDPTE load, 2 MiB pages, NX and reserved bits") {
  PagingPae m;
  m.map(0x1000, 0x400000, P | RW | NX);
  uint64_t phys = 0;
  REQUIRE(m.cpu->translate(0x1234, Access::Read, false, phys));
  CHECK(phys == 0x400234);
  CHECK_FALSE(m.cpu->translate(0x1234, Access::Execute, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_FETCH));
  REQUIRE(m.cpu->translate(0x6abcde, Access::Write, false, phys));
  CHECK(phys == 0x6abcde);
  CHECK(m.get64(PagingPae::kPd + 3 * 8) & D);

  // With EFER.NXE clear, bit 63 is reserved.
  REQUIRE(m.cpu->write_msr(0xc0000080, 0));
  m.map(0x2000, 0x400000, P | NX);
  CHECK_FALSE(m.cpu->translate(0x2000, Access::Read, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_RESERVED));

  // PDPTEs are loaded at the CR3 write: a reserved bit faults there.
  m.put64(PagingPae::kPdpt + 8, 0x5000 | P | 0x2);
  CHECK_FALSE(m.cpu->write_cr(3, PagingPae::kPdpt));
  CHECK(m.cpu->pending.vector == EXC_GP);
  // The loaded registers keep serving after the table changes in memory.
  m.put64(PagingPae::kPdpt, 0);
  m.cpu->flush_tlb(false);
  REQUIRE(m.cpu->translate(0x600010, Access::Read, false, phys));
  CHECK(phys == 0x600010);
}

TEST_CASE("4-level paging: 1 GiB pages, canonical checks, FS/GS base") {
  CoreMachine m;
  m.long_mode();
  const uint64_t pdpt = CoreMachine::kPml4 + 0x1000;
  m.put64(pdpt + 8, (uint64_t{0} << 30) | P | RW | PS); // 1 GiB at 1 GiB
  uint64_t phys = 0;
  REQUIRE(m.cpu->translate(0x40123456, Access::Write, false, phys));
  CHECK(phys == 0x123456);
  CHECK(m.get64(pdpt + 8) & D);
  // Reserved bits 29:13 of a 1 GiB entry.
  m.put64(pdpt + 16, 0x2000 | P | PS);
  CHECK_FALSE(m.cpu->translate(0x80000000, Access::Read, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_RESERVED));
  // PS in a PML4 entry is reserved.
  m.put64(CoreMachine::kPml4 + 8, pdpt | P | PS);
  CHECK_FALSE(m.cpu->translate(uint64_t{1} << 39, Access::Read, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_RESERVED));

  uint64_t value = 0;
  CHECK_FALSE(m.cpu->read(DS, 0x0000800000000000ull, &value, 8));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK_FALSE(m.cpu->read(SS, 0x00007ffffffffffcull, &value, 8));
  CHECK(m.cpu->pending.vector == EXC_SS);

  // DS base and limit are ignored in 64-bit mode; FS base is not.
  m.state().seg[DS].base = 0x100000;
  m.state().seg[FS].base = 0x5000;
  m.put64(0x5008, 0xabcdef);
  REQUIRE(m.cpu->read(FS, 8, &value, 8));
  CHECK(value == 0xabcdef);
  REQUIRE(m.cpu->read(DS, 0x5008, &value, 8));
  CHECK(value == 0xabcdef);
}

TEST_CASE("SMEP and SMAP") {
  Paging32 m;
  m.map(0x400000, 0x500000, P | RW | US);
  REQUIRE(m.cpu->write_cr(4, CR4_SMEP | CR4_SMAP));
  uint64_t phys = 0;
  CHECK_FALSE(m.cpu->translate(0x400000, Access::Execute, false, phys));
  CHECK(m.cpu->pending.error_code == (PF_PRESENT | PF_FETCH));
  uint32_t value = 0;
  CHECK_FALSE(m.cpu->read(DS, 0x400000, &value, 4));
  CHECK(m.cpu->pending.error_code == PF_PRESENT);
  m.state().rflags |= AC;
  CHECK(m.cpu->read(DS, 0x400000, &value, 4));
  // Implicit supervisor accesses are checked even with AC set.
  CHECK_FALSE(m.cpu->read_linear(0x400000, &value, 4, true));
}

TEST_CASE("stores mark pages dirty and hit the code-write path") {
  Paging32 m;
  m.map(0x400000, 0x500000, P | RW);
  uint32_t value = 7;
  m.memory.test_and_clear_dirty(0x500000);
  REQUIRE(m.cpu->write(DS, 0x400000, &value, 4));
  CHECK(m.memory.test_and_clear_dirty(0x500000));
  // The TLB entry that skips tracking for the dirty page stops doing so
  // once the dirty bit is cleared, without a TLB flush.
  REQUIRE(m.cpu->write(DS, 0x400004, &value, 4));
  CHECK(m.memory.test_and_clear_dirty(0x500000));
  REQUIRE(m.cpu->write(DS, 0x400004, &value, 4));
  CHECK(m.memory.test_and_clear_dirty(0x500000));

  // A page holding decoded code: the store reaches the code-write handler
  // even through a TLB entry cached before the page got code (on this or
  // any other vCPU).
  REQUIRE(m.cpu->write(DS, 0x400004, &value, 4));
  uint64_t hit = 0;
  m.memory.add_code_write_handler([&](uint64_t gpa) { hit = gpa; });
  m.memory.mark_code_page(0x500000);
  REQUIRE(m.cpu->write(DS, 0x400008, &value, 4));
  CHECK(hit == 0x500000);
}

TEST_CASE("probe_linear neither faults nor sets accessed bits") {
  Paging32 m;
  m.map(0x400000, 0x500000, P);
  uint64_t phys = 0;
  REQUIRE(m.cpu->probe_linear(0x400010, phys));
  CHECK(phys == 0x500010);
  CHECK_FALSE(m.pte(0x400000) & A);
  CHECK_FALSE(m.cpu->probe_linear(0x409000, phys));
  CHECK_FALSE(m.cpu->pending.valid);
}

namespace {
struct Register : Device {
  uint64_t value = 0x1234;
  uint64_t last_offset = 0;
  unsigned last_size = 0;
  std::string_view name() const override { return "register"; }
  uint64_t read(uint64_t offset, unsigned size) override {
    last_offset = offset;
    last_size = size;
    return value;
  }
  void write(uint64_t offset, unsigned size, uint64_t v) override {
    last_offset = offset;
    last_size = size;
    value = v;
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
};
} // namespace

TEST_CASE("MMIO goes through the bus, ROM ignores stores") {
  CoreMachine m;
  m.protected_mode();
  Register device;
  m.memory.add_mmio("register", 0xfe000000, 0x1000);
  m.mmio.map(0xfe000000, 0x1000, &device);
  uint32_t value = 0xa5a5a5a5;
  REQUIRE(m.cpu->write(DS, 0xfe000010, &value, 4));
  CHECK(device.value == 0xa5a5a5a5);
  CHECK(device.last_offset == 0x10);
  CHECK(device.last_size == 4);
  device.value = 0x77;
  uint16_t small = 0;
  REQUIRE(m.cpu->read(DS, 0xfe000008, &small, 2));
  CHECK(small == 0x77);

  m.memory.add_rom("rom", 0xfff00000, std::vector<uint8_t>(0x1000, 0x5a));
  REQUIRE(m.cpu->write(DS, 0xfff00000, &value, 4));
  REQUIRE(m.cpu->read(DS, 0xfff00000, &value, 4));
  CHECK(value == 0x5a5a5a5a);
}

TEST_CASE("TLB flush_page drops every fragment of a 2 MiB page") {
  PagingPae m;
  m.put32(0x7ff000, 1);
  m.put32(0x5ff000, 2);
  uint32_t value = 0;
  REQUIRE(m.cpu->read(DS, 0x600000, &value, 4));
  REQUIRE(m.cpu->read(DS, 0x7ff000, &value, 4));
  CHECK(value == 1);
  m.put64(PagingPae::kPd + 3 * 8, 0x400000 | P | RW | PS);
  REQUIRE(m.cpu->read(DS, 0x7ff000, &value, 4));
  CHECK(value == 1); // stale
  m.cpu->tlb.flush_page(0x600000);
  REQUIRE(m.cpu->read(DS, 0x7ff000, &value, 4));
  CHECK(value == 2);
}

// The inline access path takes a tag match as proof that the address is
// canonical, so no lookup may ever find a non-canonical page.
TEST_CASE("TLB: a non-canonical page is never found by a lookup") {
  Tlb tlb;
  TlbEntry entry;
  entry.allowed = 0xffff;
  entry.linear_page = 0x0000800000000000; // just past the canonical half
  TlbEntry &stored = tlb.insert(entry);
  CHECK(stored.linear_page == entry.linear_page);
  CHECK(tlb.lookup(entry.linear_page, 0, Privilege::Supervisor) == nullptr);
  CHECK(tlb.slot(entry.linear_page).linear_page == TlbEntry::kInvalid);

  entry.linear_page = 0x00007ffffffff000; // the last canonical page
  CHECK(&tlb.insert(entry) == &tlb.slot(entry.linear_page));
  CHECK(tlb.lookup(entry.linear_page, 0, Privilege::Supervisor) != nullptr);
}
