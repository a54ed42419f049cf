// Stack and near-branch handlers, run from decoded bytes.

#include <catch2/catch.hpp>

#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

TEST_CASE("PUSH and POP: registers, rSP, memory, segment registers") {
  OpsMachine m;
  const uint64_t top = m.gpr(RSP);
  REQUIRE(m.run({0x54})); // push esp: the value before the push
  CHECK(m.peek<uint32_t>(top - 4) == top);
  REQUIRE(m.run({0x5b})); // pop ebx
  CHECK(m.gpr(RBX) == top);
  CHECK(m.gpr(RSP) == top);

  // pop [esp+4]: the address uses the incremented rSP.
  m.gpr(RAX) = 0xcafe;
  REQUIRE(m.run({0x50}));                   // push eax
  REQUIRE(m.run({0x8f, 0x44, 0x24, 0x04})); // pop dword [esp+4]
  CHECK(m.gpr(RSP) == top);
  CHECK(m.peek<uint32_t>(top + 4) == 0xcafe);

  REQUIRE(m.run({0x66, 0x6a, 0xff})); // push word -1
  CHECK(m.gpr(RSP) == top - 2);
  CHECK(m.peek<uint16_t>(top - 2) == 0xffff);
  REQUIRE(m.run({0x66, 0x58})); // pop ax
  CHECK(m.gpr(RSP) == top);

  m.poke<uint32_t>(0x2000, 0x12345678);
  m.gpr(RSI) = 0x2000;
  REQUIRE(m.run({0xff, 0x36})); // push dword [esi]
  CHECK(m.peek<uint32_t>(top - 4) == 0x12345678);
  REQUIRE(m.run({0x0f, 0xa0})); // push fs
  CHECK(m.peek<uint32_t>(top - 8) == 0x10);
}

TEST_CASE("POP SS sets the interrupt shadow, a faulting POP keeps rSP") {
  OpsMachine m(CodeSize::Bits16);
  m.gpr(RAX) = 0x3000;
  REQUIRE(m.run({0x50})); // push ax
  REQUIRE(m.run({0x17})); // pop ss
  CHECK(m.state().seg[SS].base == 0x30000);
  CHECK(m.state().interrupt_shadow);

  OpsMachine p;
  p.state().seg[DS].attributes = 0xc091; // read-only data
  const uint64_t top = p.gpr(RSP);
  REQUIRE(p.run({0x50}));           // push eax
  CHECK_FALSE(p.run({0x8f, 0x06})); // pop dword [esi] into read-only DS
  CHECK(p.faulted_with(EXC_GP));
  CHECK(p.gpr(RSP) == top - 4);
}

TEST_CASE("PUSHA and POPA") {
  OpsMachine m;
  for (unsigned r = 0; r < 8; r++)
    if (r != RSP)
      m.gpr(r) = 0x100 + r;
  const uint64_t top = m.gpr(RSP);
  REQUIRE(m.run({0x60})); // pushad
  CHECK(m.gpr(RSP) == top - 32);
  CHECK(m.peek<uint32_t>(top - 4) == 0x100);  // eax first
  CHECK(m.peek<uint32_t>(top - 20) == top);   // original esp
  CHECK(m.peek<uint32_t>(top - 32) == 0x107); // edi last
  for (unsigned r = 0; r < 8; r++)
    if (r != RSP)
      m.gpr(r) = 0;
  m.poke<uint32_t>(top - 20, 0x5555); // ignored by POPA
  REQUIRE(m.run({0x61}));             // popad
  CHECK(m.gpr(RSP) == top);
  CHECK(m.gpr(RAX) == 0x100);
  CHECK(m.gpr(RDI) == 0x107);
}

TEST_CASE("ENTER with nesting levels and LEAVE") {
  OpsMachine m;
  const uint64_t top = m.gpr(RSP);
  m.gpr(RBP) = 0x5000;
  m.poke<uint32_t>(0x5000 - 4, 0xaaaa);     // outer frame pointer to copy
  REQUIRE(m.run({0xc8, 0x10, 0x00, 0x02})); // enter 16, 2
  const uint64_t frame = top - 4;
  CHECK(m.gpr(RBP) == frame);
  CHECK(m.peek<uint32_t>(top - 4) == 0x5000); // old ebp
  CHECK(m.peek<uint32_t>(top - 8) == 0xaaaa); // copied frame pointer
  CHECK(m.peek<uint32_t>(top - 12) == frame); // new frame pointer
  CHECK(m.gpr(RSP) == top - 12 - 16);
  REQUIRE(m.run({0xc9})); // leave
  CHECK(m.gpr(RSP) == top);
  CHECK(m.gpr(RBP) == 0x5000);

  REQUIRE(m.run({0xc8, 0x08, 0x00, 0x00})); // enter 8, 0
  CHECK(m.gpr(RBP) == top - 4);
  CHECK(m.gpr(RSP) == top - 12);
}

TEST_CASE("near JMP, CALL and RET, 16-bit IP wraps") {
  OpsMachine m;
  const uint64_t top = m.gpr(RSP);
  REQUIRE(m.run({0xe8, 0x10, 0x00, 0x00, 0x00})); // call +0x10
  CHECK(m.state().rip == kCodeAddress + 5 + 0x10);
  CHECK(m.peek<uint32_t>(top - 4) == kCodeAddress + 5);
  REQUIRE(m.run({0xc2, 0x08, 0x00})); // ret 8
  CHECK(m.state().rip == kCodeAddress + 5);
  CHECK(m.gpr(RSP) == top + 8);
  m.gpr(RAX) = 0x4000;
  REQUIRE(m.run({0xff, 0xe0})); // jmp eax
  CHECK(m.state().rip == 0x4000);
  m.gpr(RAX) = 0x5000;
  REQUIRE(m.run({0xff, 0xd0})); // call eax
  CHECK(m.state().rip == 0x5000);
  CHECK(m.peek<uint32_t>(m.gpr(RSP)) == 0x4002);

  m.state().seg[CS].limit = 0x5fff;
  CHECK_FALSE(m.run({0xe9, 0x00, 0x10, 0x00, 0x00})); // beyond CS limit
  CHECK(m.faulted_with(EXC_GP));
  CHECK(m.state().rip == 0x5000);

  OpsMachine r(CodeSize::Bits16);
  r.state().rip = 0xfffe;
  REQUIRE(r.run({0xeb, 0x10})); // jmp short +0x10 wraps
  CHECK(r.state().rip == 0x10);
  // A 32-bit target beyond the real-mode CS limit faults.
  CHECK_FALSE(r.run({0x66, 0xe9, 0x00, 0x00, 0x01, 0x00}));
  CHECK(r.faulted_with(EXC_GP));
  CHECK(r.state().rip == 0x10);
}

TEST_CASE("a non-canonical 64-bit target raises #GP before any push") {
  OpsMachine m(CodeSize::Bits64);
  const uint64_t top = m.gpr(RSP);
  m.gpr(RAX) = 0x0000800000000000ull;
  CHECK_FALSE(m.run({0xff, 0xd0})); // call rax
  CHECK(m.faulted_with(EXC_GP));
  CHECK(m.gpr(RSP) == top);
  m.gpr(RAX) = 0xffff800000000000ull;
  REQUIRE(m.run({0xff, 0xe0})); // jmp rax
  CHECK(m.state().rip == 0xffff800000000000ull);
}

TEST_CASE("Jcc, LOOP family and JCXZ use the address-size counter") {
  OpsMachine m;
  m.set_arith(ZF);
  REQUIRE(m.run({0x74, 0x05})); // je +5
  CHECK(m.state().rip == kCodeAddress + 7);
  REQUIRE(m.run({0x75, 0x05})); // jne: not taken
  CHECK(m.state().rip == kCodeAddress + 9);

  m.state().rip = kCodeAddress;
  m.gpr(RCX) = 0x10000;
  REQUIRE(m.run({0x67, 0xe2, 0x10})); // loop with CX: 0 -> 0xffff, taken
  CHECK(m.gpr(RCX) == 0x1ffff);
  CHECK(m.state().rip == kCodeAddress + 3 + 0x10);
  m.state().rip = kCodeAddress;
  m.gpr(RCX) = 1;
  REQUIRE(m.run({0xe2, 0x10})); // loop: 1 -> 0, not taken
  CHECK(m.gpr(RCX) == 0);
  CHECK(m.state().rip == kCodeAddress + 2);
  m.gpr(RCX) = 5;
  m.set_arith(0);
  REQUIRE(m.run({0xe1, 0x10})); // loope with ZF clear: not taken
  CHECK(m.gpr(RCX) == 4);
  CHECK(m.state().rip == kCodeAddress + 4);
  REQUIRE(m.run({0xe0, 0x10})); // loopne: taken
  CHECK(m.state().rip == kCodeAddress + 6 + 0x10);

  m.state().rip = kCodeAddress;
  m.gpr(RCX) = 0x10000;
  REQUIRE(m.run({0x67, 0xe3, 0x10})); // jcxz: CX = 0
  CHECK(m.state().rip == kCodeAddress + 3 + 0x10);
  REQUIRE(m.run({0xe3, 0x10})); // jecxz: ECX != 0
  CHECK(m.state().rip == kCodeAddress + 5 + 0x10);
}
