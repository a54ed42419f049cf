#include <catch2/catch.hpp>

#include "cpu/msr.h"
#include "system_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint64_t kOperand = 0x5000;

Instruction table_op(Op op, unsigned opsize, unsigned addrsize = 4) {
  Instruction insn = with_memory(make(op, opsize, 3), 0, kOperand, 6);
  insn.addrsize = static_cast<uint8_t>(addrsize);
  return insn;
}

Instruction mov_cr(unsigned cr, unsigned gpr, bool write) {
  Instruction insn = make(Op::MOV_CR, 4, 3);
  insn.aux = write ? 1 : 0;
  Operand special{OperandKind::Cr, 4, static_cast<uint8_t>(cr)};
  Operand general{OperandKind::Reg, 4, static_cast<uint8_t>(gpr)};
  insn.operands[0] = write ? special : general;
  insn.operands[1] = write ? general : special;
  insn.operand_count = 2;
  return insn;
}

Instruction mov_dr(unsigned dr, unsigned gpr, bool write) {
  Instruction insn = mov_cr(dr, gpr, write);
  insn.op = Op::MOV_DR;
  insn.operands[write ? 0 : 1].kind = OperandKind::Dr;
  return insn;
}

// LAR/LSL r32, r16 with the selector in RBX.
Instruction probe(Op op, unsigned opsize = 4) {
  Instruction insn = with_register(make(op, opsize, 3), 0, RAX, opsize);
  return with_register(insn, 1, RBX, 2);
}

Instruction verify(Op op) {
  return with_register(make(op, 2, 3), 0, RBX, 2);
}

bool zf(SystemMachine &m) {
  return m.cpu->flag(ZF);
}

} // namespace

TEST_CASE("LGDT takes a 24-bit base with a 16-bit operand size", "[system]") {
  SystemMachine m; // real mode: CPL 0, DS base 0
  m.poke<uint16_t>(kOperand, 0x1234);
  m.poke<uint32_t>(kOperand + 2, 0xaabbccdd);
  REQUIRE(m.run(table_op(Op::LGDT, 2, 2)));
  CHECK(m.state().gdtr.limit == 0x1234);
  CHECK(m.state().gdtr.base == 0xbbccdd);

  REQUIRE(m.run(table_op(Op::LIDT, 4, 2)));
  CHECK(m.state().idtr.limit == 0x1234);
  CHECK(m.state().idtr.base == 0xaabbccdd);
}

TEST_CASE("SGDT stores 6 bytes outside and 10 bytes in 64-bit mode",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  m.state().gdtr = {0x12345678, 0x3ff};
  m.poke<uint64_t>(kOperand, ~uint64_t{0});
  m.poke<uint64_t>(kOperand + 8, ~uint64_t{0});
  REQUIRE(m.run(table_op(Op::SGDT, 4)));
  CHECK(m.peek<uint16_t>(kOperand) == 0x3ff);
  CHECK(m.peek<uint32_t>(kOperand + 2) == 0x12345678);
  CHECK(m.peek<uint16_t>(kOperand + 6) == 0xffff);

  SystemMachine l;
  l.enter_long_mode(0);
  l.state().idtr = {0xffffffff81234000, 0xfff};
  REQUIRE(l.run(table_op(Op::SIDT, 8, 8)));
  CHECK(l.peek<uint16_t>(kOperand) == 0xfff);
  CHECK(l.peek<uint64_t>(kOperand + 2) == 0xffffffff81234000);

  l.poke<uint64_t>(kOperand + 2, 0xffff800000001000);
  REQUIRE(l.run(table_op(Op::LGDT, 8, 8)));
  CHECK(l.state().gdtr.base == 0xffff800000001000);
  CHECK(l.state().gdtr.limit == 0xfff);
}

TEST_CASE("LGDT at CPL 3 raises #GP(0)", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CHECK_FALSE(m.run(table_op(Op::LGDT, 4)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.state().gdtr.base == kGdt);
}

TEST_CASE("MOV to and from CR0, CR3 and CR4", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RAX] = s.cr0 | CR0_MP;
  REQUIRE(m.run(mov_cr(0, RAX, true)));
  CHECK(s.cr0 & CR0_MP);

  s.gpr[RAX] = 0x7000;
  REQUIRE(m.run(mov_cr(3, RAX, true)));
  REQUIRE(m.run(mov_cr(3, RBX, false)));
  CHECK(s.gpr[RBX] == 0x7000);

  s.gpr[RAX] = CR4_PSE;
  REQUIRE(m.run(mov_cr(4, RAX, true)));
  CHECK(s.cr4 == CR4_PSE);
  s.gpr[RAX] = uint64_t{1} << 30; // reserved
  CHECK_FALSE(m.run(mov_cr(4, RAX, true)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(s.cr4 == CR4_PSE);

  CHECK_FALSE(m.run(mov_cr(1, RAX, false)));
  CHECK(m.faulted(EXC_UD, 0));
  CHECK_FALSE(m.run(mov_cr(5, RAX, true)));
  CHECK(m.faulted(EXC_UD, 0));
}

TEST_CASE("MOV CR at CPL 3 raises #GP(0)", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  m.state().gpr[RBX] = 0x55;
  CHECK_FALSE(m.run(mov_cr(0, RBX, false)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.state().gpr[RBX] == 0x55);
}

TEST_CASE("MOV DR4/DR5 alias DR6/DR7 unless CR4.DE", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  REQUIRE(m.run(mov_dr(4, RBX, false)));
  CHECK(s.gpr[RBX] == 0xffff0ff0);
  s.gpr[RAX] = 0x1;
  REQUIRE(m.run(mov_dr(5, RAX, true)));
  CHECK(s.dr[7] == 0x401);
  s.cr4 |= CR4_DE;
  CHECK_FALSE(m.run(mov_dr(4, RBX, false)));
  CHECK(m.faulted(EXC_UD, 0));
}

TEST_CASE("RDMSR and WRMSR: ECX selects, EDX:EAX carries, unknown is #GP",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RCX] = MSR_STAR;
  s.gpr[RDX] = 0x00230010;
  s.gpr[RAX] = 0x12345678;
  REQUIRE(m.run(make(Op::WRMSR, 4, 2)));
  CHECK(s.msr.star == 0x0023001012345678);
  s.gpr[RAX] = s.gpr[RDX] = 0;
  REQUIRE(m.run(make(Op::RDMSR, 4, 2)));
  CHECK(s.gpr[RAX] == 0x12345678);
  CHECK(s.gpr[RDX] == 0x00230010);

  s.gpr[RCX] = 0xdeadbeef;
  CHECK_FALSE(m.run(make(Op::RDMSR, 4, 2)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(s.gpr[RAX] == 0x12345678);

  SystemMachine user;
  user.enter_protected_mode(3);
  user.state().gpr[RCX] = MSR_STAR;
  CHECK_FALSE(user.run(make(Op::RDMSR, 4, 2)));
  CHECK(user.faulted(EXC_GP, 0));
}

TEST_CASE("HLT halts at CPL 0 and raises #GP(0) at CPL 3", "[system]") {
  SystemMachine user;
  user.enter_protected_mode(3);
  CHECK_FALSE(user.run(make(Op::HLT, 4, 1)));
  CHECK(user.faulted(EXC_GP, 0));
  CHECK_FALSE(user.state().halted);

  SystemMachine kernel;
  kernel.enter_protected_mode(0);
  kernel.state().rip = 0x100;
  REQUIRE(kernel.run(make(Op::HLT, 4, 1)));
  CHECK(kernel.state().halted);
  CHECK(kernel.state().rip == 0x101);
}

TEST_CASE("LAR reports access rights only for visible descriptors",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  s.gpr[RBX] = SEL_CODE3 | 3;
  REQUIRE(m.run(probe(Op::LAR)));
  CHECK(zf(m));
  CHECK(s.gpr[RAX] == ((m.gdt(SEL_CODE3) >> 32) & 0x00f0ff00));

  s.gpr[RAX] = 0x1234;
  for (uint16_t selector : {uint16_t{SEL_CODE0 | 3}, uint16_t{0x800},
                            uint16_t{0}, uint16_t{SEL_TSS | 3}}) {
    s.gpr[RBX] = selector;
    REQUIRE(m.run(probe(Op::LAR)));
    CHECK_FALSE(zf(m));
    CHECK(s.gpr[RAX] == 0x1234);
  }
}

TEST_CASE("LSL returns the scaled limit, system types depend on the mode",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RBX] = SEL_DATA3;
  REQUIRE(m.run(probe(Op::LSL)));
  CHECK(zf(m));
  CHECK(s.gpr[RAX] == 0xffffffff);

  s.gpr[RBX] = SEL_TSS;
  REQUIRE(m.run(probe(Op::LSL)));
  CHECK(zf(m));
  CHECK(s.gpr[RAX] == 0x67);

  m.set_gdt(SEL_GATE, gate_descriptor(SEL_CODE0, 0, 0, 12, 0));
  s.gpr[RBX] = SEL_GATE;
  REQUIRE(m.run(probe(Op::LSL)));
  CHECK_FALSE(zf(m));
  REQUIRE(m.run(probe(Op::LAR)));
  CHECK(zf(m));
}

TEST_CASE("VERR and VERW", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  struct Case {
    Op op;
    uint16_t selector;
    bool expected;
  } cases[] = {
      {Op::VERR, SEL_CODE3 | 3, true},
      {Op::VERW, SEL_CODE3 | 3, false},
      {Op::VERW, SEL_DATA3 | 3, true},
      {Op::VERR, SEL_DATA0 | 3, false},
      {Op::VERR, SEL_CONFORMING | 3, true},
      {Op::VERR, 0x1000, false},
      {Op::VERR, 0, false},
  };
  for (const Case &c : cases) {
    s.gpr[RBX] = c.selector;
    REQUIRE(m.run(verify(c.op)));
    CHECK(zf(m) == c.expected);
  }
}

TEST_CASE("LTR loads TR and marks the TSS busy, a busy TSS is #GP",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RAX] = SEL_TSS;
  Instruction ltr = with_register(make(Op::LTR, 2, 3), 0, RAX, 2);
  REQUIRE(m.run(ltr));
  CHECK(s.tr.selector == SEL_TSS);
  CHECK(s.tr.base == kTss);
  CHECK(s.tr.limit == 0x67);
  CHECK((s.tr.attributes & 0xf) == SYS_TSS32_BUSY);
  CHECK(((m.gdt(SEL_TSS) >> 40) & 0xf) == SYS_TSS32_BUSY);

  CHECK_FALSE(m.run(ltr));
  CHECK(m.faulted(EXC_GP, SEL_TSS));

  Instruction str = with_register(make(Op::STR, 4, 3), 0, RDX, 4);
  s.gpr[RDX] = ~uint64_t{0};
  REQUIRE(m.run(str));
  CHECK(s.gpr[RDX] == SEL_TSS);
}

TEST_CASE("LLDT loads an LDT descriptor and a null selector", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  m.set_gdt(SEL_GATE, segment_descriptor(0x4000, 0xff, 0x82, 0));
  s.gpr[RAX] = SEL_GATE;
  Instruction lldt = with_register(make(Op::LLDT, 2, 3), 0, RAX, 2);
  REQUIRE(m.run(lldt));
  CHECK(s.ldtr.selector == SEL_GATE);
  CHECK(s.ldtr.base == 0x4000);
  CHECK(s.ldtr.limit == 0xff);

  s.gpr[RAX] = SEL_DATA0;
  CHECK_FALSE(m.run(lldt));
  CHECK(m.faulted(EXC_GP, SEL_DATA0));

  s.gpr[RAX] = 0;
  REQUIRE(m.run(lldt));
  CHECK(s.ldtr.selector == 0);
}

TEST_CASE("LMSW cannot clear PE, SMSW and CLTS", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.gpr[RAX] = CR0_TS | CR0_MP;
  REQUIRE(m.run(with_register(make(Op::LMSW, 2, 3), 0, RAX, 2)));
  CHECK(s.cr0 & CR0_PE);
  CHECK(s.cr0 & CR0_TS);
  CHECK(s.cr0 & CR0_MP);

  REQUIRE(m.run(make(Op::CLTS, 4, 2)));
  CHECK_FALSE(s.cr0 & CR0_TS);

  REQUIRE(m.run(with_register(make(Op::SMSW, 2, 3), 0, RBX, 2)));
  CHECK((s.gpr[RBX] & 0xffff) == (s.cr0 & 0xffff));
}

TEST_CASE("ARPL raises the destination RPL and reports it in ZF", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  Instruction arpl =
      with_register(with_register(make(Op::ARPL, 2, 2), 0, RAX, 2), 1, RBX, 2);
  s.gpr[RAX] = 0x10;
  s.gpr[RBX] = 0x23;
  REQUIRE(m.run(arpl));
  CHECK(s.gpr[RAX] == 0x13);
  CHECK(zf(m));
  REQUIRE(m.run(arpl));
  CHECK_FALSE(zf(m));
}

TEST_CASE("RDTSC honours CR4.TSD and counts up", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  REQUIRE(m.run(make(Op::RDTSC, 4, 2)));
  uint64_t first = (s.gpr[RDX] << 32) | s.gpr[RAX];
  REQUIRE(m.run(make(Op::RDTSC, 4, 2)));
  uint64_t second = (s.gpr[RDX] << 32) | s.gpr[RAX];
  CHECK(second > first);

  s.cr4 |= CR4_TSD;
  CHECK_FALSE(m.run(make(Op::RDTSC, 4, 2)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("RDFSBASE/WRFSBASE need CR4.FSGSBASE and a canonical value",
          "[system]") {
  SystemMachine m;
  m.enter_long_mode(3);
  CpuState &s = m.state();
  Instruction wrgs = with_register(make(Op::WRFSBASE, 8, 5), 0, RAX, 8);
  wrgs.aux = 1;
  s.gpr[RAX] = 0x7fff12340000;
  CHECK_FALSE(m.run(wrgs));
  CHECK(m.faulted(EXC_UD, 0));

  s.cr4 |= CR4_FSGSBASE;
  REQUIRE(m.run(wrgs));
  CHECK(s.seg[GS].base == 0x7fff12340000);
  s.gpr[RAX] = 0x0000800000000000;
  CHECK_FALSE(m.run(wrgs));
  CHECK(m.faulted(EXC_GP, 0));

  Instruction rdgs = with_register(make(Op::RDFSBASE, 4, 5), 0, RBX, 4);
  rdgs.aux = 1;
  REQUIRE(m.run(rdgs));
  CHECK(s.gpr[RBX] == 0x12340000);
}

TEST_CASE("BOUND raises #BR outside the bounds", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  m.poke<int32_t>(kOperand, -5);
  m.poke<int32_t>(kOperand + 4, 10);
  Instruction bound = with_memory(
      with_register(make(Op::BOUND, 4, 2), 0, RAX, 4), 1, kOperand, 8);
  s.gpr[RAX] = static_cast<uint32_t>(-5);
  CHECK(m.run(bound));
  s.gpr[RAX] = 11;
  CHECK_FALSE(m.run(bound));
  CHECK(m.faulted(EXC_BR, 0));
}

TEST_CASE("instructions this CPU does not offer raise #UD", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  for (Op op : {Op::MONITOR, Op::MWAIT, Op::RSM, Op::XGETBV}) {
    CHECK_FALSE(m.run(make(op, 4, 3)));
    CHECK(m.faulted(EXC_UD, 0));
  }
}

TEST_CASE("INVLPG drops every cached fragment of a large page", "[system]") {
  SystemMachine m;
  m.enter_long_mode(0);
  m.poke<uint32_t>(0x5000, 0xaaaa);
  m.poke<uint32_t>(0x205000, 0xbbbb);
  uint32_t value = 0;
  REQUIRE(m.cpu->read_linear(0x5000, &value, 4));
  CHECK(value == 0xaaaa);

  m.poke<uint64_t>(kPml4 + 0x2000, 0x200000 | 0x87); // remap the 2 MiB page
  Instruction invlpg = with_memory(make(Op::INVLPG, 4, 3), 0, 0x1000, 1);
  invlpg.addrsize = 8;
  REQUIRE(m.run(invlpg));
  REQUIRE(m.cpu->read_linear(0x5000, &value, 4));
  CHECK(value == 0xbbbb);

  SystemMachine user;
  user.enter_long_mode(3);
  CHECK_FALSE(user.run(invlpg));
  CHECK(user.faulted(EXC_GP, 0));
}

TEST_CASE("decoded LGDT, MOV CR3, LAR and WRGSBASE run through the handlers",
          "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  m.poke<uint16_t>(kOperand, 0x27);
  m.poke<uint32_t>(kOperand + 2, 0x00123000);
  // lgdt [0x5000]
  Instruction lgdt =
      decoded({0x0f, 0x01, 0x15, 0x00, 0x50, 0x00, 0x00}, CodeSize::Bits32);
  REQUIRE(lgdt.op == Op::LGDT);
  REQUIRE(m.run(lgdt));
  CHECK(s.gdtr.base == 0x123000);
  CHECK(s.gdtr.limit == 0x27);
  s.gdtr = {kGdt, kGdtLimit};

  s.gpr[RAX] = 0x9000;
  Instruction mov_cr3 = decoded({0x0f, 0x22, 0xd8}, CodeSize::Bits32);
  REQUIRE(mov_cr3.op == Op::MOV_CR);
  REQUIRE(m.run(mov_cr3));
  CHECK(s.cr3 == 0x9000);

  s.gpr[RBX] = SEL_DATA3;
  Instruction lar = decoded({0x0f, 0x02, 0xc3}, CodeSize::Bits32);
  REQUIRE(lar.op == Op::LAR);
  REQUIRE(m.run(lar));
  CHECK(m.cpu->flag(ZF));
  CHECK(s.gpr[RAX] == ((m.gdt(SEL_DATA3) >> 32) & 0x00f0ff00));

  SystemMachine l;
  l.enter_long_mode(0);
  l.state().cr4 |= CR4_FSGSBASE;
  l.state().gpr[RAX] = 0xffff888012345678;
  Instruction wrgsbase =
      decoded({0xf3, 0x48, 0x0f, 0xae, 0xd8}, CodeSize::Bits64);
  REQUIRE(wrgsbase.op == Op::WRFSBASE);
  REQUIRE(l.run(wrgsbase));
  CHECK(l.state().seg[GS].base == 0xffff888012345678);
}

TEST_CASE("UMIP hides SGDT, SLDT and SMSW from CPL 3", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(3);
  CpuState &s = m.state();
  REQUIRE(m.run(table_op(Op::SGDT, 4)));
  CHECK(m.peek<uint32_t>(kOperand + 2) == kGdt);
  Instruction sldt = with_memory(make(Op::SLDT, 4, 3), 0, kOperand, 2);
  REQUIRE(m.run(sldt));

  s.cr4 |= CR4_UMIP;
  CHECK_FALSE(m.run(table_op(Op::SGDT, 4)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK_FALSE(m.run(sldt));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK_FALSE(m.run(with_register(make(Op::SMSW, 4, 3), 0, RAX, 4)));
  CHECK(m.faulted(EXC_GP, 0));
}

TEST_CASE("XGETBV reads XCR0 once CR4.OSXSAVE is set", "[system]") {
  SystemMachine m;
  m.enter_protected_mode(0);
  CpuState &s = m.state();
  s.cr4 |= CR4_OSXSAVE;
  s.gpr[RCX] = 0;
  REQUIRE(m.run(make(Op::XGETBV, 4, 3)));
  CHECK(s.gpr[RAX] == 1);
  CHECK(s.gpr[RDX] == 0);
  s.gpr[RCX] = 1;
  CHECK_FALSE(m.run(make(Op::XGETBV, 4, 3)));
  CHECK(m.faulted(EXC_GP, 0));

  s.gpr[RCX] = 0;
  s.gpr[RAX] = 0; // x87 state may never be disabled
  CHECK_FALSE(m.run(make(Op::XSETBV, 4, 3)));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(s.xcr0 == 1);
}

TEST_CASE("the interpreter runs a boot from real mode into 64-bit mode",
          "[system]") {
  SystemMachine m;
  const uint8_t real_mode[] = {
      0x0f, 0x01, 0x16, 0x00, 0x7d,                // lgdt [0x7d00]
      0x0f, 0x20, 0xc0,                            // mov eax, cr0
      0x0c, 0x01,                                  // or al, 1
      0x0f, 0x22, 0xc0,                            // mov cr0, eax
      0x66, 0xea, 0x20, 0x7c, 0,    0, 0x08, 0x00, // jmp dword 0x08:0x7c20
  };
  const uint8_t protected_mode[] = {
      0x66, 0xb8, 0x10, 0x00,                   // mov ax, 0x10
      0x8e, 0xd8,                               // mov ds, ax
      0x0f, 0x20, 0xe0,                         // mov eax, cr4
      0x83, 0xc8, 0x20,                         // or eax, CR4.PAE
      0x0f, 0x22, 0xe0,                         // mov cr4, eax
      0xb8, 0x00, 0x00, 0x01, 0x00,             // mov eax, 0x10000
      0x0f, 0x22, 0xd8,                         // mov cr3, eax
      0xb9, 0x80, 0x00, 0x00, 0xc0,             // mov ecx, IA32_EFER
      0x0f, 0x32,                               // rdmsr
      0x0d, 0x00, 0x01, 0x00, 0x00,             // or eax, EFER.LME
      0x0f, 0x30,                               // wrmsr
      0x0f, 0x20, 0xc0,                         // mov eax, cr0
      0x0d, 0x00, 0x00, 0x00, 0x80,             // or eax, CR0.PG
      0x0f, 0x22, 0xc0,                         // mov cr0, eax
      0xea, 0x80, 0x7c, 0,    0,    0x28, 0x00, // jmp 0x28:0x7c80
  };
  const uint8_t long_mode[] = {
      0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, // mov rax, imm64
      0xf4,                                              // hlt
  };
  m.memory.write(0x7c00, real_mode, sizeof(real_mode));
  m.memory.write(0x7c20, protected_mode, sizeof(protected_mode));
  m.memory.write(0x7c80, long_mode, sizeof(long_mode));
  m.poke<uint16_t>(0x7d00, kGdtLimit);
  m.poke<uint32_t>(0x7d02, kGdt);
  m.poke<uint64_t>(kPml4, (kPml4 + 0x1000) | 7);
  m.poke<uint64_t>(kPml4 + 0x1000, (kPml4 + 0x2000) | 7);
  m.poke<uint64_t>(kPml4 + 0x2000, 0x87);

  CpuState &s = m.state();
  s.seg[CS].selector = 0;
  s.seg[CS].base = 0;
  s.rip = 0x7c00;
  m.cpu->run(100);
  CHECK(s.halted);
  CHECK(s.long_mode_active());
  CHECK(s.code_size() == CodeSize::Bits64);
  CHECK(s.seg[CS].selector == SEL_CODE64);
  CHECK(s.seg[DS].selector == SEL_DATA0);
  CHECK(s.gpr[RAX] == 0x123456789);
  CHECK(s.rip == 0x7c80 + sizeof(long_mode));
}
