// String and port I/O handlers, run from decoded bytes.

#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "machine/device.h"
#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

// Records port writes; reads return 0x10, 0x11, ...
struct PortRecorder : sable::Device {
  std::vector<uint64_t> written;
  uint64_t next = 0x10;
  std::string_view name() const override { return "recorder"; }
  uint64_t read(uint64_t, unsigned) override { return next++; }
  void write(uint64_t, unsigned, uint64_t value) override {
    written.push_back(value);
  }
  void reset() override {}
  void save(sable::StateWriter &) const override {}
  void load(sable::StateReader &) override {}
};

void fill(OpsMachine &m, uint64_t address, std::string_view text) {
  for (size_t i = 0; i < text.size(); i++)
    m.poke<uint8_t>(address + i, static_cast<uint8_t>(text[i]));
}

} // namespace

TEST_CASE("REP MOVS forward and backward, with a source override") {
  OpsMachine m;
  fill(m, 0x2000, "hello, world");
  m.gpr(RSI) = 0x2000;
  m.gpr(RDI) = 0x3000;
  m.gpr(RCX) = 12;
  REQUIRE(m.run({0xf3, 0xa4})); // rep movsb
  CHECK(m.peek<uint64_t>(0x3000) == m.peek<uint64_t>(0x2000));
  CHECK(m.peek<uint32_t>(0x3008) == m.peek<uint32_t>(0x2008));
  CHECK(m.gpr(RCX) == 0);
  CHECK(m.gpr(RSI) == 0x200c);
  CHECK(m.gpr(RDI) == 0x300c);
  CHECK(m.state().rip == kCodeAddress + 2);

  m.state().rflags |= DF;
  m.gpr(RSI) = 0x2008;
  m.gpr(RDI) = 0x4008;
  m.gpr(RCX) = 3;
  REQUIRE(m.run({0xf3, 0xa5})); // rep movsd backward
  CHECK(m.peek<uint32_t>(0x4000) == m.peek<uint32_t>(0x2000));
  CHECK(m.peek<uint32_t>(0x4008) == m.peek<uint32_t>(0x2008));
  CHECK(m.gpr(RSI) == 0x1ffc);
  CHECK(m.gpr(RDI) == 0x3ffc);

  m.state().rflags &= ~uint64_t{DF};
  m.state().seg[FS].base = 0x1000;
  m.gpr(RSI) = 0x1000; // fs:0x1000 = linear 0x2000
  m.gpr(RDI) = 0x5000;
  REQUIRE(m.run({0x64, 0xa4})); // fs movsb
  CHECK(m.peek<uint8_t>(0x5000) == 'h');
  m.gpr(RCX) = 0;
  REQUIRE(m.run({0xf3, 0xa4})); // rep with a zero count does nothing
  CHECK(m.gpr(RSI) == 0x1001);
}

TEST_CASE("REPE CMPS and REPNE SCAS stop on the condition") {
  OpsMachine m;
  fill(m, 0x2000, "abcdef");
  fill(m, 0x3000, "abcxef");
  m.gpr(RSI) = 0x2000;
  m.gpr(RDI) = 0x3000;
  m.gpr(RCX) = 6;
  REQUIRE(m.run({0xf3, 0xa6})); // repe cmpsb
  CHECK(m.gpr(RCX) == 2);
  CHECK(m.gpr(RSI) == 0x2004);
  CHECK((m.arith() & ZF) == 0);
  CHECK((m.arith() & CF) != 0); // 'd' < 'x'

  m.gpr(RAX) = 'e';
  m.gpr(RDI) = 0x2000;
  m.gpr(RCX) = 100;
  REQUIRE(m.run({0xf2, 0xae})); // repne scasb
  CHECK(m.gpr(RDI) == 0x2005);
  CHECK(m.gpr(RCX) == 95);
  CHECK((m.arith() & ZF) != 0);

  m.gpr(RAX) = 0x6261; // "ab"
  m.gpr(RDI) = 0x2000;
  REQUIRE(m.run({0x66, 0xaf})); // scasw, no repeat
  CHECK((m.arith() & ZF) != 0);
  CHECK(m.gpr(RDI) == 0x2002);
}

TEST_CASE("a long REP resumes itself, STOS and LODS") {
  OpsMachine m;
  m.gpr(RAX) = 0x5a;
  m.gpr(RDI) = 0x10000;
  m.gpr(RCX) = 10000;
  REQUIRE(m.run({0xf3, 0xaa}));         // rep stosb
  CHECK(m.state().rip == kCodeAddress); // to be resumed
  CHECK(m.gpr(RCX) > 0);
  CHECK(m.gpr(RCX) < 10000);
  CHECK(m.gpr(RDI) == 0x10000 + (10000 - m.gpr(RCX)));
  REQUIRE(m.run_to_completion({0xf3, 0xaa}));
  CHECK(m.gpr(RCX) == 0);
  CHECK(m.gpr(RDI) == 0x10000 + 10000);
  CHECK(m.peek<uint8_t>(0x10000 + 9999) == 0x5a);
  CHECK(m.peek<uint8_t>(0x10000 + 10000) == 0);

  m.poke<uint32_t>(0x2000, 0xdeadbeef);
  m.gpr(RSI) = 0x2000;
  REQUIRE(m.run({0xad})); // lodsd
  CHECK(m.gpr(RAX) == 0xdeadbeef);
  CHECK(m.gpr(RSI) == 0x2004);
}

TEST_CASE("a fault inside REP leaves registers at the faulting element") {
  OpsMachine m;
  m.state().seg[ES].limit = 0x2009;
  m.gpr(RAX) = 0x11;
  m.gpr(RDI) = 0x2000;
  m.gpr(RCX) = 20;
  CHECK_FALSE(m.run({0xf3, 0xaa})); // rep stosb past the ES limit
  CHECK(m.faulted_with(EXC_GP));
  CHECK(m.gpr(RDI) == 0x200a);
  CHECK(m.gpr(RCX) == 10);
  CHECK(m.state().rip == kCodeAddress);
  CHECK(m.peek<uint8_t>(0x2009) == 0x11);
}

TEST_CASE("string registers wrap at the address size") {
  OpsMachine m(CodeSize::Bits16);
  m.gpr(RSI) = 0x1234ffff;
  m.gpr(RDI) = 0x100;
  REQUIRE(m.run({0xa4})); // movsb with 16-bit addresses
  CHECK(m.gpr(RSI) == 0x12340000);
  CHECK(m.gpr(RDI) == 0x101);
  m.gpr(RCX) = 0xffff0001;
  REQUIRE(m.run({0xf3, 0xa4})); // rep movsb counts CX only
  CHECK(m.gpr(RCX) == 0xffff0000);
}

TEST_CASE("IN/OUT and INS/OUTS reach the port bus") {
  OpsMachine m;
  PortRecorder device;
  m.io.map(0x60, 4, &device);
  m.gpr(RAX) = 0xab;
  REQUIRE(m.run({0xe6, 0x60})); // out 0x60, al
  m.gpr(RDX) = 0x61;
  m.gpr(RAX) = 0x1234;
  REQUIRE(m.run({0x66, 0xef})); // out dx, ax
  REQUIRE(device.written.size() == 2);
  CHECK(device.written[0] == 0xab);
  CHECK(device.written[1] == 0x1234);
  REQUIRE(m.run({0xe4, 0x60})); // in al, 0x60
  CHECK((m.gpr(RAX) & 0xff) == 0x10);
  REQUIRE(m.run({0xed})); // in eax, dx
  CHECK(m.gpr(RAX) == 0x11);

  fill(m, 0x2000, "xyz");
  m.gpr(RSI) = 0x2000;
  m.gpr(RCX) = 3;
  REQUIRE(m.run({0xf3, 0x6e})); // rep outsb
  REQUIRE(device.written.size() == 5);
  CHECK(device.written[4] == 'z');
  m.gpr(RDI) = 0x3000;
  m.gpr(RCX) = 2;
  REQUIRE(m.run({0xf3, 0x66, 0x6d})); // rep insw
  CHECK(m.peek<uint32_t>(0x3000) == 0x00130012);
  CHECK(m.gpr(RDI) == 0x3004);

  // CPL 3 with IOPL 0, and a TSS whose I/O bitmap lies beyond its limit.
  m.state().seg[CS].selector = 0x1b;
  m.state().tr.base = 0x6000;
  m.state().tr.limit = 0x67;
  m.poke<uint16_t>(0x6066, 0x68);
  CHECK_FALSE(m.run({0xe4, 0x60}));
  CHECK(m.faulted_with(EXC_GP));
}

TEST_CASE("a long REP inside a program completes under Cpu::run") {
  OpsMachine m;
  const uint8_t program[] = {
      0xb9, 0x10, 0x27, 0x00, 0x00, // mov ecx, 10000
      0xf3, 0xaa,                   // rep stosb
      0x40,                         // inc eax
      0xf4,                         // hlt
  };
  for (size_t i = 0; i < sizeof program; i++)
    m.poke<uint8_t>(kCodeAddress + i, program[i]);
  m.gpr(RAX) = 0x7e;
  m.gpr(RDI) = 0x10000;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.gpr(RCX) == 0);
  CHECK(m.gpr(RDI) == 0x10000 + 10000);
  CHECK(m.gpr(RAX) == 0x7f);
  CHECK(m.peek<uint8_t>(0x10000 + 9999) == 0x7e);
  CHECK(m.state().rip == kCodeAddress + sizeof program);
}
