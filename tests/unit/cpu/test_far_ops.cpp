#include <catch2/catch.hpp>

#include "system_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

Instruction far_pointer(Op op, uint16_t selector, uint64_t offset,
                        unsigned opsize = 4) {
  Instruction insn = make(op, opsize, 7);
  insn.imm = offset;
  insn.imm2 = selector;
  return insn;
}

Instruction far_return(Op op, unsigned opsize, uint16_t release = 0) {
  Instruction insn = make(op, opsize, 1);
  insn.imm = release;
  return insn;
}

} // namespace

TEST_CASE("far JMP loads a same-privilege code segment or faults cleanly",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.state().rip = 0x100;

  REQUIRE(m.run(far_pointer(Op::JMP_FAR, SEL_CONFORMING, 0x1234)));
  CHECK(m.state().seg[CS].selector == SEL_CONFORMING);
  CHECK(m.state().rip == 0x1234);
  CHECK(m.state().code_size() == CodeSize::Bits32);

  REQUIRE(m.run(far_pointer(Op::JMP_FAR, SEL_CODE0, 0x2000)));
  CHECK(m.state().seg[CS].selector == SEL_CODE0);

  CHECK_FALSE(m.run(far_pointer(Op::JMP_FAR, SEL_DATA0, 0x10)));
  CHECK(m.faulted(EXC_GP, SEL_DATA0));
  CHECK_FALSE(m.run(far_pointer(Op::JMP_FAR, SEL_NOT_PRESENT, 0x10)));
  CHECK(m.faulted(EXC_NP, SEL_NOT_PRESENT));
  CHECK_FALSE(m.run(far_pointer(Op::JMP_FAR, SEL_CODE3 | 3, 0x10)));
  CHECK(m.faulted(EXC_GP, SEL_CODE3));
  CHECK_FALSE(m.run(far_pointer(Op::JMP_FAR, 0, 0x10)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.state().seg[CS].selector == SEL_CODE0);
  CHECK(m.state().rip == 0x2000);
}

TEST_CASE("far JMP in real mode sets CS base from the selector", "[far]") {
  SystemMachine m;
  m.state().seg[CS].limit = 0xffff;
  Instruction insn = far_pointer(Op::JMP_FAR, 0x1234, 0x5678, 2);
  REQUIRE(m.run(insn));
  CHECK(m.state().seg[CS].selector == 0x1234);
  CHECK(m.state().seg[CS].base == 0x12340);
  CHECK(m.state().rip == 0x5678);
}

TEST_CASE("far CALL and RETF at the same privilege in protected mode",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.state().rip = 0x500;
  m.state().gpr[RSP] = 0x8000;

  REQUIRE(m.run(far_pointer(Op::CALL_FAR, SEL_CODE0, 0x2000)));
  CHECK(m.state().rip == 0x2000);
  CHECK(m.state().gpr[RSP] == 0x7ff8);
  CHECK(m.peek<uint32_t>(0x7ffc) == SEL_CODE0);
  CHECK(m.peek<uint32_t>(0x7ff8) == 0x507);

  REQUIRE(m.run(far_return(Op::RETF, 4, 8)));
  CHECK(m.state().rip == 0x507);
  CHECK(m.state().seg[CS].selector == SEL_CODE0);
  CHECK(m.state().gpr[RSP] == 0x8008);
}

TEST_CASE("a faulting far CALL leaves the stack pointer alone", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.state().seg[SS].limit = 0x7ffb; // room for one of the two pushes
  m.state().gpr[RSP] = 0x8000;
  m.state().rip = 0x500;
  CHECK_FALSE(m.run(far_pointer(Op::CALL_FAR, SEL_CODE0, 0x2000)));
  CHECK(m.faulted(EXC_SS, 0));
  CHECK(m.state().gpr[RSP] == 0x8000);
  CHECK(m.state().rip == 0x500);
}

TEST_CASE("CALL through a 32-bit call gate to ring 0 and RETF back to ring 3",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x3000, 3, 12, 2));
  m.poke<uint32_t>(kTss + 4, 0x9000);    // ESP0
  m.poke<uint16_t>(kTss + 8, SEL_DATA0); // SS0
  m.poke<uint32_t>(0x6000, 0x11111111);
  m.poke<uint32_t>(0x6004, 0x22222222);
  m.state().gpr[RSP] = 0x6000;
  m.state().rip = 0x400;

  REQUIRE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0)));
  CpuState &s = m.state();
  CHECK(s.cpl() == 0);
  CHECK(s.seg[CS].selector == SEL_CODE0);
  CHECK(s.seg[SS].selector == SEL_DATA0);
  CHECK(s.rip == 0x3000);
  REQUIRE(s.gpr[RSP] == 0x9000 - 24);
  CHECK(m.peek<uint32_t>(0x8fe8) == 0x407);
  CHECK(m.peek<uint32_t>(0x8fec) == (SEL_CODE3 | 3));
  CHECK(m.peek<uint32_t>(0x8ff0) == 0x11111111);
  CHECK(m.peek<uint32_t>(0x8ff4) == 0x22222222);
  CHECK(m.peek<uint32_t>(0x8ff8) == 0x6000);
  CHECK(m.peek<uint32_t>(0x8ffc) == (SEL_DATA3 | 3));

  s.seg[DS] = m.cache(SEL_DATA0); // the kernel's data segment
  REQUIRE(m.run(far_return(Op::RETF, 4, 8)));
  CHECK(s.cpl() == 3);
  CHECK(s.seg[CS].selector == (SEL_CODE3 | 3));
  CHECK(s.seg[SS].selector == (SEL_DATA3 | 3));
  CHECK(s.gpr[RSP] == 0x6008);
  CHECK(s.rip == 0x407);
  CHECK(s.seg[DS].selector == 0);
  CHECK(s.seg[ES].selector == (SEL_DATA3 | 3));
}

TEST_CASE("call gate checks: gate DPL and a bad TSS stack", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.state().gpr[RSP] = 0x6000;
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x3000, 0, 12, 0));
  CHECK_FALSE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0)));
  CHECK(m.faulted(EXC_GP, SEL_GATE));

  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x3000, 3, 12, 0));
  m.poke<uint16_t>(kTss + 8, SEL_DATA3); // SS0 with DPL 3
  CHECK_FALSE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0)));
  CHECK(m.faulted(EXC_TS, SEL_DATA3));
  CHECK(m.state().cpl() == 3);
  CHECK(m.state().gpr[RSP] == 0x6000);
}

TEST_CASE("JMP through a call gate keeps the privilege level", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x4444, 0, 12, 0));
  m.state().gpr[RSP] = 0x8000;
  REQUIRE(m.run(far_pointer(Op::JMP_FAR, SEL_GATE, 0)));
  CHECK(m.state().rip == 0x4444);
  CHECK(m.state().seg[CS].selector == SEL_CODE0);
  CHECK(m.state().gpr[RSP] == 0x8000);
}

TEST_CASE("IRET to an outer privilege level in protected mode", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  s.seg[DS] = m.cache(SEL_DATA0);
  m.poke<uint32_t>(0x8000, 0x1000);
  m.poke<uint32_t>(0x8004, SEL_CODE3 | 3);
  m.poke<uint32_t>(0x8008, 0x3202 | CF); // IF, IOPL 3
  m.poke<uint32_t>(0x800c, 0x7000);
  m.poke<uint32_t>(0x8010, SEL_DATA3 | 3);

  REQUIRE(m.run(far_return(Op::IRET, 4)));
  CHECK(s.cpl() == 3);
  CHECK(s.rip == 0x1000);
  CHECK(s.seg[SS].selector == (SEL_DATA3 | 3));
  CHECK(s.gpr[RSP] == 0x7000);
  CHECK(m.cpu->rflags() == (0x3202 | CF));
  CHECK(s.seg[DS].selector == 0);
}

TEST_CASE("IRET at CPL 3 cannot change IF or IOPL", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  m.cpu->set_rflags(0x202);
  s.gpr[RSP] = 0x8000;
  m.poke<uint32_t>(0x8000, 0x1000);
  m.poke<uint32_t>(0x8004, SEL_CODE3 | 3);
  m.poke<uint32_t>(0x8008, 0x3002 | ZF);
  REQUIRE(m.run(far_return(Op::IRET, 4)));
  CHECK(m.cpu->rflags() == (0x202 | ZF));
  CHECK(s.gpr[RSP] == 0x800c);
}

TEST_CASE("IRET with NT set is an unimplemented task return: #GP", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.cpu->set_rflags(0x2 | NT);
  m.state().gpr[RSP] = 0x8000;
  CHECK_FALSE(m.run(far_return(Op::IRET, 4)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("IRETQ pops SS:RSP, to ring 3 and at the same level", "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  m.poke<uint64_t>(0x8000, 0x123456789);
  m.poke<uint64_t>(0x8008, SEL_CODE64_3 | 3);
  m.poke<uint64_t>(0x8010, 0x202);
  m.poke<uint64_t>(0x8018, 0x7000);
  m.poke<uint64_t>(0x8020, SEL_DATA3 | 3);
  REQUIRE(m.run(far_return(Op::IRET, 8)));
  CHECK(s.cpl() == 3);
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.rip == 0x123456789);
  CHECK(s.gpr[RSP] == 0x7000);
  CHECK(s.seg[SS].selector == (SEL_DATA3 | 3));

  SystemMachine k;
  k.enter_long_mode(0);
  k.state().gpr[RSP] = 0x8000;
  k.poke<uint64_t>(0x8000, 0xffffffff81000000);
  k.poke<uint64_t>(0x8008, SEL_CODE64);
  k.poke<uint64_t>(0x8010, 0x2);
  k.poke<uint64_t>(0x8018, 0x6000);
  k.poke<uint64_t>(0x8020, 0); // null SS is fine at ring 0
  REQUIRE(k.run(far_return(Op::IRET, 8)));
  CHECK(k.state().rip == 0xffffffff81000000);
  CHECK(k.state().gpr[RSP] == 0x6000);
  CHECK(k.state().seg[SS].selector == 0);
}

TEST_CASE("IRETQ to a non-canonical RIP faults without changing state",
          "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  m.state().gpr[RSP] = 0x8000;
  m.state().rip = 0x777;
  m.poke<uint64_t>(0x8000, 0x0000800000000000);
  m.poke<uint64_t>(0x8008, SEL_CODE64);
  m.poke<uint64_t>(0x8010, 0x2);
  m.poke<uint64_t>(0x8018, 0x6000);
  m.poke<uint64_t>(0x8020, SEL_DATA0);
  CHECK_FALSE(m.run(far_return(Op::IRET, 8)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.state().gpr[RSP] == 0x8000);
  CHECK(m.state().rip == 0x777);
}

TEST_CASE("far CALL through memory and RETF in long mode", "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  s.rip = 0x1000;
  m.poke<uint64_t>(0x5000, 0x200000);
  m.poke<uint16_t>(0x5008, SEL_CODE64);
  Instruction call =
      with_memory(make(Op::CALL_FAR_INDIRECT, 8, 3), 0, 0x5000, 10);
  call.addrsize = 8;
  REQUIRE(m.run(call));
  CHECK(s.rip == 0x200000);
  CHECK(s.gpr[RSP] == 0x7ff0);
  CHECK(m.peek<uint64_t>(0x7ff8) == SEL_CODE64);
  CHECK(m.peek<uint64_t>(0x7ff0) == 0x1003);

  REQUIRE(m.run(far_return(Op::RETF, 8)));
  CHECK(s.rip == 0x1003);
  CHECK(s.gpr[RSP] == 0x8000);

  // m16:32 to a compatibility-mode segment.
  m.poke<uint32_t>(0x5100, 0x3000);
  m.poke<uint16_t>(0x5104, SEL_CODE0);
  Instruction jump =
      with_memory(make(Op::JMP_FAR_INDIRECT, 4, 3), 0, 0x5100, 6);
  jump.addrsize = 8;
  REQUIRE(m.run(jump));
  CHECK(s.code_size() == CodeSize::Bits32);
  CHECK(s.rip == 0x3000);
}

TEST_CASE("CALL through a 64-bit call gate takes RSP0 from the TSS", "[far]") {
  SystemMachine m;
  m.enter_long_mode(3);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE64, 0x81000000, 3, 12, 0));
  m.set_gdt(SEL_GATE + 8, 0xffffffff);
  m.poke<uint64_t>(kTss + 4, 0x9000);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x6000;
  s.rip = 0x400;
  m.poke<uint64_t>(0x5000, 0);
  m.poke<uint16_t>(0x5008, SEL_GATE | 3);
  Instruction call =
      with_memory(make(Op::CALL_FAR_INDIRECT, 8, 3), 0, 0x5000, 10);
  call.addrsize = 8;
  REQUIRE(m.run(call));
  CHECK(s.cpl() == 0);
  CHECK(s.rip == 0xffffffff81000000);
  CHECK(s.seg[SS].selector == 0);
  REQUIRE(s.gpr[RSP] == 0x9000 - 32);
  CHECK(m.peek<uint64_t>(0x8fe0) == 0x403);
  CHECK(m.peek<uint64_t>(0x8fe8) == (SEL_CODE64_3 | 3));
  CHECK(m.peek<uint64_t>(0x8ff0) == 0x6000);
  CHECK(m.peek<uint64_t>(0x8ff8) == (SEL_DATA3 | 3));
}

TEST_CASE("SYSCALL and SYSRET round trip in 64-bit mode", "[far]") {
  SystemMachine m;
  m.enter_long_mode(3);
  CpuState &s = m.state();
  s.efer |= EFER_SCE;
  s.msr.star = (uint64_t{0x10} << 48) | (uint64_t{SEL_CODE64} << 32);
  s.msr.lstar = 0xffffffff81000000;
  s.msr.sfmask = IF | DF;
  m.cpu->set_rflags(0x202 | DF | CF);
  s.rip = 0x400000;

  REQUIRE(m.run(make(Op::SYSCALL, 4, 2)));
  CHECK(s.cpl() == 0);
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.seg[CS].selector == SEL_CODE64);
  CHECK(s.seg[SS].selector == SEL_CODE64 + 8);
  CHECK(s.rip == 0xffffffff81000000);
  CHECK(s.gpr[RCX] == 0x400002);
  CHECK(s.gpr[R11] == (0x202 | DF | CF));
  CHECK(m.cpu->rflags() == (0x2 | CF));

  REQUIRE(m.run(make(Op::SYSRET, 8, 3)));
  CHECK(s.cpl() == 3);
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.seg[CS].selector == 0x23);
  CHECK(s.seg[SS].selector == 0x1b);
  CHECK(s.rip == 0x400002);
  CHECK(m.cpu->rflags() == (0x202 | DF | CF));

  CHECK_FALSE(m.run(make(Op::SYSRET, 8, 3)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("SYSRET checks RCX and SYSCALL needs EFER.SCE", "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  CpuState &s = m.state();
  s.efer |= EFER_SCE;
  s.msr.star = uint64_t{0x10} << 48;
  s.gpr[RCX] = 0x0000800000000000;
  CHECK_FALSE(m.run(make(Op::SYSRET, 8, 3)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(s.cpl() == 0);

  s.gpr[RCX] = 0x12345678;
  REQUIRE(m.run(make(Op::SYSRET, 4, 2)));
  CHECK(s.code_size() == CodeSize::Bits32);
  CHECK(s.seg[CS].selector == 0x13);
  CHECK(s.rip == 0x12345678);

  SystemMachine off;
  off.enter_long_mode(3);
  CHECK_FALSE(off.run(make(Op::SYSCALL, 4, 2)));
  CHECK(off.faulted(EXC_UD, 0));
}

TEST_CASE("SYSENTER and SYSEXIT in 32-bit protected mode", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  m.cpu->set_rflags(0x202);
  CHECK_FALSE(m.run(make(Op::SYSENTER, 4, 2)));
  CHECK(m.faulted(EXC_GP, 0));

  s.msr.sysenter_cs = SEL_CODE0;
  s.msr.sysenter_esp = 0x9000;
  s.msr.sysenter_eip = 0xc0001000;
  REQUIRE(m.run(make(Op::SYSENTER, 4, 2)));
  CHECK(s.cpl() == 0);
  CHECK(s.seg[CS].selector == SEL_CODE0);
  CHECK(s.seg[SS].selector == SEL_DATA0);
  CHECK(s.gpr[RSP] == 0x9000);
  CHECK(s.rip == 0xc0001000);
  CHECK_FALSE(m.cpu->flag(IF));

  s.gpr[RCX] = 0x7000;
  s.gpr[RDX] = 0x401000;
  REQUIRE(m.run(make(Op::SYSEXIT, 4, 2)));
  CHECK(s.cpl() == 3);
  CHECK(s.seg[CS].selector == (SEL_CODE3 | 3));
  CHECK(s.seg[SS].selector == (SEL_DATA3 | 3));
  CHECK(s.gpr[RSP] == 0x7000);
  CHECK(s.rip == 0x401000);

  CHECK_FALSE(m.run(make(Op::SYSEXIT, 4, 2)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("SYSENTER and SYSEXIT with REX.W in long mode", "[far]") {
  SystemMachine m;
  m.enter_long_mode(3);
  CpuState &s = m.state();
  s.msr.sysenter_cs = SEL_CODE0;
  s.msr.sysenter_esp = 0xffff888000009000;
  s.msr.sysenter_eip = 0xffffffff81000000;
  REQUIRE(m.run(make(Op::SYSENTER, 4, 2)));
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.gpr[RSP] == 0xffff888000009000);
  CHECK(s.rip == 0xffffffff81000000);

  s.gpr[RCX] = 0x7fff0000;
  s.gpr[RDX] = 0x400000;
  REQUIRE(m.run(make(Op::SYSEXIT, 8, 3)));
  CHECK(s.cpl() == 3);
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.seg[CS].selector == (SEL_CODE0 + 32 | 3));
  CHECK(s.seg[SS].selector == (SEL_CODE0 + 40 | 3));
  CHECK(s.rip == 0x400000);
}

TEST_CASE("SWAPGS exchanges GS.base with KERNEL_GS_BASE at CPL 0", "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  CpuState &s = m.state();
  s.seg[GS].base = 0x1111;
  s.msr.kernel_gs_base = 0x2222;
  REQUIRE(m.run(make(Op::SWAPGS, 4, 3)));
  CHECK(s.seg[GS].base == 0x2222);
  CHECK(s.msr.kernel_gs_base == 0x1111);

  SystemMachine user;
  user.enter_long_mode(3);
  CHECK_FALSE(user.run(make(Op::SWAPGS, 4, 3)));
  CHECK(user.faulted(EXC_GP, 0));
}

TEST_CASE("INTO does nothing when OF is clear", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.cpu->set_rflags(0x202);
  m.state().rip = 0x10;
  REQUIRE(m.run(make(Op::INTO, 4, 1)));
  CHECK(m.state().rip == 0x11);
}

TEST_CASE("decoded far CALL, RETF imm16 and IRETQ run through the handlers",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  s.rip = 0x500;
  // call 0x0008:0x00002000
  Instruction call =
      decoded({0x9a, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00}, CodeSize::Bits32);
  REQUIRE(call.op == Op::CALL_FAR);
  REQUIRE(m.run(call));
  CHECK(s.rip == 0x2000);
  CHECK(m.peek<uint32_t>(0x7ff8) == 0x507);

  Instruction retf = decoded({0xca, 0x08, 0x00}, CodeSize::Bits32);
  REQUIRE(retf.op == Op::RETF);
  REQUIRE(m.run(retf));
  CHECK(s.rip == 0x507);
  CHECK(s.gpr[RSP] == 0x8008);

  SystemMachine l;
  l.enter_long_mode(0);
  l.state().gpr[RSP] = 0x8000;
  l.poke<uint64_t>(0x8000, 0x400000);
  l.poke<uint64_t>(0x8008, SEL_CODE64_3 | 3);
  l.poke<uint64_t>(0x8010, 0x202);
  l.poke<uint64_t>(0x8018, 0x7000);
  l.poke<uint64_t>(0x8020, SEL_DATA3 | 3);
  Instruction iretq = decoded({0x48, 0xcf}, CodeSize::Bits64);
  REQUIRE(iretq.op == Op::IRET);
  REQUIRE(l.run(iretq));
  CHECK(l.state().cpl() == 3);
  CHECK(l.state().rip == 0x400000);
  CHECK(l.state().gpr[RSP] == 0x7000);
}

TEST_CASE("real-mode far CALL, RETF and IRET", "[far]") {
  SystemMachine m;
  CpuState &s = m.state();
  s.seg[CS].limit = 0xffff;
  s.gpr[RSP] = 0x8000;
  s.rip = 0x100;
  REQUIRE(m.run(far_pointer(Op::CALL_FAR, 0x2000, 0x0010, 2)));
  CHECK(s.seg[CS].base == 0x20000);
  CHECK(s.rip == 0x10);
  CHECK(s.gpr[RSP] == 0x7ffc);
  CHECK(m.peek<uint16_t>(0x7ffe) == 0xf000);
  CHECK(m.peek<uint16_t>(0x7ffc) == 0x107);

  REQUIRE(m.run(far_return(Op::RETF, 2)));
  CHECK(s.seg[CS].selector == 0xf000);
  CHECK(s.seg[CS].base == 0xf0000);
  CHECK(s.rip == 0x107);
  CHECK(s.gpr[RSP] == 0x8000);

  m.poke<uint16_t>(0x8000, 0x1234);
  m.poke<uint16_t>(0x8002, 0x3000);
  m.poke<uint16_t>(0x8004, 0x0203 | 0x3000); // CF, IF, IOPL 3
  REQUIRE(m.run(far_return(Op::IRET, 2)));
  CHECK(s.seg[CS].base == 0x30000);
  CHECK(s.rip == 0x1234);
  CHECK(m.cpu->rflags() == (0x3203));
  CHECK(s.gpr[RSP] == 0x8006);
}

TEST_CASE("INT n in real mode vectors through the IVT past the instruction",
          "[far]") {
  SystemMachine m;
  CpuState &s = m.state();
  s.idtr = {0, 0x3ff};
  s.gpr[RSP] = 0x8000;
  s.rip = 0x100;
  m.poke<uint16_t>(0x21 * 4, 0x4321);
  m.poke<uint16_t>(0x21 * 4 + 2, 0x0700);
  Instruction int21 = make(Op::INT, 2, 2);
  int21.imm = 0x21;
  REQUIRE(m.run(int21));
  CHECK(s.seg[CS].selector == 0x0700);
  CHECK(s.rip == 0x4321);
  CHECK(m.peek<uint16_t>(0x7ffa) == 0x102);
}

TEST_CASE("INT n in virtual-8086 mode with IOPL < 3 raises #GP(0)", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.cpu->set_rflags(0x2 | VM);
  Instruction int21 = make(Op::INT, 2, 2);
  int21.imm = 0x21;
  CHECK_FALSE(m.run(int21));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("far JMP to a TSS or a task gate raises #GP(selector)", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_TSS, 0, 0, SYS_TASK_GATE, 0));
  CHECK_FALSE(m.run(far_pointer(Op::JMP_FAR, SEL_TSS, 0)));
  CHECK(m.faulted(EXC_GP, SEL_TSS));
  CHECK_FALSE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE, 0)));
  CHECK(m.faulted(EXC_GP, SEL_GATE));
  CHECK(m.state().seg[CS].selector == SEL_CODE0);
}

TEST_CASE("RETF to ring 3 in long mode pops SS:RSP and releases bytes",
          "[far]") {
  SystemMachine m;
  m.enter_long_mode(0);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x8000;
  m.poke<uint64_t>(0x8000, 0x401000);
  m.poke<uint64_t>(0x8008, SEL_CODE64_3 | 3);
  m.poke<uint64_t>(0x8020, 0x7000); // after 16 released bytes
  m.poke<uint64_t>(0x8028, SEL_DATA3 | 3);
  REQUIRE(m.run(far_return(Op::RETF, 8, 16)));
  CHECK(s.cpl() == 3);
  CHECK(s.rip == 0x401000);
  CHECK(s.gpr[RSP] == 0x7010);
  CHECK(s.seg[SS].selector == (SEL_DATA3 | 3));

  SystemMachine n;
  n.enter_long_mode(0);
  n.state().gpr[RSP] = 0x8000;
  n.poke<uint64_t>(0x8000, 0x401000);
  n.poke<uint64_t>(0x8008, SEL_CODE64_3 | 3);
  n.poke<uint64_t>(0x8010, 0x7000);
  n.poke<uint64_t>(0x8018, 0); // null SS cannot go to ring 3
  CHECK_FALSE(n.run(far_return(Op::RETF, 8)));
  CHECK(n.faulted(EXC_GP, 0));
  CHECK(n.state().cpl() == 0);
  CHECK(n.state().gpr[RSP] == 0x8000);
}

TEST_CASE("a 32-bit TSS needs ESP0 and SS0 within its limit", "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x3000, 3, 12, 0));
  m.poke<uint32_t>(kTss + 4, 0x9000);
  m.poke<uint16_t>(kTss + 8, SEL_DATA0);
  m.state().gpr[RSP] = 0x6000;
  m.state().tr.limit = 8;
  CHECK_FALSE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0)));
  CHECK(m.faulted(EXC_TS, SEL_TSS));

  m.state().tr.limit = 9;
  REQUIRE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0)));
  CHECK(m.state().gpr[RSP] == 0x9000 - 16);
}

TEST_CASE("INT1 reaches a DPL 0 #DB gate from ring 3 as a trap, INT 1 "
          "does not",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  m.poke<uint64_t>(kIdt + 8 * EXC_DB,
                   gate_descriptor(SEL_CODE0, 0x7000, 0, 14, 0));
  m.poke<uint32_t>(kTss + 4, 0x9000);
  m.poke<uint16_t>(kTss + 8, SEL_DATA0);
  s.gpr[RSP] = 0x6000;
  s.rip = 0x400;

  Instruction int_1 = make(Op::INT, 4, 2);
  int_1.imm = 1;
  CHECK_FALSE(m.run(int_1));
  CHECK(m.faulted(EXC_GP, EXC_DB * 8 + 2));
  CHECK(s.rip == 0x400);

  CHECK_FALSE(m.run(make(Op::INT1, 4, 1)));
  REQUIRE(m.cpu->deliver_pending_fault());
  CHECK(s.cpl() == 0);
  CHECK(s.rip == 0x7000);
  CHECK(m.peek<uint32_t>(s.gpr[RSP]) == 0x401);
}

TEST_CASE("IRET in virtual-8086 mode: IOPL 3 returns, IOPL < 3 is #GP",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  m.cpu->set_rflags(0x2 | VM | IOPL);
  for (unsigned seg : {ES, CS, SS, DS, FS, GS}) {
    s.seg[seg].selector = 0;
    s.seg[seg].base = 0;
    s.seg[seg].limit = 0xffff;
    s.seg[seg].attributes = 0xf3;
  }
  s.gpr[RSP] = 0x8000;
  m.poke<uint16_t>(0x8000, 0x0010);
  m.poke<uint16_t>(0x8002, 0x1000);
  m.poke<uint16_t>(0x8004, 0x0202 | CF); // tries to clear IOPL
  REQUIRE(m.run(far_return(Op::IRET, 2)));
  CHECK(s.seg[CS].base == 0x10000);
  CHECK(s.rip == 0x10);
  CHECK(m.cpu->rflags() == (0x2 | VM | IOPL | IF | CF));

  m.cpu->set_rflags(0x2 | VM);
  CHECK_FALSE(m.run(far_return(Op::IRET, 2)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("a 16-bit call gate copies words and pushes a 16-bit frame",
          "[far]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0x13000, 3, 4, 1));
  m.poke<uint32_t>(kTss + 4, 0x9000);
  m.poke<uint16_t>(kTss + 8, SEL_DATA0);
  m.poke<uint16_t>(0x6000, 0xbeef);
  CpuState &s = m.state();
  s.gpr[RSP] = 0x6000;
  s.rip = 0x400;
  REQUIRE(m.run(far_pointer(Op::CALL_FAR, SEL_GATE | 3, 0, 2)));
  CHECK(s.rip == 0x3000); // a 16-bit gate holds 16 bits of offset
  REQUIRE(s.gpr[RSP] == 0x9000 - 10);
  CHECK(m.peek<uint16_t>(0x8ff6) == 0x407);
  CHECK(m.peek<uint16_t>(0x8ff8) == (SEL_CODE3 | 3));
  CHECK(m.peek<uint16_t>(0x8ffa) == 0xbeef);
  CHECK(m.peek<uint16_t>(0x8ffc) == 0x6000);
  CHECK(m.peek<uint16_t>(0x8ffe) == (SEL_DATA3 | 3));
}
