// ALU, shift, multiply/divide and BCD handlers, run from decoded bytes.
// The flag arithmetic itself is checked against the host in
// test_flags.cpp; these tests check operand plumbing, write-back rules
// and faults.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

TEST_CASE("ALU handlers: register, memory and immediate forms") {
  OpsMachine m;
  m.gpr(RAX) = 0xfffffff0;
  m.gpr(RBX) = 0x20;
  REQUIRE(m.run({0x01, 0xd8})); // add eax, ebx
  CHECK(m.gpr(RAX) == 0x10);
  CHECK(m.arith() == CF);
  CHECK(m.state().rip == kCodeAddress + 2);

  REQUIRE(m.run({0x83, 0xd0, 0xff})); // adc eax, -1 (with CF)
  CHECK(m.gpr(RAX) == 0x10);
  CHECK((m.arith() & CF) != 0);

  m.gpr(RBX) = 0x2000;
  m.poke<uint32_t>(0x2000, 5);
  REQUIRE(m.run({0x29, 0x03})); // sub [ebx], eax
  CHECK(m.peek<uint32_t>(0x2000) == 0xfffffff5);
  CHECK((m.arith() & (CF | SF)) == (CF | SF));

  m.gpr(RAX) = 0x1234;
  REQUIRE(m.run({0x80, 0xf4, 0x0f})); // xor ah, 0x0f
  CHECK(m.gpr(RAX) == 0x1d34);

  REQUIRE(m.run({0x39, 0x03})); // cmp [ebx], eax: nothing written
  CHECK(m.peek<uint32_t>(0x2000) == 0xfffffff5);
  REQUIRE(m.run({0xf7, 0xd0})); // not eax
  CHECK(m.gpr(RAX) == 0xffffe2cb);
  REQUIRE(m.run({0xf7, 0x1b})); // neg dword [ebx]
  CHECK(m.peek<uint32_t>(0x2000) == 0xb);
  CHECK((m.arith() & CF) != 0);
}

TEST_CASE("INC and DEC keep CF, a locked RMW updates memory") {
  OpsMachine m;
  m.set_arith(CF);
  m.gpr(RCX) = 0x7fffffff;
  REQUIRE(m.run({0x41})); // inc ecx
  CHECK(m.gpr(RCX) == 0x80000000);
  CHECK(m.arith() == (CF | OF | SF | AF | PF));
  m.poke<uint16_t>(0x3000, 1);
  m.gpr(RDX) = 0x3000;
  REQUIRE(m.run({0xf0, 0x66, 0xff, 0x0a})); // lock dec word [edx]
  CHECK(m.peek<uint16_t>(0x3000) == 0);
  CHECK(m.arith() == (CF | ZF | PF));
}

TEST_CASE("32-bit ALU results clear the upper half in 64-bit mode") {
  OpsMachine m(CodeSize::Bits64);
  m.gpr(RAX) = 0xffffffff00000001ull;
  REQUIRE(m.run({0x83, 0xc0, 0x01})); // add eax, 1
  CHECK(m.gpr(RAX) == 2);
  m.gpr(RAX) = 0xffffffff00000001ull;
  REQUIRE(m.run({0xc1, 0xe0, 0x20})); // shl eax, 32: count masks to 0
  CHECK(m.gpr(RAX) == 1);
  m.gpr(R9) = 1;
  m.gpr(RCX) = 0x41;                  // masks to 1
  REQUIRE(m.run({0x49, 0xd3, 0xe1})); // shl r9, cl (cl = 1)
  CHECK(m.gpr(R9) == 2);
}

TEST_CASE("shift handlers: counts from CL and immediates, SHLD/SHRD") {
  OpsMachine m;
  m.gpr(RAX) = 0x80000001;
  REQUIRE(m.run({0xd1, 0xc0})); // rol eax, 1
  CHECK(m.gpr(RAX) == 3);
  CHECK((m.arith() & (CF | OF)) == (CF | OF));
  m.gpr(RCX) = 4;
  m.gpr(RBX) = 0xf0000000;
  m.gpr(RDX) = 0x12345678;
  REQUIRE(m.run({0x0f, 0xa5, 0xda})); // shld edx, ebx, cl
  CHECK(m.gpr(RDX) == 0x2345678f);
  REQUIRE(m.run({0x0f, 0xac, 0xda, 0x08})); // shrd edx, ebx, 8
  CHECK(m.gpr(RDX) == 0x00234567);
  m.set_arith(CF);
  m.gpr(RAX) = 0;
  REQUIRE(m.run({0xd0, 0xd0})); // rcl al, 1
  CHECK(m.gpr(RAX) == 1);
  CHECK((m.arith() & CF) == 0);
}

TEST_CASE("MUL and IMUL write rDX:rAX, AX and the destination") {
  OpsMachine m;
  m.gpr(RAX) = 0x80;
  m.gpr(RBX) = 0x04;
  REQUIRE(m.run({0xf6, 0xe3})); // mul bl
  CHECK(m.gpr(RAX) == 0x200);
  CHECK((m.arith() & (CF | OF)) == (CF | OF));
  m.gpr(RAX) = 0xffffffff;
  m.gpr(RBX) = 0xffffffff;
  REQUIRE(m.run({0xf7, 0xeb})); // imul ebx
  CHECK(m.gpr(RAX) == 1);
  CHECK(m.gpr(RDX) == 0);
  CHECK((m.arith() & CF) == 0);
  m.gpr(RCX) = 7;
  REQUIRE(m.run({0x6b, 0xc1, 0xfe})); // imul eax, ecx, -2
  CHECK(m.gpr(RAX) == 0xfffffff2);
  m.gpr(RAX) = 0x10000;
  REQUIRE(m.run({0x0f, 0xaf, 0xc0})); // imul eax, eax
  CHECK(m.gpr(RAX) == 0);
  CHECK((m.arith() & (CF | OF)) == (CF | OF));
}

TEST_CASE("DIV and IDIV: results, #DE on zero and on quotient overflow") {
  OpsMachine m(CodeSize::Bits64);
  m.gpr(RDX) = 1;
  m.gpr(RAX) = 5;
  m.gpr(RCX) = 2;
  REQUIRE(m.run({0x48, 0xf7, 0xf1})); // div rcx: (2^64 + 5) / 2
  CHECK(m.gpr(RAX) == 0x8000000000000002ull);
  CHECK(m.gpr(RDX) == 1);

  m.gpr(RAX) = 0x1234;
  m.gpr(RCX) = 0;
  CHECK_FALSE(m.run({0xf6, 0xf1})); // div cl
  CHECK(m.faulted_with(EXC_DE));
  CHECK(m.gpr(RAX) == 0x1234);
  m.gpr(RCX) = 0x10;
  CHECK_FALSE(m.run({0xf6, 0xf1})); // 0x1234 / 0x10 > 0xff
  CHECK(m.faulted_with(EXC_DE));

  m.gpr(RAX) = 0xfff9; // -7 / 2 = -3 rem -1
  m.gpr(RCX) = 2;
  REQUIRE(m.run({0xf6, 0xf9})); // idiv cl
  CHECK(m.gpr(RAX) == 0xfffd);

  m.gpr(RDX) = 0x8000000000000000ull; // most negative 128-bit dividend
  m.gpr(RAX) = 0;
  m.gpr(RCX) = ~uint64_t{0};
  CHECK_FALSE(m.run({0x48, 0xf7, 0xf9})); // idiv rcx
  CHECK(m.faulted_with(EXC_DE));
  m.gpr(RDX) = 0xffffffff;
  m.gpr(RAX) = 0x80000000;          // -2^31 / -1 overflows a dword
  CHECK_FALSE(m.run({0xf7, 0xf9})); // idiv ecx
  CHECK(m.faulted_with(EXC_DE));
  m.gpr(RDX) = ~uint64_t{0};
  m.gpr(RAX) = ~uint64_t{0} - 9; // -10 / -1 = 10
  REQUIRE(m.run({0x48, 0xf7, 0xf9}));
  CHECK(m.gpr(RAX) == 10);
  CHECK(m.gpr(RDX) == 0);
}

// Values from the SDM's DAA/DAS examples and the AAA/AAS/AAM/AAD
// Operation sections.
TEST_CASE("BCD adjustments follow the SDM") {
  OpsMachine m;
  m.gpr(RAX) = 0x79;
  m.gpr(RBX) = 0x35;
  REQUIRE(m.run({0x00, 0xd8})); // add al, bl -> AE
  REQUIRE(m.run({0x27}));       // daa
  CHECK((m.gpr(RAX) & 0xff) == 0x14);
  CHECK((m.arith() & (CF | AF)) == (CF | AF));

  m.gpr(RAX) = 0x35;
  m.gpr(RBX) = 0x47;
  REQUIRE(m.run({0x28, 0xd8})); // sub al, bl -> EE
  REQUIRE(m.run({0x2f}));       // das
  CHECK((m.gpr(RAX) & 0xff) == 0x88);
  CHECK((m.arith() & (CF | AF | SF | ZF | PF)) == (CF | AF | SF | PF));

  m.set_arith(0);
  m.gpr(RAX) = 0x0108;
  REQUIRE(m.run({0x04, 0x03})); // add al, 3 -> 0x0b
  REQUIRE(m.run({0x37}));       // aaa
  CHECK((m.gpr(RAX) & 0xffff) == 0x0201);
  CHECK((m.arith() & (CF | AF)) == (CF | AF));

  m.gpr(RAX) = 0x0203;
  REQUIRE(m.run({0x2c, 0x05})); // sub al, 5 -> 0xfe, AF
  REQUIRE(m.run({0x3f}));       // aas
  CHECK((m.gpr(RAX) & 0xffff) == 0x0108);
  CHECK((m.arith() & CF) != 0);

  m.gpr(RAX) = 0x3f;            // 63
  REQUIRE(m.run({0xd4, 0x0a})); // aam
  CHECK((m.gpr(RAX) & 0xffff) == 0x0603);
  REQUIRE(m.run({0xd5, 0x0a})); // aad
  CHECK((m.gpr(RAX) & 0xffff) == 0x003f);
  CHECK_FALSE(m.run({0xd4, 0x00})); // aam 0
  CHECK(m.faulted_with(EXC_DE));

  m.gpr(RAX) = 0x00;
  REQUIRE(m.run({0xd4, 0x10})); // aam 16 of 0: ZF
  CHECK((m.arith() & ZF) != 0);
}

TEST_CASE("a store that faults leaves the flags of before") {
  OpsMachine m;
  m.state().seg[DS].attributes = 0xc091; // read-only data
  m.set_arith(CF);
  m.gpr(RBX) = 0x2000;
  m.poke<uint32_t>(0x2000, 0xffffffff);
  m.gpr(RAX) = 1;
  CHECK_FALSE(m.run({0x11, 0x03})); // adc [ebx], eax: the store faults
  CHECK(m.faulted_with(EXC_GP));
  CHECK(m.arith() == CF);
  CHECK(m.peek<uint32_t>(0x2000) == 0xffffffff);
}

TEST_CASE("every Op has a handler, unimplemented ones and UD raise #UD") {
  const HandlerTable &table = handler_table();
  for (size_t op = 0; op < static_cast<size_t>(Op::Count); op++) {
    CHECK(table.handlers[op].run != nullptr);
    CHECK(table.handlers[op].chain != nullptr);
  }
  CHECK(&table == &handler_table());

  OpsMachine m;
  Instruction insn;
  insn.op = Op::UD;
  insn.length = 2;
  CHECK_FALSE(m.execute(insn));
  CHECK(m.faulted_with(EXC_UD));
  insn.op = Op::X87;
  CHECK_FALSE(m.execute(insn));
  CHECK(m.faulted_with(EXC_UD));
  CHECK(m.state().rip == kCodeAddress);
}

TEST_CASE("LOCK ADD and LOCK XADD are atomic across vCPUs") {
  OpsMachine m;
  Cpu other(m.cpu->env);
  other.state = m.state();
  auto decoded = [](std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> code(bytes);
    Instruction insn;
    decode(code.data(), static_cast<unsigned>(code.size()), CodeSize::Bits32,
           insn);
    return insn;
  };
  const Instruction lock_add = decoded({0xf0, 0x01, 0x03});        // [ebx]
  const Instruction lock_xadd = decoded({0xf0, 0x0f, 0xc1, 0x03}); // [ebx]
  REQUIRE(lock_add.op == Op::ADD);
  REQUIRE(lock_xadd.op == Op::XADD);
  // No Catch assertions off the main thread: each side counts failures.
  // Both start together so their read-modify-writes interleave.
  constexpr int kRounds = 200000;
  std::atomic<int> ready{0};
  auto hammer = [&](Cpu &cpu, const Instruction &insn) {
    const Handler handler = handler_table().get(insn.op);
    ready++;
    while (ready.load() < 2) {
    }
    int failures = 0;
    for (int i = 0; i < kRounds; i++) {
      cpu.state.gpr[RAX] = 1;
      cpu.state.gpr[RBX] = 0x2000;
      if (!handler(cpu, insn))
        failures++;
    }
    return failures;
  };
  int worker_failures = 0;
  std::thread worker([&] { worker_failures = hammer(other, lock_xadd); });
  const int failures = hammer(*m.cpu, lock_add);
  worker.join();
  CHECK(failures == 0);
  CHECK(worker_failures == 0);
  CHECK(m.peek<uint32_t>(0x2000) == 2 * kRounds);
}

namespace {

// The SDM's Operation sections for DAA, DAS, AAA and AAS, transcribed
// literally, as the table the handlers must reproduce.
struct Bcd {
  uint16_t ax;
  bool cf, af;
};

Bcd sdm_daa(Bcd in) {
  uint8_t al = in.ax & 0xff;
  const uint8_t old_al = al;
  const bool old_cf = in.cf;
  Bcd out{in.ax, false, false};
  if ((al & 0x0f) > 9 || in.af) {
    out.cf = old_cf || al + 6 > 0xff;
    al = static_cast<uint8_t>(al + 6);
    out.af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = static_cast<uint8_t>(al + 0x60);
    out.cf = true;
  } else {
    out.cf = false;
  }
  out.ax = static_cast<uint16_t>((in.ax & 0xff00) | al);
  return out;
}

Bcd sdm_das(Bcd in) {
  uint8_t al = in.ax & 0xff;
  const uint8_t old_al = al;
  const bool old_cf = in.cf;
  Bcd out{in.ax, false, false};
  if ((al & 0x0f) > 9 || in.af) {
    out.cf = old_cf || al < 6;
    al = static_cast<uint8_t>(al - 6);
    out.af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = static_cast<uint8_t>(al - 0x60);
    out.cf = true;
  }
  out.ax = static_cast<uint16_t>((in.ax & 0xff00) | al);
  return out;
}

Bcd sdm_aaa(Bcd in) {
  uint16_t ax = in.ax;
  const bool adjust = (ax & 0x0f) > 9 || in.af;
  if (adjust)
    ax = static_cast<uint16_t>(ax + 0x106);
  return {static_cast<uint16_t>(ax & 0xff0f), adjust, adjust};
}

Bcd sdm_aas(Bcd in) {
  uint16_t ax = in.ax;
  const bool adjust = (ax & 0x0f) > 9 || in.af;
  if (adjust) {
    ax = static_cast<uint16_t>(ax - 6);
    ax = static_cast<uint16_t>(ax - 0x100);
  }
  return {static_cast<uint16_t>(ax & 0xff0f), adjust, adjust};
}

} // namespace

TEST_CASE("DAA DAS AAA AAS over every AL, CF and AF follow the SDM") {
  OpsMachine m;
  const struct {
    uint8_t opcode;
    Bcd (*sdm)(Bcd);
  } ops[] = {
      {0x27, sdm_daa}, {0x2f, sdm_das}, {0x37, sdm_aaa}, {0x3f, sdm_aas}};
  unsigned mismatches = 0;
  for (const auto &op : ops) {
    for (unsigned al = 0; al < 256; al++) {
      for (unsigned carries = 0; carries < 4; carries++) {
        const Bcd in{static_cast<uint16_t>(0x5500 | al), (carries & 1) != 0,
                     (carries & 2) != 0};
        m.gpr(RAX) = in.ax;
        m.set_arith(flag_if(in.cf, CF) | flag_if(in.af, AF));
        m.state().rip = kCodeAddress;
        REQUIRE(m.run({op.opcode}));
        const Bcd want = op.sdm(in);
        const uint64_t flags = m.arith();
        const uint8_t result_al = want.ax & 0xff;
        const bool ok = (m.gpr(RAX) & 0xffff) == want.ax &&
                        ((flags & CF) != 0) == want.cf &&
                        ((flags & AF) != 0) == want.af &&
                        ((flags & ZF) != 0) == (result_al == 0) &&
                        ((flags & SF) != 0) == ((result_al & 0x80) != 0);
        if (!ok && mismatches++ == 0)
          FAIL_CHECK("opcode " << int(op.opcode) << " AL " << al << " CF "
                               << in.cf << " AF " << in.af);
      }
    }
  }
  CHECK(mismatches == 0);
}
