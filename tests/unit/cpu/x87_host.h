#pragma once
// The host's x87 as the oracle for the soft-float and the x87 handlers:
// each helper runs one instruction natively under a given control word and
// returns the result bits and the status word the instruction left (C1 and
// the sticky exception flags included). The two-operand helpers clear a
// pending unmasked exception with FNCLEX before anything could deliver it,
// so they may run with exceptions unmasked.

#include <cstdint>
#include <cstring>
#include <random>

#include "cpu/float80.h"

namespace sable::cpu::test {

struct HostResult {
  Float80 value;
  Float80 second; // FXTRACT's significand, FSINCOS's cosine, FPTAN's 1.0
  uint16_t fsw = 0;
};

// The host clobbers the whole x87 stack in these sequences.
#define SABLE_X87_CLOBBERS                                                     \
  "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

// ST(0) = a, ST(1) = b, then `insn`; returns ST(0) (and ST(1) if the
// instruction left two values).
#define SABLE_HOST_STACK_OP(name, insn)                                        \
  inline HostResult name(Float80 a, Float80 b, uint16_t fcw) {                 \
    HostResult r;                                                              \
    const uint16_t default_cw = 0x037f;                                        \
    asm volatile(                                                              \
        "fninit\n\t"                                                           \
        "fldcw %[cw]\n\t"                                                      \
        "fldt %[b]\n\t"                                                        \
        "fldt %[a]\n\t" insn "\n\t"                                            \
        "fnstsw %[sw]\n\t"                                                     \
        "fnclex\n\t"                                                           \
        "fstpt %[r]\n\t"                                                       \
        "fstpt %[r2]\n\t"                                                      \
        "fninit\n\t"                                                           \
        "fldcw %[dcw]"                                                         \
        : [r] "=m"(r.value), [r2] "=m"(r.second), [sw] "=m"(r.fsw)             \
        : [a] "m"(a), [b] "m"(b), [cw] "m"(fcw), [dcw] "m"(default_cw)         \
        : SABLE_X87_CLOBBERS);                                                 \
    return r;                                                                  \
  }

SABLE_HOST_STACK_OP(host_fadd, "fadd %%st(1), %%st")
SABLE_HOST_STACK_OP(host_fsub, "fsub %%st(1), %%st")
SABLE_HOST_STACK_OP(host_fmul, "fmul %%st(1), %%st")
SABLE_HOST_STACK_OP(host_fdiv, "fdiv %%st(1), %%st")
SABLE_HOST_STACK_OP(host_fsqrt, "fsqrt")
SABLE_HOST_STACK_OP(host_frndint, "frndint")
SABLE_HOST_STACK_OP(host_fscale, "fscale")
SABLE_HOST_STACK_OP(host_fprem, "fprem")
SABLE_HOST_STACK_OP(host_fprem1, "fprem1")
SABLE_HOST_STACK_OP(host_fcom, "fcom %%st(1)")
SABLE_HOST_STACK_OP(host_fucom, "fucom %%st(1)")
SABLE_HOST_STACK_OP(host_fsin, "fsin")
SABLE_HOST_STACK_OP(host_fcos, "fcos")
SABLE_HOST_STACK_OP(host_fpatan, "fpatan\n\tfld %%st(0)")
SABLE_HOST_STACK_OP(host_f2xm1, "f2xm1")
SABLE_HOST_STACK_OP(host_fyl2x, "fyl2x\n\tfld %%st(0)")
SABLE_HOST_STACK_OP(host_fyl2xp1, "fyl2xp1\n\tfld %%st(0)")

// Two results: ST(0) and ST(1) after the instruction (b is popped first).
#define SABLE_HOST_PUSHING_OP(name, insn)                                      \
  inline HostResult name(Float80 a, uint16_t fcw) {                            \
    HostResult r;                                                              \
    const uint16_t default_cw = 0x037f;                                        \
    asm volatile("fninit\n\t"                                                  \
                 "fldcw %[cw]\n\t"                                             \
                 "fldt %[a]\n\t" insn "\n\t"                                   \
                 "fnstsw %[sw]\n\t"                                            \
                 "fstpt %[r2]\n\t"                                             \
                 "fstpt %[r]\n\t"                                              \
                 "fninit\n\t"                                                  \
                 "fldcw %[dcw]"                                                \
                 : [r] "=m"(r.value), [r2] "=m"(r.second), [sw] "=m"(r.fsw)    \
                 : [a] "m"(a), [cw] "m"(fcw), [dcw] "m"(default_cw)            \
                 : SABLE_X87_CLOBBERS);                                        \
    return r;                                                                  \
  }

// value = exponent / sine / tangent, second = significand / cosine / 1.0
SABLE_HOST_PUSHING_OP(host_fxtract, "fxtract")
SABLE_HOST_PUSHING_OP(host_fsincos, "fsincos")
SABLE_HOST_PUSHING_OP(host_fptan, "fptan")

// A store of ST(0) = a to memory of type T by `insn` (%[m] is the operand).
#define SABLE_HOST_STORE_OP(name, T, insn)                                     \
  inline T name(Float80 a, uint16_t fcw, uint16_t &fsw) {                      \
    T out{};                                                                   \
    const uint16_t default_cw = 0x037f;                                        \
    asm volatile("fninit\n\t"                                                  \
                 "fldcw %[cw]\n\t"                                             \
                 "fldt %[a]\n\t" insn "\n\t"                                   \
                 "fnstsw %[sw]\n\t"                                            \
                 "fninit\n\t"                                                  \
                 "fldcw %[dcw]"                                                \
                 : [m] "=m"(out), [sw] "=m"(fsw)                               \
                 : [a] "m"(a), [cw] "m"(fcw), [dcw] "m"(default_cw)            \
                 : SABLE_X87_CLOBBERS);                                        \
    return out;                                                                \
  }

SABLE_HOST_STORE_OP(host_fist16, int16_t, "fistps %[m]")
SABLE_HOST_STORE_OP(host_fist32, int32_t, "fistpl %[m]")
SABLE_HOST_STORE_OP(host_fist64, int64_t, "fistpll %[m]")
SABLE_HOST_STORE_OP(host_fisttp16, int16_t, "fisttps %[m]")
SABLE_HOST_STORE_OP(host_fisttp32, int32_t, "fisttpl %[m]")
SABLE_HOST_STORE_OP(host_fisttp64, int64_t, "fisttpll %[m]")
SABLE_HOST_STORE_OP(host_fst32, uint32_t, "fstps %[m]")
SABLE_HOST_STORE_OP(host_fst64, uint64_t, "fstpl %[m]")

struct Bcd {
  uint8_t bytes[10];
};
SABLE_HOST_STORE_OP(host_fbstp, Bcd, "fbstp %[m]")

// A load of memory of type T by `insn` (%[m]); returns ST(0).
#define SABLE_HOST_LOAD_OP(name, T, insn)                                      \
  inline Float80 name(T in, uint16_t fcw, uint16_t &fsw) {                     \
    Float80 out;                                                               \
    const uint16_t default_cw = 0x037f;                                        \
    asm volatile("fninit\n\t"                                                  \
                 "fldcw %[cw]\n\t" insn "\n\t"                                 \
                 "fnstsw %[sw]\n\t"                                            \
                 "fstpt %[r]\n\t"                                              \
                 "fninit\n\t"                                                  \
                 "fldcw %[dcw]"                                                \
                 : [r] "=m"(out), [sw] "=m"(fsw)                               \
                 : [m] "m"(in), [cw] "m"(fcw), [dcw] "m"(default_cw)           \
                 : SABLE_X87_CLOBBERS);                                        \
    return out;                                                                \
  }

SABLE_HOST_LOAD_OP(host_fld32, uint32_t, "flds %[m]")
SABLE_HOST_LOAD_OP(host_fld64, uint64_t, "fldl %[m]")
SABLE_HOST_LOAD_OP(host_fbld, Bcd, "fbld %[m]")

// Interesting operands: every class, values near the exponent limits and
// near each other (cancellation), integers, and significands with trailing
// zeros so that exact results and ties occur.
class ValueGenerator {
public:
  explicit ValueGenerator(uint32_t seed) : rng_(seed) {}

  uint64_t bits() { return rng_(); }

  uint64_t significand() {
    uint64_t s = rng_() | 0x8000000000000000ull;
    switch (rng_() % 4) {
    case 0:
      s &= ~uint64_t{0} << (rng_() % 64);
      break;
    case 1:
      s &= ~uint64_t{0} << 40; // few bits: exact products, ties
      break;
    default:
      break;
    }
    return s;
  }

  Float80 any() {
    const uint16_t sign = (rng_() & 1) ? 0x8000 : 0;
    switch (rng_() % 20) {
    case 0:
      return {0, sign};
    case 1:
      return {significand() >> (1 + rng_() % 63), sign}; // denormal
    case 2:
      return {0x8000000000000000ull, static_cast<uint16_t>(sign | 0x7fff)};
    case 3: // QNaN
      return {significand() | 0xc000000000000000ull,
              static_cast<uint16_t>(sign | 0x7fff)};
    case 4: { // SNaN
      uint64_t s = (significand() & ~0x4000000000000000ull) | 1;
      return {s, static_cast<uint16_t>(sign | 0x7fff)};
    }
    case 5: // near the smallest normals
      return {significand(), static_cast<uint16_t>(sign | (1 + rng_() % 80))};
    case 6: // near the largest
      return {significand(),
              static_cast<uint16_t>(sign | (0x7ffe - rng_() % 80))};
    case 7: { // small integers
      const int64_t v = static_cast<int64_t>(rng_() % 2001) - 1000;
      return f80_from_int(v);
    }
    case 9: // encodings the 80387 and later reject, and pseudo-denormals
      switch (rng_() % 3) {
      case 0: // unnormal or pseudo-NaN/infinity: integer bit clear
        return {significand() & ~0x8000000000000000ull,
                static_cast<uint16_t>(sign | (1 + rng_() % 0x7fff))};
      case 1: // pseudo-denormal
        return {significand(), sign};
      default:
        return {0, static_cast<uint16_t>(sign | (1 + rng_() % 0x7ffe))};
      }
    case 8: // near 1
      return {significand(),
              static_cast<uint16_t>(sign | (16383 - 3 + rng_() % 7))};
    default:
      return {significand(),
              static_cast<uint16_t>(sign | (16383 - 200 + rng_() % 400))};
    }
  }

  // An operand related to `a`: equal, a neighbour, or a nearby exponent.
  Float80 near(Float80 a) {
    Float80 b = a;
    switch (rng_() % 4) {
    case 0:
      b.significand ^= rng_() % 16;
      break;
    case 1:
      b.sign_exponent ^= 0x8000;
      b.significand ^= 1ull << (rng_() % 8);
      break;
    case 2:
      if (b.exponent() > 2 && b.exponent() < 0x7ffd)
        b.sign_exponent += static_cast<uint16_t>(rng_() % 3) - 1;
      break;
    default:
      b = any();
      break;
    }
    return b;
  }

  Float80 pair_second(Float80 a) { return (rng_() % 3) ? any() : near(a); }

  std::mt19937_64 &rng() { return rng_; }

private:
  std::mt19937_64 rng_;
};

// The control words every oracle test runs under: all four rounding modes
// and all three precisions, all exceptions masked.
inline uint16_t control_word(unsigned rounding, unsigned precision_field) {
  return static_cast<uint16_t>(0x3f | (precision_field << 8) |
                               (rounding << 10));
}

} // namespace sable::cpu::test
