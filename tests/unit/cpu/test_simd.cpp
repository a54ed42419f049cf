// SIMD handlers through decoded bytes: the architectural checks (#UD, #NM,
// #GP alignment, #XM), memory operand forms, the MMX/x87 aliasing, the
// FXSAVE/XSAVE state images, XSETBV and the CPUID leaves.

#include <catch2/catch.hpp>

#include "cpu/cpuid.h"
#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint32_t kData = 0x5000;
constexpr uint32_t kArea = 0x6000; // 64-byte aligned

struct SseMachine : OpsMachine {
  explicit SseMachine(CodeSize mode = CodeSize::Bits32) : OpsMachine(mode) {
    state().cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  }

  void set_xmm(unsigned reg, uint64_t low, uint64_t high) {
    std::memcpy(state().fpu.xmm[reg], &low, 8);
    std::memcpy(state().fpu.xmm[reg] + 8, &high, 8);
  }
  uint64_t xmm_low(unsigned reg) {
    uint64_t v;
    std::memcpy(&v, state().fpu.xmm[reg], 8);
    return v;
  }
  uint64_t xmm_high(unsigned reg) {
    uint64_t v;
    std::memcpy(&v, state().fpu.xmm[reg] + 8, 8);
    return v;
  }
  uint32_t xmm_dword(unsigned reg, unsigned lane) {
    uint32_t v;
    std::memcpy(&v, state().fpu.xmm[reg] + 4 * lane, 4);
    return v;
  }
  void poke16(uint64_t address, uint64_t low, uint64_t high) {
    poke<uint64_t>(address, low);
    poke<uint64_t>(address + 8, high);
  }
  bool faulted(uint8_t vector, uint32_t error) const {
    return faulted_with(vector) && cpu->pending.error_code == error;
  }
};

} // namespace

// The disp32 of ModRM mod = 00, r/m = 101 ([disp32] in 32-bit mode).
#define DISP32(a)                                                              \
  static_cast<uint8_t>(a), static_cast<uint8_t>((a) >> 8),                     \
      static_cast<uint8_t>((a) >> 16), static_cast<uint8_t>((a) >> 24)

TEST_CASE("MOVAPS/MOVDQA need 16-byte alignment, MOVUPS/MOVDQU do not",
          "[simd]") {
  SseMachine m;
  m.poke16(kData, 0x1111222233334444, 0x5555666677778888);
  m.poke16(kData + 0x18, 0xaaaabbbbccccdddd, 0x1234567890abcdef);
  REQUIRE(m.run({0x0f, 0x28, 0x05, DISP32(kData)})); // movaps xmm0, [kData]
  CHECK(m.xmm_low(0) == 0x1111222233334444);
  CHECK(m.xmm_high(0) == 0x5555666677778888);

  CHECK_FALSE(m.run({0x0f, 0x28, 0x0d, DISP32(kData + 0x18)}));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK_FALSE(m.run({0x66, 0x0f, 0x7f, 0x05, DISP32(kData + 8)})); // movdqa
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.peek<uint64_t>(kData + 8) == 0x5555666677778888);

  REQUIRE(m.run({0x0f, 0x10, 0x0d, DISP32(kData + 0x18)})); // movups xmm1
  CHECK(m.xmm_low(1) == 0xaaaabbbbccccdddd);
  CHECK(m.xmm_high(1) == 0x1234567890abcdef);
  REQUIRE(m.run({0xf3, 0x0f, 0x7f, 0x0d, DISP32(kData + 0x41)})); // movdqu
  CHECK(m.peek<uint64_t>(kData + 0x41) == 0xaaaabbbbccccdddd);
  CHECK(m.peek<uint64_t>(kData + 0x49) == 0x1234567890abcdef);
}

TEST_CASE("Legacy SSE arithmetic needs aligned 16-byte memory operands; "
          "scalar and string forms do not",
          "[simd]") {
  SseMachine m;
  m.poke<float>(kData + 4, 2.5f);
  m.set_xmm(0, 0, 0);
  CHECK_FALSE(m.run({0x0f, 0x58, 0x05, DISP32(kData + 4)})); // addps
  CHECK(m.faulted(EXC_GP, 0));
  CHECK_FALSE(m.run({0x66, 0x0f, 0xef, 0x05, DISP32(kData + 4)})); // pxor
  CHECK(m.faulted(EXC_GP, 0));

  float one = 1.0f;
  uint32_t bits;
  std::memcpy(&bits, &one, 4);
  m.set_xmm(0, 0xdeadbeef00000000 | bits, 0x0123456789abcdef);
  REQUIRE(m.run({0xf3, 0x0f, 0x58, 0x05, DISP32(kData + 4)})); // addss
  float sum;
  uint32_t low = m.xmm_dword(0, 0);
  std::memcpy(&sum, &low, 4);
  CHECK(sum == 3.5f);
  CHECK(m.xmm_dword(0, 1) == 0xdeadbeef);
  CHECK(m.xmm_high(0) == 0x0123456789abcdef);

  // pcmpistri xmm0, [kData + 0x21], 0x0c (equal ordered, unaligned).
  const char haystack[17] = "xxabcxxxxxxxxxxx";
  for (unsigned i = 0; i < 16; i++)
    m.poke<uint8_t>(kData + 0x21 + i, static_cast<uint8_t>(haystack[i]));
  m.set_xmm(0, 0x636261, 0);
  REQUIRE(m.run({0x66, 0x0f, 0x3a, 0x63, 0x05, DISP32(kData + 0x21), 0x0c}));
  CHECK(m.gpr(RCX) == 2);
  CHECK(m.cpu->flag(CF));
}

TEST_CASE("Memory forms read exactly their operand size", "[simd]") {
  SseMachine m;
  // The last bytes of RAM.
  const uint32_t end = (4u << 20) - 8;
  m.poke<uint64_t>(end, 0x8081828384858687);
  REQUIRE(m.run({0x66, 0x0f, 0x38, 0x30, 0x05, DISP32(end)})); // pmovzxbw
  CHECK(m.xmm_low(0) == 0x0084008500860087);
  CHECK(m.xmm_high(0) == 0x0080008100820083);
  REQUIRE(m.run({0x66, 0x0f, 0x38, 0x20, 0x0d, DISP32(end)})); // pmovsxbw
  CHECK(m.xmm_low(1) == 0xff84ff85ff86ff87);
  REQUIRE(m.run({0x66, 0x0f, 0x6e, 0x15, DISP32(end + 4)})); // movd xmm2, m32
  CHECK(m.xmm_low(2) == 0x80818283);
  CHECK(m.xmm_high(2) == 0);
  REQUIRE(m.run({0xf3, 0x0f, 0x7e, 0x1d, DISP32(end)})); // movq xmm3, m64
  CHECK(m.xmm_low(3) == 0x8081828384858687);
  REQUIRE(m.run({0xf2, 0x0f, 0x10, 0x25, DISP32(end)})); // movsd xmm4, m64
  CHECK(m.xmm_low(4) == 0x8081828384858687);
  CHECK(m.xmm_high(4) == 0);
}

TEST_CASE("SSE forms raise #UD without CR4.OSFXSR or with CR0.EM and #NM "
          "with CR0.TS; MMX forms need only CR0",
          "[simd]") {
  SseMachine m;
  const std::initializer_list<uint8_t> pxor_xmm = {0x66, 0x0f, 0xef, 0xc0};
  const std::initializer_list<uint8_t> pxor_mm = {0x0f, 0xef, 0xc0};
  m.state().cr4 &= ~uint64_t{CR4_OSFXSR};
  CHECK_FALSE(m.run(pxor_xmm));
  CHECK(m.faulted_with(EXC_UD));
  CHECK(m.run(pxor_mm));
  CHECK_FALSE(m.run({0x0f, 0xae, 0x15, DISP32(kData)})); // ldmxcsr
  CHECK(m.faulted_with(EXC_UD));

  m.state().cr4 |= CR4_OSFXSR;
  m.state().cr0 |= CR0_TS;
  CHECK_FALSE(m.run(pxor_xmm));
  CHECK(m.faulted_with(EXC_NM));
  CHECK_FALSE(m.run(pxor_mm));
  CHECK(m.faulted_with(EXC_NM));
  CHECK_FALSE(m.run({0x0f, 0x77})); // emms
  CHECK(m.faulted_with(EXC_NM));

  m.state().cr0 |= CR0_EM;
  CHECK_FALSE(m.run(pxor_xmm));
  CHECK(m.faulted_with(EXC_UD));
  CHECK_FALSE(m.run(pxor_mm));
  CHECK(m.faulted_with(EXC_UD));

  m.state().cr0 &= ~uint64_t{CR0_EM | CR0_TS};
  CHECK(m.run(pxor_xmm));
  // CRC32 is an integer instruction: none of these apply.
  m.state().cr0 |= CR0_TS;
  CHECK(m.run({0xf2, 0x0f, 0x38, 0xf0, 0xc1}));
}

TEST_CASE("An MMX instruction with a pending x87 exception raises #MF",
          "[simd]") {
  SseMachine m;
  m.state().cr0 |= CR0_NE;
  m.state().fpu.fsw = 0x0081; // IE with the error summary
  CHECK_FALSE(m.run({0x0f, 0xfc, 0xc1}));
  CHECK(m.faulted_with(EXC_MF));
  m.state().fpu.fsw = 0;
  CHECK(m.run({0x0f, 0xfc, 0xc1}));
}

TEST_CASE("Unmasked SIMD exceptions raise #XM, or #UD without "
          "CR4.OSXMMEXCPT, and leave the destination",
          "[simd]") {
  SseMachine m;
  const uint64_t one = 0x3f800000, zero = 0;
  m.set_xmm(0, one, 0x77);
  m.set_xmm(1, zero, 0);
  const std::initializer_list<uint8_t> divss = {0xf3, 0x0f, 0x5e, 0xc1};

  m.state().fpu.mxcsr = 0x1f80 & ~(1u << 9); // divide-by-zero unmasked
  CHECK_FALSE(m.run(divss));
  CHECK(m.faulted_with(EXC_XM));
  CHECK(m.xmm_low(0) == one);
  CHECK(m.state().fpu.mxcsr == (0x1d80 | 0x4));

  m.state().fpu.mxcsr = 0x1d80;
  m.state().cr4 &= ~uint64_t{CR4_OSXMMEXCPT};
  CHECK_FALSE(m.run(divss));
  CHECK(m.faulted_with(EXC_UD));

  // 0/0 with invalid unmasked: only IE is recorded.
  m.state().cr4 |= CR4_OSXMMEXCPT;
  m.set_xmm(0, zero, 0);
  m.state().fpu.mxcsr = 0x1f00; // invalid unmasked
  CHECK_FALSE(m.run(divss));
  CHECK(m.faulted_with(EXC_XM));
  CHECK(m.state().fpu.mxcsr == (0x1f00 | 0x1));

  // Masked: the default result and the sticky flag.
  m.set_xmm(0, one, 0x77);
  m.state().fpu.mxcsr = 0x1f80;
  REQUIRE(m.run(divss));
  CHECK(m.xmm_low(0) == 0x7f800000);
  CHECK(m.xmm_high(0) == 0x77);
  CHECK(m.state().fpu.mxcsr == 0x1f84);

  // Integer conversion of a NaN with IE unmasked.
  m.set_xmm(1, 0x7ff8000000000000, 0);
  m.gpr(RAX) = 0x1234;
  m.state().fpu.mxcsr = 0x1f00;                 // invalid unmasked
  CHECK_FALSE(m.run({0xf2, 0x0f, 0x2c, 0xc1})); // cvttsd2si eax, xmm1
  CHECK(m.faulted_with(EXC_XM));
  CHECK(m.gpr(RAX) == 0x1234);
}

TEST_CASE("LDMXCSR rejects reserved bits and STMXCSR stores MXCSR", "[simd]") {
  SseMachine m;
  m.poke<uint32_t>(kData, 0xffc0); // FTZ, RC, masks, DAZ
  REQUIRE(m.run({0x0f, 0xae, 0x15, DISP32(kData)}));
  CHECK(m.state().fpu.mxcsr == 0xffc0);
  m.poke<uint32_t>(kData, 0x10000);
  CHECK_FALSE(m.run({0x0f, 0xae, 0x15, DISP32(kData)}));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(m.state().fpu.mxcsr == 0xffc0);
  REQUIRE(m.run({0x0f, 0xae, 0x1d, DISP32(kData + 0x40)}));
  CHECK(m.peek<uint32_t>(kData + 0x40) == 0xffc0);
}

TEST_CASE("MMX instructions alias the x87 registers: TOP 0, tags valid, "
          "exponent all ones; EMMS empties the tags",
          "[simd]") {
  SseMachine m;
  FpuState &fpu = m.state().fpu;
  fpu.fsw = 5 << 11; // TOP = 5: MM0 is ST(3), MM1 is ST(4)
  fpu.ftw = 0;
  const uint64_t a = 0x0102030405060708, b = 0x1010101010101010;
  std::memcpy(fpu.st[3], &a, 8);
  std::memcpy(fpu.st[4], &b, 8);
  REQUIRE(m.run({0x0f, 0xfc, 0xc1})); // paddb mm0, mm1
  CHECK((fpu.fsw >> 11 & 7) == 0);
  CHECK(fpu.ftw == 0xff);
  uint64_t result;
  std::memcpy(&result, fpu.st[0], 8);
  CHECK(result == 0x1112131415161718);
  CHECK(fpu.st[0][8] == 0xff);
  CHECK(fpu.st[0][9] == 0xff);
  std::memcpy(&result, fpu.st[1], 8);
  CHECK(result == b);
  REQUIRE(m.run({0x0f, 0x77}));
  CHECK(fpu.ftw == 0);
}

TEST_CASE("MASKMOVDQU stores the selected bytes at DS:EDI", "[simd]") {
  SseMachine m;
  m.poke16(kData, 0xaaaaaaaaaaaaaaaa, 0xaaaaaaaaaaaaaaaa);
  m.set_xmm(0, 0x0706050403020100, 0x0f0e0d0c0b0a0908);
  m.set_xmm(1, 0x80000000000000ff, 0x0000000000008000);
  m.gpr(RDI) = kData;
  REQUIRE(m.run({0x66, 0x0f, 0xf7, 0xc1}));
  CHECK(m.peek<uint64_t>(kData) == 0x07aaaaaaaaaaaa00);
  CHECK(m.peek<uint64_t>(kData + 8) == 0xaaaaaaaaaaaa09aa);
}

TEST_CASE("MOVNTDQA needs a memory operand and unregistered forms are #UD",
          "[simd]") {
  SseMachine m;
  CHECK_FALSE(m.run({0x66, 0x0f, 0x38, 0x2a, 0xc1}));
  CHECK(m.faulted_with(EXC_UD));
  CHECK_FALSE(m.run({0x0f, 0x38, 0xc8, 0xc1})); // SHA1NEXTE: not offered
  CHECK(m.faulted_with(EXC_UD));
  m.poke16(kData, 1, 2);
  REQUIRE(m.run({0x66, 0x0f, 0x38, 0x2a, 0x05, DISP32(kData)}));
  CHECK(m.xmm_low(0) == 1);
}

namespace {

void fill_fpu_state(FpuState &fpu) {
  fpu.fcw = 0x027f;
  fpu.fsw = 0x3800 | 0x20;
  fpu.ftw = 0x81;
  fpu.fop = 0x1dd;
  fpu.fip = 0x12345678;
  fpu.fdp = 0x9abcdef0;
  fpu.mxcsr = 0x3f80 | 0x21;
  for (unsigned i = 0; i < 8; i++)
    for (unsigned j = 0; j < 10; j++)
      fpu.st[i][j] = static_cast<uint8_t>(0x10 * i + j);
  for (unsigned i = 0; i < 16; i++)
    for (unsigned j = 0; j < 16; j++)
      fpu.xmm[i][j] = static_cast<uint8_t>(0xa0 + i + j);
}

} // namespace

TEST_CASE("FXSAVE/FXRSTOR round-trip the x87, MXCSR and XMM state", "[simd]") {
  SseMachine m;
  FpuState &fpu = m.state().fpu;
  fill_fpu_state(fpu);
  const FpuState saved = fpu;
  m.poke<uint64_t>(kArea + 288, 0x5a5a5a5a5a5a5a5a); // XMM8: not in 32-bit
  REQUIRE(m.run({0x0f, 0xae, 0x05, DISP32(kArea)}));
  CHECK(m.peek<uint16_t>(kArea) == 0x027f);
  CHECK(m.peek<uint16_t>(kArea + 2) == 0x3820);
  CHECK(m.peek<uint8_t>(kArea + 4) == 0x81);
  CHECK(m.peek<uint16_t>(kArea + 6) == 0x1dd);
  CHECK(m.peek<uint32_t>(kArea + 8) == 0x12345678);
  CHECK(m.peek<uint32_t>(kArea + 16) == 0x9abcdef0);
  CHECK(m.peek<uint32_t>(kArea + 24) == 0x3fa1);
  CHECK(m.peek<uint32_t>(kArea + 28) == 0xffff);
  CHECK(m.peek<uint8_t>(kArea + 32 + 16 * 3 + 9) == 0x39);
  CHECK(m.peek<uint8_t>(kArea + 160 + 16 * 7 + 15) == 0xa0 + 7 + 15);
  CHECK(m.peek<uint64_t>(kArea + 288) == 0x5a5a5a5a5a5a5a5a);

  fpu = FpuState{};
  REQUIRE(m.run({0x0f, 0xae, 0x0d, DISP32(kArea)}));
  CHECK(fpu.fcw == saved.fcw);
  CHECK(fpu.fsw == saved.fsw);
  CHECK(fpu.ftw == saved.ftw);
  CHECK(fpu.fop == saved.fop);
  CHECK(fpu.fip == saved.fip);
  CHECK(fpu.mxcsr == saved.mxcsr);
  CHECK(std::memcmp(fpu.st, saved.st, sizeof(fpu.st)) == 0);
  CHECK(std::memcmp(fpu.xmm, saved.xmm, 16 * 8) == 0);
  CHECK(fpu.xmm[8][0] == 0); // XMM8-15 untouched outside 64-bit mode

  CHECK_FALSE(m.run({0x0f, 0xae, 0x05, DISP32(kArea + 8)}));
  CHECK(m.faulted(EXC_GP, 0));
  m.poke<uint32_t>(kArea + 24, 0x20000); // reserved MXCSR bit
  fpu.fcw = 0x037f;
  CHECK_FALSE(m.run({0x0f, 0xae, 0x0d, DISP32(kArea)}));
  CHECK(m.faulted(EXC_GP, 0));
  CHECK(fpu.fcw == 0x037f);
  m.state().cr0 |= CR0_TS;
  CHECK_FALSE(m.run({0x0f, 0xae, 0x05, DISP32(kArea)}));
  CHECK(m.faulted_with(EXC_NM));
}

TEST_CASE("FXSAVE in 64-bit mode saves XMM8-XMM15; FXSAVE64 keeps 64-bit "
          "pointers, FXSAVE 32-bit ones",
          "[simd]") {
  SseMachine m(CodeSize::Bits64);
  fill_fpu_state(m.state().fpu);
  m.state().fpu.fip = 0x123456789a;
  m.gpr(RBX) = kArea;
  REQUIRE(m.run({0x48, 0x0f, 0xae, 0x03})); // fxsave64 [rbx]
  CHECK(m.peek<uint8_t>(kArea + 160 + 16 * 15) == 0xa0 + 15);
  CHECK(m.peek<uint64_t>(kArea + 8) == 0x123456789a);
  m.state().fpu = FpuState{};
  REQUIRE(m.run({0x48, 0x0f, 0xae, 0x0b})); // fxrstor64 [rbx]
  CHECK(m.state().fpu.xmm[15][1] == 0xa0 + 16);
  CHECK(m.state().fpu.fip == 0x123456789a);

  REQUIRE(m.run({0x0f, 0xae, 0x03})); // fxsave [rbx]
  CHECK(m.peek<uint64_t>(kArea + 8) == 0x3456789a);
  m.poke<uint16_t>(kArea + 12, 0x0033); // FCS
  REQUIRE(m.run({0x0f, 0xae, 0x0b}));   // fxrstor [rbx]
  CHECK(m.state().fpu.fip == 0x3456789a);
}

TEST_CASE("XSAVE/XRSTOR follow RFBM and XSTATE_BV and check the header",
          "[simd]") {
  SseMachine m;
  CpuState &s = m.state();
  s.cr4 |= CR4_OSXSAVE;
  s.xcr0 = 3;
  fill_fpu_state(s.fpu);
  const FpuState saved = s.fpu;
  const std::initializer_list<uint8_t> xsave = {0x0f, 0xae, 0x25,
                                                DISP32(kArea)};
  const std::initializer_list<uint8_t> xrstor = {0x0f, 0xae, 0x2d,
                                                 DISP32(kArea)};
  for (unsigned i = 0; i < 576; i += 8)
    m.poke<uint64_t>(kArea + i, 0);
  m.poke<uint64_t>(kArea + 512, 4); // a stale bit outside RFBM survives

  // RFBM = x87 only: the SSE parts stay unwritten.
  s.gpr[RAX] = 1;
  s.gpr[RDX] = 0;
  REQUIRE(m.run(xsave));
  CHECK(m.peek<uint64_t>(kArea + 512) == 5);
  CHECK(m.peek<uint16_t>(kArea) == 0x027f);
  CHECK(m.peek<uint32_t>(kArea + 24) == 0);
  CHECK(m.peek<uint8_t>(kArea + 160) == 0);

  s.gpr[RAX] = 0xffffffff;
  s.gpr[RDX] = 0xffffffff;
  REQUIRE(m.run({0x0f, 0xae, 0x35, DISP32(kArea)})); // xsaveopt
  CHECK(m.peek<uint64_t>(kArea + 512) == 7);
  CHECK(m.peek<uint32_t>(kArea + 24) == 0x3fa1);
  CHECK(m.peek<uint8_t>(kArea + 160) == 0xa0);

  // XSTATE_BV bit 2 is not enabled in XCR0: #GP.
  s.fpu = FpuState{};
  CHECK_FALSE(m.run(xrstor));
  CHECK(m.faulted(EXC_GP, 0));
  m.poke<uint64_t>(kArea + 512, 3);
  REQUIRE(m.run(xrstor));
  CHECK(s.fpu.fcw == saved.fcw);
  CHECK(s.fpu.mxcsr == saved.mxcsr);
  CHECK(std::memcmp(s.fpu.xmm, saved.xmm, 16 * 8) == 0);
  CHECK(std::memcmp(s.fpu.st, saved.st, sizeof(saved.st)) == 0);

  // XSTATE_BV = x87 only: the XMM registers take their initial (zero)
  // state while MXCSR still loads from memory.
  m.poke<uint64_t>(kArea + 512, 1);
  m.poke<uint32_t>(kArea + 24, 0x1f80 | 0x6000);
  REQUIRE(m.run(xrstor));
  CHECK(s.fpu.xmm[3][5] == 0);
  CHECK(s.fpu.mxcsr == 0x7f80);
  CHECK(s.fpu.fcw == saved.fcw);

  // XSTATE_BV = 0 with RFBM = x87: x87 initialised, XMM untouched.
  s.fpu.xmm[2][0] = 0x42;
  m.poke<uint64_t>(kArea + 512, 0);
  s.gpr[RAX] = 1;
  REQUIRE(m.run(xrstor));
  CHECK(s.fpu.fcw == 0x037f);
  CHECK(s.fpu.ftw == 0);
  CHECK(s.fpu.st[3][2] == 0);
  CHECK(s.fpu.xmm[2][0] == 0x42);

  // Header checks: XCOMP_BV and header bytes up to 23 must be zero.
  m.poke<uint64_t>(kArea + 520, uint64_t{1} << 63);
  CHECK_FALSE(m.run(xrstor));
  CHECK(m.faulted(EXC_GP, 0));
  m.poke<uint64_t>(kArea + 520, 0);
  m.poke<uint8_t>(kArea + 532, 1);
  CHECK_FALSE(m.run(xrstor));
  CHECK(m.faulted(EXC_GP, 0));
  m.poke<uint8_t>(kArea + 532, 0);
  m.poke<uint8_t>(kArea + 540, 1); // past byte 23: not checked
  REQUIRE(m.run(xrstor));

  // 64-byte alignment, CR4.OSXSAVE and CR0.TS.
  CHECK_FALSE(m.run({0x0f, 0xae, 0x25, DISP32(kArea + 16)}));
  CHECK(m.faulted(EXC_GP, 0));
  s.cr0 |= CR0_TS;
  CHECK_FALSE(m.run(xsave));
  CHECK(m.faulted_with(EXC_NM));
  s.cr0 &= ~uint64_t{CR0_TS};
  s.cr4 &= ~uint64_t{CR4_OSXSAVE};
  CHECK_FALSE(m.run(xsave));
  CHECK(m.faulted_with(EXC_UD));
}

TEST_CASE("XSETBV accepts the x87 and SSE components only", "[simd]") {
  SseMachine m;
  CpuState &s = m.state();
  s.cr4 |= CR4_OSXSAVE;
  const std::initializer_list<uint8_t> xsetbv = {0x0f, 0x01, 0xd1};
  s.gpr[RCX] = 0;
  s.gpr[RDX] = 0;
  s.gpr[RAX] = 3;
  REQUIRE(m.run(xsetbv));
  CHECK(s.xcr0 == 3);
  for (uint64_t bad : {2, 7, 5, 0}) {
    s.gpr[RAX] = bad;
    CHECK_FALSE(m.run(xsetbv));
    CHECK(m.faulted(EXC_GP, 0));
  }
  s.gpr[RAX] = 3;
  s.gpr[RDX] = 1;
  CHECK_FALSE(m.run(xsetbv));
  s.gpr[RAX] = 0;
  s.gpr[RDX] = 0;
  REQUIRE(m.run({0x0f, 0x01, 0xd0})); // xgetbv
  CHECK(s.gpr[RAX] == 3);
}

TEST_CASE("CPUID advertises the SIMD features and the XSAVE layout", "[simd]") {
  SseMachine m;
  CpuState &s = m.state();
  CpuidResult r = cpuid(s, 0, 0, 0);
  CHECK(r.eax >= 0xd);
  r = cpuid(s, 0, 1, 0);
  for (unsigned bit : {0, 23, 24, 25, 26})
    CHECK((r.edx >> bit & 1) == 1);
  for (unsigned bit : {0, 1, 9, 19, 20, 23, 25, 26})
    CHECK((r.ecx >> bit & 1) == 1);
  CHECK((r.ecx >> 27 & 1) == 0);
  s.cr4 |= CR4_OSXSAVE;
  CHECK((cpuid(s, 0, 1, 0).ecx >> 27 & 1) == 1);

  r = cpuid(s, 0, 0xd, 0);
  CHECK(r.eax == 3);
  CHECK(r.ebx == 576);
  CHECK(r.ecx == 576);
  CHECK(r.edx == 0);
  CHECK(cpuid(s, 0, 0xd, 1).eax == 1); // XSAVEOPT only
  CHECK(cpuid(s, 0, 0xd, 2).eax == 0);
  CHECK((cpuid(s, 0, 0x80000001, 0).ecx & 0x21) == 0x21);
}

TEST_CASE("CR4 accepts OSFXSR, OSXMMEXCPT and OSXSAVE", "[simd]") {
  SseMachine m;
  const uint64_t value =
      m.state().cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
  REQUIRE(m.cpu->write_cr(4, value));
  CHECK(m.state().cr4 == value);
}

TEST_CASE("Store forms write exactly their operand size", "[simd]") {
  SseMachine m;
  m.set_xmm(1, 0x8877665544332211, 0xffeeddccbbaa9988);
  struct Store {
    std::vector<uint8_t> bytes; // ModRM r/m = [disp32] appended below
    unsigned size;
    uint64_t expected; // the low `size` bytes written
  };
  const Store stores[] = {
      {{0xf3, 0x0f, 0x11, 0x0d}, 4, 0x44332211},         // movss
      {{0xf2, 0x0f, 0x11, 0x0d}, 8, 0x8877665544332211}, // movsd
      {{0x0f, 0x13, 0x0d}, 8, 0x8877665544332211},       // movlps
      {{0x0f, 0x17, 0x0d}, 8, 0xffeeddccbbaa9988},       // movhps
      {{0x66, 0x0f, 0xd6, 0x0d}, 8, 0x8877665544332211}, // movq
      {{0x66, 0x0f, 0x7e, 0x0d}, 4, 0x44332211},         // movd
  };
  for (const Store &store : stores) {
    m.poke16(kData, 0x5a5a5a5a5a5a5a5a, 0x5a5a5a5a5a5a5a5a);
    std::vector<uint8_t> bytes = store.bytes;
    for (unsigned i = 0; i < 4; i++)
      bytes.push_back(static_cast<uint8_t>((kData + 4) >> (8 * i)));
    Instruction insn;
    REQUIRE(decode(bytes.data(), static_cast<unsigned>(bytes.size()),
                   CodeSize::Bits32, insn) == DecodeStatus::Ok);
    REQUIRE(m.execute(insn));
    uint64_t written = 0;
    for (unsigned i = 0; i < store.size; i++)
      written |= uint64_t{m.peek<uint8_t>(kData + 4 + i)} << (8 * i);
    CHECK(written == store.expected);
    CHECK(m.peek<uint32_t>(kData) == 0x5a5a5a5a);
    CHECK(m.peek<uint8_t>(kData + 4 + store.size) == 0x5a);
  }

  // pextrb [kData+4], xmm1, 9 and extractps [kData+4], xmm1, 3.
  m.poke16(kData, 0x5a5a5a5a5a5a5a5a, 0x5a5a5a5a5a5a5a5a);
  REQUIRE(m.run({0x66, 0x0f, 0x3a, 0x14, 0x0d, DISP32(kData + 4), 9}));
  CHECK(m.peek<uint32_t>(kData + 4) == 0x5a5a5a99);
  REQUIRE(m.run({0x66, 0x0f, 0x3a, 0x17, 0x0d, DISP32(kData + 8), 3}));
  CHECK(m.peek<uint32_t>(kData + 8) == 0xffeeddcc);
  CHECK(m.peek<uint8_t>(kData + 12) == 0x5a);
}
