// Flag instruction handlers: CLC..STD, CLI/STI, PUSHF/POPF and their IOPL,
// virtual-8086 and virtual-interrupt rules.

#include <catch2/catch.hpp>

#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

void set_cpl3(OpsMachine &m, unsigned iopl) {
  m.state().seg[CS].selector = 0x1b;
  m.state().rflags = (m.state().rflags & ~uint64_t{IOPL}) | (iopl << 12);
}

void enter_v86(OpsMachine &m, unsigned iopl) {
  CpuState &s = m.state();
  s.rflags = (s.rflags & ~uint64_t{IOPL}) | VM | (iopl << 12);
  s.seg[CS] = {0, 0, 0xffff, 0x00fb};
  for (unsigned seg : {ES, SS, DS, FS, GS})
    s.seg[seg] = {0, 0, 0xffff, 0x00f3};
  s.gpr[RSP] = 0x8000;
  m.mode = CodeSize::Bits16;
}

} // namespace

TEST_CASE("CLC STC CMC CLD STD") {
  OpsMachine m;
  m.set_arith(ZF);
  REQUIRE(m.run({0xf9})); // stc
  CHECK(m.arith() == (ZF | CF));
  REQUIRE(m.run({0xf5})); // cmc
  CHECK(m.arith() == ZF);
  REQUIRE(m.run({0xf5}));
  REQUIRE(m.run({0xf8})); // clc
  CHECK(m.arith() == ZF);
  REQUIRE(m.run({0xfd})); // std
  CHECK((m.state().rflags & DF) != 0);
  REQUIRE(m.run({0xfc})); // cld
  CHECK((m.state().rflags & DF) == 0);
}

TEST_CASE("CLI/STI check IOPL and STI opens a shadow only when IF was 0") {
  OpsMachine m;
  REQUIRE(m.run({0xfb})); // sti
  CHECK((m.state().rflags & IF) != 0);
  CHECK(m.state().interrupt_shadow);
  m.state().interrupt_shadow = false;
  REQUIRE(m.run({0xfb})); // sti with IF already set
  CHECK_FALSE(m.state().interrupt_shadow);

  set_cpl3(m, 0);
  CHECK_FALSE(m.run({0xfa})); // cli at CPL 3 > IOPL
  CHECK(m.faulted_with(EXC_GP));
  CHECK((m.state().rflags & IF) != 0);
  set_cpl3(m, 3);
  REQUIRE(m.run({0xfa}));
  CHECK((m.state().rflags & IF) == 0);

  // PVI: CPL 3 works on VIF instead; STI with VIP pending faults.
  set_cpl3(m, 0);
  m.state().cr4 |= CR4_PVI;
  m.state().rflags |= IF | VIF;
  REQUIRE(m.run({0xfa})); // cli
  CHECK((m.state().rflags & VIF) == 0);
  CHECK((m.state().rflags & IF) != 0);
  REQUIRE(m.run({0xfb})); // sti
  CHECK((m.state().rflags & VIF) != 0);
  m.state().rflags |= VIP;
  CHECK_FALSE(m.run({0xfb}));
  CHECK(m.faulted_with(EXC_GP));
}

TEST_CASE("PUSHF stores RFLAGS without VM and RF") {
  OpsMachine m;
  m.set_arith(CF | ZF);
  m.state().rflags |= RF | AC;
  REQUIRE(m.run({0x9c})); // pushfd
  CHECK(m.peek<uint32_t>(m.gpr(RSP)) == (0x2 | CF | ZF | AC));
  REQUIRE(m.run({0x66, 0x9c})); // pushf (16-bit)
  CHECK(m.peek<uint16_t>(m.gpr(RSP)) == (0x2 | CF | ZF));
}

TEST_CASE("POPF changes IOPL only at CPL 0 and IF only at CPL <= IOPL") {
  OpsMachine m;
  const uint32_t image = 0x2 | CF | IF | IOPL | AC | TF;
  m.poke<uint32_t>(m.gpr(RSP) - 4, image);
  m.gpr(RSP) -= 4;
  REQUIRE(m.run({0x9d})); // popfd at CPL 0
  CHECK((m.cpu->rflags() & (CF | IF | IOPL | AC | TF)) ==
        (CF | IF | IOPL | AC | TF));

  OpsMachine user;
  set_cpl3(user, 0);
  user.poke<uint32_t>(user.gpr(RSP) - 4, image | VM | RF | VIF);
  user.gpr(RSP) -= 4;
  REQUIRE(user.run({0x9d})); // popfd at CPL 3, IOPL 0: no fault
  const uint64_t flags = user.cpu->rflags();
  CHECK((flags & (CF | AC | TF)) == (CF | AC | TF));
  CHECK((flags & (IF | IOPL | VM | RF | VIF)) == 0);

  OpsMachine narrow;
  narrow.state().rflags |= AC;
  narrow.poke<uint16_t>(narrow.gpr(RSP) - 2, 0x2 | ZF);
  narrow.gpr(RSP) -= 2;
  REQUIRE(narrow.run({0x66, 0x9d})); // popf (16-bit) keeps the upper half
  CHECK((narrow.cpu->rflags() & (AC | ZF)) == (AC | ZF));
}

TEST_CASE("virtual-8086 PUSHF/POPF: IOPL 3 runs, IOPL < 3 faults or uses VME") {
  OpsMachine m;
  enter_v86(m, 3);
  REQUIRE(m.run({0x9c})); // pushf
  CHECK((m.peek<uint16_t>(m.gpr(RSP)) & IOPL) == IOPL);
  REQUIRE(m.run({0x9d})); // popf
  CHECK((m.state().rflags & VM) != 0);

  OpsMachine trapped;
  enter_v86(trapped, 0);
  CHECK_FALSE(trapped.run({0x9c}));
  CHECK(trapped.faulted_with(EXC_GP));

  OpsMachine vme;
  enter_v86(vme, 0);
  vme.state().cr4 |= CR4_VME;
  vme.state().rflags |= VIF;
  vme.state().rflags &= ~uint64_t{IF};
  REQUIRE(vme.run({0x9c})); // pushf: IF from VIF, IOPL reads 3
  CHECK((vme.peek<uint16_t>(vme.gpr(RSP)) & (IF | IOPL)) == (IF | IOPL));
  CHECK_FALSE(vme.run({0x66, 0x9c})); // 32-bit form still traps
  vme.poke<uint16_t>(vme.gpr(RSP), 0x2 | CF);
  REQUIRE(vme.run({0x9d})); // popf: IF=0 goes to VIF
  CHECK((vme.state().rflags & VIF) == 0);
  CHECK((vme.cpu->rflags() & CF) != 0);
  const uint64_t sp = vme.gpr(RSP);
  vme.poke<uint16_t>(sp - 2, 0x2 | TF);
  vme.gpr(RSP) = sp - 2;
  CHECK_FALSE(vme.run({0x9d})); // popping TF faults, rSP unchanged
  CHECK(vme.faulted_with(EXC_GP));
  CHECK(vme.gpr(RSP) == sp - 2);
}

TEST_CASE("CLAC and STAC clear and set RFLAGS.AC at CPL 0 only") {
  OpsMachine m(CodeSize::Bits64);
  m.state().rflags |= AC;
  REQUIRE(m.run({0x0f, 0x01, 0xca})); // clac
  CHECK_FALSE(m.cpu->rflags() & AC);
  REQUIRE(m.run({0x0f, 0x01, 0xcb})); // stac
  CHECK(m.cpu->rflags() & AC);
  set_cpl3(m, 3);
  CHECK_FALSE(m.run({0x0f, 0x01, 0xca}));
  CHECK(m.cpu->pending.vector == EXC_UD);
}
