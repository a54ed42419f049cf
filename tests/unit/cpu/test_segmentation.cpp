#include <catch2/catch.hpp>

#include "core_machine.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {
constexpr uint16_t kNotPresentData = 0x50;
constexpr uint16_t kExecuteOnlyCode = 0x58;
constexpr uint16_t kReadableCode = 0x60;
constexpr uint16_t kDpl0DataHigh = 0x68; // base 0x12345000, limit 0xfff

struct Gdt : CoreMachine {
  Gdt() {
    protected_mode();
    put64(kGdtBase + kNotPresentData,
          descriptor(0, 0xfffff, kAttrData32 & ~0x80));
    put64(kGdtBase + kExecuteOnlyCode, descriptor(0, 0xfffff, 0xc099));
    put64(kGdtBase + kReadableCode, descriptor(0, 0xfffff, 0xc09b));
    put64(kGdtBase + kDpl0DataHigh, descriptor(0x12345000, 0xfff, 0x4092));
    state().gdtr.limit = 0x6f;
  }
};
} // namespace

TEST_CASE("real and V86 mode segment loads: base = selector << 4") {
  CoreMachine m;
  m.real_mode();
  m.state().seg[DS].limit = 0xffffffff; // unreal mode survives a load
  REQUIRE(m.cpu->load_segment(DS, 0x1234));
  CHECK(m.state().seg[DS].base == 0x12340);
  CHECK(m.state().seg[DS].limit == 0xffffffff);

  m.protected_mode();
  m.state().rflags |= VM;
  REQUIRE(m.cpu->load_segment(ES, 0xb800));
  CHECK(m.state().seg[ES].base == 0xb8000);
  CHECK(m.state().seg[ES].limit == 0xffff);
  CHECK(m.state().seg[ES].dpl() == 3);
}

TEST_CASE("protected mode data segment load reads the descriptor") {
  Gdt m;
  REQUIRE(m.cpu->load_segment(DS, kDpl0DataHigh));
  const Segment &ds = m.state().seg[DS];
  CHECK(ds.base == 0x12345000);
  CHECK(ds.limit == 0xfff);
  CHECK((ds.attributes & 0xff) == 0x93);
  // The accessed bit is written back to the GDT.
  CHECK(m.get64(kGdtBase + kDpl0DataHigh) & (uint64_t{1} << 40));

  // Readable code may be loaded into a data register.
  REQUIRE(m.cpu->load_segment(ES, kReadableCode));
  CHECK(m.state().seg[ES].selector == kReadableCode);
}

TEST_CASE("segment load faults and their error codes") {
  Gdt m;
  auto check_fault = [&](unsigned seg, uint16_t selector, uint8_t vector,
                         uint32_t error) {
    CHECK_FALSE(m.cpu->load_segment(seg, selector));
    CHECK(m.cpu->pending.vector == vector);
    CHECK(m.cpu->pending.error_code == error);
  };
  check_fault(DS, 0x78, EXC_GP, 0x78); // beyond the GDT limit
  check_fault(DS, kNotPresentData, EXC_NP, kNotPresentData);
  check_fault(SS, kNotPresentData, EXC_SS, kNotPresentData);
  check_fault(DS, kExecuteOnlyCode, EXC_GP, kExecuteOnlyCode);
  check_fault(DS, kTssSelector, EXC_GP, kTssSelector); // system descriptor
  check_fault(SS, kReadableCode, EXC_GP, kReadableCode);
  check_fault(SS, kData32Selector | 3, EXC_GP, kData32Selector); // RPL != CPL
  check_fault(SS, 0, EXC_GP, 0);
  check_fault(DS, 0x04, EXC_GP, 0x04); // LDT selector without an LDT

  // Null selectors make DS unusable, without a fault.
  REQUIRE(m.cpu->load_segment(DS, 0));
  CHECK_FALSE(m.state().seg[DS].present());

  // At CPL 3 a DPL 0 data segment cannot be loaded.
  m.enter_user_mode();
  check_fault(DS, kData32Selector | 3, EXC_GP, kData32Selector);
  REQUIRE(m.cpu->load_segment(DS, kUserData32Selector));
  CHECK(m.cpu->load_segment(DS, kReadableCode | 3) == false);
}

TEST_CASE("64-bit mode allows a null SS below CPL 3") {
  CoreMachine m;
  m.long_mode();
  REQUIRE(m.cpu->load_segment(SS, 0));
  CHECK_FALSE(m.cpu->load_segment(SS, 1));
  CHECK(m.cpu->pending.vector == EXC_GP);
}

TEST_CASE("LDT selectors use the LDT") {
  Gdt m;
  constexpr uint64_t kLdt = 0x4000;
  m.put64(kLdt + 8, descriptor(0x777000, 0xffff, 0x0093 | 0x4000));
  m.state().ldtr = {0x70, kLdt, 0xf, 0x82};
  REQUIRE(m.cpu->load_segment(FS, 0x0c));
  CHECK(m.state().seg[FS].base == 0x777000);
  CHECK_FALSE(m.cpu->load_segment(FS, 0x14));
  CHECK(m.cpu->pending.error_code == 0x14);
}
