#include <catch2/catch.hpp>

#include <cstring>

#include "core_machine.h"
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "devices/local_apic.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

TEST_CASE("reset: the SDM power-on state") {
  CoreMachine m;
  m.state().gpr[RAX] = 5;
  m.state().cr0 |= CR0_PE;
  m.cpu->reset();
  const CpuState &s = m.state();
  CHECK(s.rip == 0xfff0);
  CHECK(s.seg[CS].selector == 0xf000);
  CHECK(s.seg[CS].base == 0xffff0000);
  CHECK(s.cr0 == 0x60000010);
  CHECK(s.rflags == 2);
  CHECK(s.gpr[RAX] == 0);
  CHECK(s.gpr[RDX] == cpuid_signature());
  CHECK(s.msr.apic_base == 0xfee00900);
  CHECK(guest_tsc(s) < 1000000000ull);
}

TEST_CASE("CR0: reserved combinations and entering long mode") {
  CoreMachine m;
  m.real_mode();
  CHECK_FALSE(m.cpu->write_cr(0, CR0_PG));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK_FALSE(m.cpu->write_cr(0, CR0_NW | CR0_PE));
  CHECK_FALSE(m.cpu->write_cr(0, uint64_t{1} << 32));

  m.protected_mode();
  m.put64(0x100000, 0); // an empty PML4
  REQUIRE(m.cpu->write_msr(MSR_EFER, EFER_LME));
  m.state().cr3 = 0x100000;
  // Long mode needs PAE.
  CHECK_FALSE(m.cpu->write_cr(0, m.state().cr0 | CR0_PG));
  REQUIRE(m.cpu->write_cr(4, CR4_PAE));
  REQUIRE(m.cpu->write_cr(0, m.state().cr0 | CR0_PG));
  CHECK(m.state().long_mode_active());
  // LME cannot change while paging is on; CR4.PAE cannot be cleared.
  CHECK_FALSE(m.cpu->write_msr(MSR_EFER, 0));
  CHECK_FALSE(m.cpu->write_cr(4, 0));
  // Leaving long mode from compatibility mode clears LMA.
  REQUIRE(m.cpu->write_cr(0, m.state().cr0 & ~uint64_t{CR0_PG}));
  CHECK_FALSE(m.state().long_mode_active());
}

TEST_CASE("CR3, CR4 and CR8 reserved bits") {
  CoreMachine m;
  m.long_mode();
  CHECK_FALSE(m.cpu->write_cr(3, uint64_t{1} << 52));
  CHECK(m.cpu->write_cr(3, CoreMachine::kPml4));
  CHECK_FALSE(m.cpu->write_cr(4, CR4_PAE | CR4_UMIP)); // no UMIP
  CHECK_FALSE(m.cpu->write_cr(4, CR4_PAE | CR4_VME));
  CHECK(m.cpu->write_cr(4, CR4_PAE | CR4_PGE | CR4_SMEP));
  CHECK(m.cpu->write_cr(8, 0xf));
  CHECK(m.state().cr8 == 0xf);
  CHECK_FALSE(m.cpu->write_cr(8, 0x10));
  CHECK_FALSE(m.cpu->write_cr(5, 0));
  CHECK(m.cpu->pending.vector == EXC_UD);
}

TEST_CASE("MSRs: known registers, canonical checks, unknown ones #GP") {
  CoreMachine m;
  uint64_t value = 0;
  REQUIRE(m.cpu->write_msr(MSR_LSTAR, 0xffffffff81000000ull));
  REQUIRE(m.cpu->read_msr(MSR_LSTAR, value));
  CHECK(value == 0xffffffff81000000ull);
  CHECK_FALSE(m.cpu->write_msr(MSR_LSTAR, 0x0000800000000000ull));
  CHECK(m.cpu->pending.vector == EXC_GP);

  REQUIRE(m.cpu->write_msr(MSR_GS_BASE, 0x1234000));
  CHECK(m.state().seg[GS].base == 0x1234000);
  REQUIRE(m.cpu->write_msr(MSR_KERNEL_GS_BASE, 0x5678000));
  REQUIRE(m.cpu->read_msr(MSR_KERNEL_GS_BASE, value));
  CHECK(value == 0x5678000);

  REQUIRE(m.cpu->write_msr(MSR_TSC, 1000000000000ull));
  REQUIRE(m.cpu->read_msr(MSR_TSC, value));
  CHECK(value >= 1000000000000ull);
  CHECK(value < 1000000000000ull + 1000000000ull);

  CHECK_FALSE(m.cpu->write_msr(MSR_PAT, 0x02)); // type 2 is reserved
  REQUIRE(m.cpu->write_msr(MSR_PAT, 0x0007010600070106ull));
  REQUIRE(m.cpu->read_msr(MSR_MTRR_CAP, value));
  CHECK((value & 0xff) == 8);
  REQUIRE(m.cpu->write_msr(MSR_MTRR_PHYS_BASE0 + 1, 0xff00000800ull));
  REQUIRE(m.cpu->read_msr(MSR_MTRR_PHYS_BASE0 + 1, value));
  CHECK(value == 0xff00000800ull);
  REQUIRE(m.cpu->read_msr(MSR_FEATURE_CONTROL, value));
  CHECK(value == 1);
  CHECK_FALSE(m.cpu->write_msr(MSR_FEATURE_CONTROL, 5));

  CHECK_FALSE(m.cpu->read_msr(0x12345, value));
  CHECK(m.cpu->pending.vector == EXC_GP);
  CHECK_FALSE(m.cpu->write_msr(MSR_EFER, uint64_t{1} << 20));
}

TEST_CASE("MSRs: TSC writes and IA32_TSC_ADJUST move each other (SDM "
          "17.17.3)") {
  CoreMachine m;
  uint64_t tsc = 0, adjust = 1;
  REQUIRE(m.cpu->read_msr(MSR_TSC_ADJUST, adjust));
  CHECK(adjust == 0);
  // The TSC counts from reset; what writes add shows in TSC_ADJUST, so
  // TSC - TSC_ADJUST stays the time since reset (under a second here).
  auto time_since_reset = [&] {
    REQUIRE(m.cpu->read_msr(MSR_TSC, tsc));
    REQUIRE(m.cpu->read_msr(MSR_TSC_ADJUST, adjust));
    return tsc - adjust;
  };
  CHECK(time_since_reset() < kGuestTscHz);

  REQUIRE(m.cpu->write_msr(MSR_TSC, 1000 * kGuestTscHz));
  CHECK(time_since_reset() < kGuestTscHz);
  CHECK(tsc >= 1000 * kGuestTscHz);
  CHECK(adjust > 999 * kGuestTscHz);

  REQUIRE(m.cpu->write_msr(MSR_TSC_ADJUST, 5 * kGuestTscHz));
  REQUIRE(m.cpu->read_msr(MSR_TSC_ADJUST, adjust));
  CHECK(adjust == 5 * kGuestTscHz);
  CHECK(time_since_reset() < kGuestTscHz);
  CHECK(tsc >= 5 * kGuestTscHz);
  CHECK(tsc < 6 * kGuestTscHz);

  // A negative adjustment takes the TSC back.
  REQUIRE(m.cpu->write_msr(MSR_TSC_ADJUST, -(kGuestTscHz / 2)));
  CHECK(int64_t(time_since_reset()) > 0);
  CHECK(int64_t(tsc) < int64_t(kGuestTscHz / 2));

  m.cpu->reset();
  REQUIRE(m.cpu->read_msr(MSR_TSC_ADJUST, adjust));
  CHECK(adjust == 0);
}

TEST_CASE("MSRs Linux reads on an Intel processor: microcode signature, "
          "platform ID, MISC_ENABLE") {
  CoreMachine m;
  uint64_t value = 1;
  // Linux writes 0 to IA32_BIOS_SIGN_ID, runs CPUID, then reads the
  // microcode revision in bits 63:32: none loaded.
  REQUIRE(m.cpu->write_msr(MSR_BIOS_SIGN_ID, 0));
  REQUIRE(m.cpu->read_msr(MSR_BIOS_SIGN_ID, value));
  CHECK(value == 0);
  REQUIRE(m.cpu->read_msr(MSR_PLATFORM_ID, value));
  CHECK(value == 0);
  CHECK_FALSE(m.cpu->write_msr(MSR_PLATFORM_ID, 0));

  // Fast strings on; BTS and PEBS unavailable (read-only 1s).
  REQUIRE(m.cpu->read_msr(MSR_MISC_ENABLE, value));
  CHECK(value == 0x1801);
  REQUIRE(m.cpu->write_msr(MSR_MISC_ENABLE, 0));
  REQUIRE(m.cpu->read_msr(MSR_MISC_ENABLE, value));
  CHECK(value == 0x1800);
  REQUIRE(m.cpu->write_msr(MSR_MISC_ENABLE, 1));
  REQUIRE(m.cpu->read_msr(MSR_MISC_ENABLE, value));
  CHECK(value == 0x1801);
}

TEST_CASE("CPUID: vendor, features and topology") {
  CoreMachine m;
  CpuidResult r = cpuid(m.state(), 3, 0, 0);
  char vendor[13] = {};
  std::memcpy(vendor, &r.ebx, 4);
  std::memcpy(vendor + 4, &r.edx, 4);
  std::memcpy(vendor + 8, &r.ecx, 4);
  CHECK(std::string(vendor) == "GenuineIntel");
  CHECK(r.eax == 0x16);

  r = cpuid(m.state(), 3, 1, 0);
  CHECK(r.eax == cpuid_signature());
  // Family 6, model 0x2c (Westmere-EP: its high nibble in the extended
  // model field), stepping 2.
  CHECK(r.eax == 0x206c2);
  CHECK(r.ebx >> 24 == 3);
  CHECK(r.edx & 1);          // FPU
  CHECK(r.edx & (1u << 6));  // PAE
  CHECK(r.edx & (1u << 25)); // SSE
  CHECK(r.ecx & (1u << 23)); // POPCNT
  r = cpuid(m.state(), 3, 0x80000001, 0);
  CHECK(r.edx & (1u << 29)); // LM
  CHECK(r.edx & (1u << 20)); // NX
  r = cpuid(m.state(), 3, 0xb, 1);
  CHECK(r.edx == 3);
  CHECK(((r.ecx >> 8) & 0xff) == 2);
  // Alone, a vCPU is a package of its own; with others, all are the cores
  // of one package: 3 vCPUs take 2 bits of the APIC ID, 4 addressable IDs.
  CHECK((r.eax & 0x1f) == 0);
  CHECK((r.ebx & 0xffff) == 1);
  CHECK((cpuid(m.state(), 3, 1, 0).edx & (1u << 28)) == 0); // HTT
  r = cpuid(m.state(), 2, 0xb, 1, 3);
  CHECK((r.eax & 0x1f) == 2);
  CHECK((r.ebx & 0xffff) == 3);
  CHECK(r.edx == 2);
  r = cpuid(m.state(), 2, 0xb, 0, 3);
  CHECK((r.eax & 0x1f) == 0);
  CHECK((r.ebx & 0xffff) == 1);
  CHECK(((r.ecx >> 8) & 0xff) == 1);
  r = cpuid(m.state(), 2, 1, 0, 3);
  CHECK(((r.ebx >> 16) & 0xff) == 4);
  CHECK((r.edx & (1u << 28)) != 0);
  r = cpuid(m.state(), 3, 0x80000008, 0);
  CHECK((r.eax & 0xff) == 40);
  r = cpuid(m.state(), 3, 0x80000002, 0);
  CHECK(std::memcmp(&r.eax, "Sabl", 4) == 0);
}

TEST_CASE("CPUID: the TSC is invariant, adjustable and runs at 1 GHz") {
  CoreMachine m;
  CHECK(cpuid(m.state(), 0, 0x80000007, 0).edx == 1u << 8); // invariant TSC
  CHECK((cpuid(m.state(), 0, 7, 0).ebx >> 1 & 1) == 1);     // TSC_ADJUST
  // TSC frequency = crystal Hz * EBX / EAX; Linux also takes the local
  // APIC timer's period from the crystal, so it must be that timer's clock.
  CpuidResult r = cpuid(m.state(), 0, 0x15, 0);
  REQUIRE(r.eax != 0);
  CHECK(r.ecx == LocalApic::kBusClockHz);
  CHECK(uint64_t{r.ecx} * r.ebx / r.eax == kGuestTscHz);
  r = cpuid(m.state(), 0, 0x16, 0);
  CHECK(r.eax == kGuestTscHz / 1000000); // base frequency, MHz
  CHECK(r.ebx == kGuestTscHz / 1000000); // maximum frequency, MHz
}

TEST_CASE("CPUID: leaves below the maximum without features read as zero, "
          "leaves above it as the highest basic leaf") {
  CoreMachine m;
  for (uint32_t leaf :
       {0x2u, 0x4u, 0x6u, 0xau, 0xeu, 0x12u, 0x14u, 0x80000005u, 0x80000006u}) {
    CAPTURE(leaf);
    CpuidResult r = cpuid(m.state(), 0, leaf, 0);
    CHECK((r.eax | r.ebx | r.ecx | r.edx) == 0);
  }
  CpuidResult highest = cpuid(m.state(), 0, 0x16, 0);
  for (uint32_t leaf : {0x17u, 0x40000000u, 0x80000009u}) {
    CAPTURE(leaf);
    CpuidResult r = cpuid(m.state(), 0, leaf, 0);
    CHECK(r.eax == highest.eax);
    CHECK(r.ebx == highest.ebx);
  }
}

TEST_CASE("I/O permission: IOPL, then the TSS bitmap") {
  CoreMachine m;
  m.protected_mode();
  CHECK(m.cpu->check_io(0x3f8, 1)); // CPL 0
  m.enter_user_mode();
  // No bitmap inside the TSS limit: denied.
  m.put16(kTssBase + 0x66, 0x68);
  CHECK_FALSE(m.cpu->check_io(0x3f8, 1));
  CHECK(m.cpu->pending.vector == EXC_GP);
  // A bitmap allowing ports 0x3f8..0x3ff only.
  m.state().tr.limit = 0x68 + 0x2000;
  for (unsigned i = 0; i < 0x2000; ++i)
    m.put8(kTssBase + 0x68 + i, 0xff);
  m.put8(kTssBase + 0x68 + 0x3f8 / 8, 0x00);
  CHECK(m.cpu->check_io(0x3f8, 4));
  CHECK(m.cpu->check_io(0x3fc, 4));
  CHECK_FALSE(m.cpu->check_io(0x3fe, 4)); // reaches 0x400
  CHECK_FALSE(m.cpu->check_io(0x3f7, 1));
  // IOPL 3 allows everything.
  m.state().rflags |= IOPL;
  CHECK(m.cpu->check_io(0x80, 1));
}

TEST_CASE("registers, flags and conditions") {
  CoreMachine m;
  m.cpu->set_reg(RAX, 8, 0x1122334455667788ull);
  m.cpu->set_reg(RAX, 1, 0xff);
  CHECK(m.state().gpr[RAX] == 0x11223344556677ffull);
  m.cpu->set_reg(RAX, 2, 0xabcd);
  CHECK(m.cpu->reg(RAX, 2) == 0xabcd);
  m.cpu->set_reg(RAX, 4, 0x1);
  CHECK(m.state().gpr[RAX] == 1);

  m.cpu->set_rflags(SF);
  CHECK(m.cpu->condition(0xc)); // L: SF != OF
  CHECK_FALSE(m.cpu->condition(0xd));
  m.cpu->set_rflags(ZF | CF);
  CHECK(m.cpu->condition(0x6)); // BE
  CHECK(m.cpu->condition(0x4)); // E
  CHECK_FALSE(m.cpu->condition(0x7));
  CHECK(m.cpu->rflags() == (ZF | CF | 2));
}

TEST_CASE("stack push and pop honour the stack size") {
  CoreMachine m;
  m.real_mode();
  m.state().gpr[RSP] = 0xabcd0002;
  REQUIRE(m.cpu->push(0x1234, 2));
  CHECK(m.state().gpr[RSP] == 0xabcd0000);
  REQUIRE(m.cpu->push(0x5678, 2)); // SP wraps within 64 KiB
  CHECK(m.state().gpr[RSP] == 0xabcdfffe);
  CHECK(m.get16(0xfffe) == 0x5678);
  uint64_t value = 0;
  REQUIRE(m.cpu->pop(value, 2));
  CHECK(value == 0x5678);
  CHECK(m.state().gpr[RSP] == 0xabcd0000);
  CHECK(m.cpu->stack_size() == 2);
  m.long_mode();
  CHECK(m.cpu->stack_size() == 8);
}
