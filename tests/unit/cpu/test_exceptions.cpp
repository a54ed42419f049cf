#include <catch2/catch.hpp>

#include "core_machine.h"
#include "cpu/mmu.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr unsigned kInterruptGate32 = 0xe;
constexpr unsigned kTrapGate32 = 0xf;

void gate32(CoreMachine &m, unsigned vector, uint32_t offset,
            unsigned type = kInterruptGate32, unsigned dpl = 0,
            bool present = true, uint16_t selector = kCode32Selector) {
  uint64_t access = type | (dpl << 5) | (present ? 0x80 : 0);
  m.put64(kIdtBase + vector * 8,
          (offset & 0xffff) | (uint64_t{selector} << 16) | (access << 40) |
              (uint64_t{offset >> 16} << 48));
}

void gate64(CoreMachine &m, unsigned vector, uint64_t offset, unsigned ist = 0,
            unsigned dpl = 0, bool present = true) {
  uint64_t access = kInterruptGate32 | (dpl << 5) | (present ? 0x80 : 0);
  m.put64(kIdtBase + vector * 16, (offset & 0xffff) |
                                      (uint64_t{kCode64Selector} << 16) |
                                      (uint64_t{ist} << 32) | (access << 40) |
                                      (((offset >> 16) & 0xffff) << 48));
  m.put64(kIdtBase + vector * 16 + 8, offset >> 32);
}

} // namespace

TEST_CASE("real mode: INT n through the IVT") {
  CoreMachine m;
  m.real_mode();
  CpuState &s = m.state();
  m.put16(0x21 * 4, 0x5678);
  m.put16(0x21 * 4 + 2, 0x1234);
  s.seg[CS] = {0x0100, 0x1000, 0xffff, 0x9b};
  s.rip = 0x20;
  s.gpr[RSP] = 0x7000;
  s.rflags = 0x2 | IF | CF;
  m.cpu->next_rip = 0x22;
  REQUIRE(m.cpu->software_interrupt(0x21));
  CHECK(s.seg[CS].selector == 0x1234);
  CHECK(s.seg[CS].base == 0x12340);
  CHECK(m.cpu->next_rip == 0x5678);
  CHECK(s.gpr[RSP] == 0x6ffa);
  CHECK(m.get16(0x6ffa) == 0x22);   // IP of the next instruction
  CHECK(m.get16(0x6ffc) == 0x0100); // CS
  CHECK(m.get16(0x6ffe) == (0x2 | IF | CF));
  CHECK_FALSE(s.rflags & IF);

  // A fault pushes the faulting IP and no error code.
  m.put16(13 * 4, 0x1111);
  m.put16(13 * 4 + 2, 0);
  m.cpu->fault(EXC_GP, 0);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x1111);
  CHECK(s.gpr[RSP] == 0x6ff4);
  CHECK(m.get16(0x6ff4) == 0x5678);
}

TEST_CASE("protected mode: same-privilege fault with an error code") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  gate32(m, EXC_GP, 0x5000);
  s.rip = 0x1234;
  s.gpr[RSP] = 0x8000;
  s.rflags = 0x2 | IF | TF;
  m.cpu->fault(EXC_GP, 0x18);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x5000);
  CHECK(s.seg[CS].selector == kCode32Selector);
  CHECK(s.gpr[RSP] == 0x8000 - 16);
  CHECK(m.get32(0x7ff0) == 0x18);
  CHECK(m.get32(0x7ff4) == 0x1234);
  CHECK(m.get32(0x7ff8) == kCode32Selector);
  CHECK(m.get32(0x7ffc) == (0x2 | IF | TF));
  CHECK_FALSE(s.rflags & (IF | TF)); // interrupt gate
  CHECK_FALSE(m.cpu->pending.valid);

  // A trap gate leaves IF alone.
  gate32(m, 0x80, 0x6000, kTrapGate32, 3);
  s.rflags |= IF;
  m.cpu->next_rip = 0x5002;
  REQUIRE(m.cpu->software_interrupt(0x80));
  CHECK(m.cpu->next_rip == 0x6000);
  CHECK(s.rflags & IF);
}

TEST_CASE("protected mode: privilege change switches to the TSS stack") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  m.put32(kTssBase + 4, 0x9000);          // ESP0
  m.put16(kTssBase + 8, kData32Selector); // SS0
  gate32(m, 0x80, 0x5000, kInterruptGate32, 3);
  m.enter_user_mode();
  s.gpr[RSP] = 0x7000;
  s.rip = 0x400;
  m.cpu->next_rip = 0x402;
  REQUIRE(m.cpu->software_interrupt(0x80));
  CHECK(s.cpl() == 0);
  CHECK(s.seg[SS].selector == kData32Selector);
  CHECK(s.gpr[RSP] == 0x9000 - 20);
  CHECK(m.get32(0x9000 - 4) == kUserData32Selector); // old SS
  CHECK(m.get32(0x9000 - 8) == 0x7000);              // old ESP
  CHECK(m.get32(0x9000 - 16) == kUserCode32Selector);
  CHECK(m.get32(0x9000 - 20) == 0x402);
}

TEST_CASE("software interrupts check the gate DPL") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  m.put32(kTssBase + 4, 0x9000);
  m.put16(kTssBase + 8, kData32Selector);
  gate32(m, 0x30, 0x5000, kInterruptGate32, 0);
  gate32(m, EXC_GP, 0x6000);
  m.enter_user_mode();
  s.gpr[RSP] = 0x7000;
  s.rip = 0x400;
  m.cpu->next_rip = 0x402;
  CHECK_FALSE(m.cpu->software_interrupt(0x30));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK(m.cpu->pending.error_code == 0x30 * 8 + 2);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x6000);
  CHECK(m.get32(0x9000 - 24) == 0x30 * 8 + 2);
  CHECK(m.get32(0x9000 - 20) == 0x400); // the INT itself
}

TEST_CASE("#DF: contributory during contributory, and benign serially") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  gate32(m, EXC_GP, 0x5000, kInterruptGate32, 0, false);
  gate32(m, EXC_DF, 0x7000);
  gate32(m, EXC_NP, 0x6000);
  m.cpu->fault(EXC_GP, 0);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x7000);
  CHECK(m.get32(0x8000 - 16) == 0); // #DF error code

  // #UD is benign: its not-present gate raises #NP, delivered normally.
  s.gpr[RSP] = 0x8000;
  gate32(m, EXC_UD, 0x5000, kInterruptGate32, 0, false);
  m.cpu->fault(EXC_UD);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x6000);
  CHECK(m.get32(0x8000 - 16) == EXC_UD * 8 + 2 + 1); // IDT, EXT
}

TEST_CASE("triple fault: the #DF frame cannot be pushed either") {
  CoreMachine m;
  m.protected_mode();
  CpuState &s = m.state();
  // Paging with the stack page below 0x8000 not present.
  constexpr uint64_t kDirectory = 0x200000, kTable = 0x201000;
  m.put32(kDirectory, kTable | 3);
  for (unsigned i = 0; i < 1024; ++i)
    m.put32(kTable + i * 4, i == 7 ? 0 : (i << 12) | 3);
  s.cr3 = kDirectory;
  REQUIRE(m.cpu->write_cr(0, s.cr0 | CR0_PG));
  gate32(m, EXC_PF, 0x5000);
  gate32(m, EXC_DF, 0x6000);
  s.gpr[RSP] = 0x8000;
  s.rip = 0x1234;
  m.cpu->fault(EXC_PF, 0);
  CHECK_FALSE(m.cpu->deliver_pending_fault());
  CHECK(s.cr2 == 0x7ffc); // the first push, which faulted
  CHECK(s.rip == 0x1234);
}

TEST_CASE("long mode: 16-byte gates, IST and the aligned frame") {
  CoreMachine m;
  m.long_mode();
  CpuState &s = m.state();
  m.put64(kTssBase + 4, 0x90000);    // RSP0
  m.put64(kTssBase + 0x24, 0xa0008); // IST1 (unaligned on purpose)
  gate64(m, EXC_PF, 0x201000);
  gate64(m, EXC_NMI, 0x202000, 1);
  gate64(m, 0x80, 0x203000, 0, 3);

  // Same privilege, no IST: the frame lands on the current stack, aligned.
  s.gpr[RSP] = 0x80008;
  s.rip = 0x1000;
  m.cpu->fault(EXC_PF, 0x2);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x201000);
  CHECK(s.gpr[RSP] == 0x80000 - 48);
  CHECK(m.get64(0x80000 - 48) == 0x2);    // error code
  CHECK(m.get64(0x80000 - 40) == 0x1000); // RIP
  CHECK(m.get64(0x80000 - 32) == kCode64Selector);
  CHECK(m.get64(0x80000 - 16) == 0x80008); // old RSP
  CHECK(m.get64(0x80000 - 8) == kData32Selector);

  // IST1 wins over the current stack.
  s.gpr[RSP] = 0x80000;
  s.nmi_pending = true;
  s.rflags |= IF;
  m.cpu->fault(EXC_NMI);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x202000);
  CHECK(s.gpr[RSP] == 0xa0000 - 40);

  // From CPL 3: RSP0, SS becomes the null selector with RPL 0.
  m.enter_user_mode();
  s.gpr[RSP] = 0x70000;
  m.cpu->next_rip = 0x1002;
  REQUIRE(m.cpu->software_interrupt(0x80));
  CHECK(s.cpl() == 0);
  CHECK(s.seg[SS].selector == 0);
  CHECK(s.gpr[RSP] == 0x90000 - 40);
  CHECK(m.get64(0x90000 - 8) == kUserData32Selector);
  CHECK(m.get64(0x90000 - 40) == 0x1002);
}

TEST_CASE("long mode #DF: page fault while pushing a page fault frame") {
  CoreMachine m;
  m.long_mode();
  CpuState &s = m.state();
  // IST2 points into an unmapped 2 MiB region.
  m.put64(CoreMachine::kPml4 + 0x2000 + 10 * 8, 0);
  m.put64(kTssBase + 0x2c, 0x1500000);
  gate64(m, EXC_PF, 0x201000, 2);
  gate64(m, EXC_DF, 0x204000);
  s.gpr[RSP] = 0x80000;
  s.rip = 0x1000;
  m.cpu->fault(EXC_PF, 0);
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.rip == 0x204000);
  CHECK(s.cr2 == 0x1500000 - 8);
  CHECK(m.get64(0x80000 - 48) == 0);      // #DF error code
  CHECK(m.get64(0x80000 - 40) == 0x1000); // the faulting instruction
}
