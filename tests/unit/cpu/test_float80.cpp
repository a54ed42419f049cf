// The soft-float against the host's x87, bit for bit: results and the
// status-word flags (IE DE ZE OE UE PE and C1) on random and edge operands
// under every rounding mode and precision control setting.

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "cpu/float80.h"
#include "tests/unit/cpu/x87_host.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint16_t kC0 = 0x100, kC1 = 0x200, kC2 = 0x400, kC3 = 0x4000;
constexpr uint16_t kFlagsAndC1 = 0x3f | kC1;

std::string hex(Float80 v) {
  char text[40];
  std::snprintf(text, sizeof text, "%04x:%016llx", v.sign_exponent,
                static_cast<unsigned long long>(v.significand));
  return text;
}

uint16_t status_of(const FpContext &ctx) {
  return static_cast<uint16_t>(ctx.flags | (ctx.rounded_up ? kC1 : 0));
}

// Runs `count` operand pairs under each of the 12 control words and counts
// mismatches, printing the first few.
template <typename Soft, typename Host>
unsigned compare_binary(const char *name, Soft soft, Host host, unsigned count,
                        uint32_t seed, uint16_t fsw_mask = kFlagsAndC1) {
  ValueGenerator gen(seed);
  unsigned failures = 0;
  for (unsigned rounding = 0; rounding < 4; rounding++) {
    for (unsigned pc : {0u, 2u, 3u}) {
      const uint16_t fcw = control_word(rounding, pc);
      for (unsigned i = 0; i < count; i++) {
        const Float80 a = gen.any();
        const Float80 b = gen.pair_second(a);
        const HostResult expected = host(a, b, fcw);
        FpContext ctx = FpContext::from_control_word(fcw);
        uint16_t fsw = 0;
        const Float80 got = soft(a, b, ctx, fsw);
        fsw |= status_of(ctx);
        if (got == expected.value &&
            (fsw & fsw_mask) == (expected.fsw & fsw_mask))
          continue;
        if (failures++ < 8)
          UNSCOPED_INFO(name
                        << " fcw=" << std::hex << fcw << " a=" << hex(a)
                        << " b=" << hex(b) << " host=" << hex(expected.value)
                        << "/" << (expected.fsw & fsw_mask)
                        << " soft=" << hex(got) << "/" << (fsw & fsw_mask));
      }
    }
  }
  return failures;
}

template <typename Op> auto arithmetic(Op op) {
  return [op](Float80 a, Float80 b, FpContext &ctx, uint16_t &) {
    return op(a, b, ctx);
  };
}

} // namespace

TEST_CASE("float80: add, sub, mul, div match the host x87", "[float80]") {
  CHECK(compare_binary("fadd", arithmetic(f80_add), host_fadd, 8000, 1) == 0);
  CHECK(compare_binary("fsub", arithmetic(f80_sub), host_fsub, 8000, 2) == 0);
  CHECK(compare_binary("fmul", arithmetic(f80_mul), host_fmul, 8000, 3) == 0);
  CHECK(compare_binary("fdiv", arithmetic(f80_div), host_fdiv, 8000, 4) == 0);
}

TEST_CASE("float80: sqrt, round to integer, scale match the host x87",
          "[float80]") {
  auto sqrt = [](Float80 a, Float80, FpContext &ctx, uint16_t &) {
    return f80_sqrt(f80_abs(a), ctx);
  };
  auto host_sqrt = [](Float80 a, Float80 b, uint16_t fcw) {
    return host_fsqrt(f80_abs(a), b, fcw);
  };
  CHECK(compare_binary("fsqrt", sqrt, host_sqrt, 8000, 5) == 0);
  auto negative_sqrt = [](Float80 a, Float80, FpContext &ctx, uint16_t &) {
    return f80_sqrt(a, ctx);
  };
  CHECK(compare_binary("fsqrt-any", negative_sqrt, host_fsqrt, 300, 6) == 0);
  auto rndint = [](Float80 a, Float80, FpContext &ctx, uint16_t &) {
    return f80_round_to_integer(a, ctx);
  };
  CHECK(compare_binary("frndint", rndint, host_frndint, 8000, 7) == 0);
  ValueGenerator gen(8);
  auto scale = [](Float80 a, Float80 b, FpContext &ctx, uint16_t &) {
    return f80_scale(a, b, ctx);
  };
  CHECK(compare_binary("fscale", scale, host_fscale, 8000, 9) == 0);
}

TEST_CASE("float80: FXTRACT matches the host x87", "[float80]") {
  ValueGenerator gen(10);
  unsigned failures = 0;
  for (unsigned i = 0; i < 5000; i++) {
    const Float80 a = gen.any();
    const HostResult expected = host_fxtract(a, 0x037f);
    FpContext ctx;
    Float80 exponent, significand;
    f80_extract(a, exponent, significand, ctx);
    if (exponent == expected.value && significand == expected.second &&
        (status_of(ctx) & 0x3f) == (expected.fsw & 0x3f))
      continue;
    if (failures++ < 8)
      UNSCOPED_INFO("fxtract a=" << hex(a) << " host=" << hex(expected.value)
                                 << "," << hex(expected.second) << "/"
                                 << (expected.fsw & 0x3f)
                                 << " soft=" << hex(exponent) << ","
                                 << hex(significand) << "/" << (int)ctx.flags);
  }
  CHECK(failures == 0);
}

TEST_CASE("float80: FPREM and FPREM1 match the host x87", "[float80]") {
  for (bool nearest : {false, true}) {
    auto rem = [nearest](Float80 a, Float80 b, FpContext &ctx, uint16_t &fsw) {
      const FpRemainder r = f80_remainder(a, b, nearest, ctx);
      if (!r.complete) {
        fsw |= kC2;
      } else {
        fsw |= (r.quotient & 4 ? kC0 : 0) | (r.quotient & 2 ? kC3 : 0) |
               (r.quotient & 1 ? kC1 : 0);
      }
      ctx.rounded_up = false;
      return r.value;
    };
    const uint16_t mask = 0x3f | kC0 | kC1 | kC2 | kC3;
    CHECK(compare_binary(nearest ? "fprem1" : "fprem", rem,
                         nearest ? host_fprem1 : host_fprem, 2000,
                         nearest ? 11 : 12, mask) == 0);
  }
}

TEST_CASE("float80: ordered and unordered compares match the host x87",
          "[float80]") {
  for (bool quiet : {false, true}) {
    auto compare = [quiet](Float80 a, Float80 b, FpContext &ctx,
                           uint16_t &fsw) {
      switch (f80_compare(a, b, quiet, ctx)) {
      case FpRelation::Less:
        fsw |= kC0;
        break;
      case FpRelation::Equal:
        fsw |= kC3;
        break;
      case FpRelation::Greater:
        break;
      case FpRelation::Unordered:
        fsw |= kC0 | kC2 | kC3;
        break;
      }
      return a;
    };
    CHECK(compare_binary(quiet ? "fucom" : "fcom", compare,
                         quiet ? host_fucom : host_fcom, 1000, 13,
                         0x3f | kC0 | kC2 | kC3) == 0);
  }
}

TEST_CASE("float80: integer stores (FIST, FISTTP) match the host x87",
          "[float80]") {
  ValueGenerator gen(14);
  unsigned failures = 0;
  for (unsigned rounding = 0; rounding < 4; rounding++) {
    const uint16_t fcw = control_word(rounding, 3);
    for (unsigned i = 0; i < 10000; i++) {
      Float80 a = gen.any();
      if (i % 3 == 0) // near the integer limits
        a.sign_exponent = static_cast<uint16_t>((a.sign_exponent & 0x8000) |
                                                (16383 + 13 + gen.bits() % 52));
      for (unsigned bytes : {2u, 4u, 8u}) {
        for (bool truncate : {false, true}) {
          uint16_t host_fsw = 0;
          int64_t expected = 0;
          if (bytes == 2)
            expected = truncate ? host_fisttp16(a, fcw, host_fsw)
                                : host_fist16(a, fcw, host_fsw);
          else if (bytes == 4)
            expected = truncate ? host_fisttp32(a, fcw, host_fsw)
                                : host_fist32(a, fcw, host_fsw);
          else
            expected = truncate ? host_fisttp64(a, fcw, host_fsw)
                                : host_fist64(a, fcw, host_fsw);
          FpContext ctx = FpContext::from_control_word(fcw);
          const int64_t got = f80_to_int(a, bytes, truncate, ctx);
          if (got == expected &&
              (status_of(ctx) & kFlagsAndC1) == (host_fsw & kFlagsAndC1))
            continue;
          if (failures++ < 8)
            UNSCOPED_INFO("fist"
                          << bytes << (truncate ? "t" : "") << " fcw=" << fcw
                          << " a=" << hex(a) << " host=" << expected << "/"
                          << (host_fsw & kFlagsAndC1) << " soft=" << got << "/"
                          << (status_of(ctx) & kFlagsAndC1));
        }
      }
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("float80: binary32/64 loads and stores match the host x87",
          "[float80]") {
  ValueGenerator gen(15);
  unsigned failures = 0;
  for (unsigned rounding = 0; rounding < 4; rounding++) {
    const uint16_t fcw = control_word(rounding, 3);
    for (unsigned i = 0; i < 10000; i++) {
      Float80 a = gen.any();
      if (i % 2 == 0) // the binary64/binary32 exponent ranges
        a.sign_exponent = static_cast<uint16_t>(
            (a.sign_exponent & 0x8000) | (16383 - 1100 + gen.bits() % 2200));
      uint16_t host_fsw = 0;
      const uint32_t e32 = host_fst32(a, fcw, host_fsw);
      FpContext ctx = FpContext::from_control_word(fcw);
      const uint32_t g32 = f80_to_f32(a, ctx);
      if (g32 != e32 ||
          (status_of(ctx) & kFlagsAndC1) != (host_fsw & kFlagsAndC1)) {
        if (failures++ < 8)
          UNSCOPED_INFO("fst32 fcw=" << fcw << " a=" << hex(a) << " host="
                                     << e32 << "/" << (host_fsw & kFlagsAndC1)
                                     << " soft=" << g32 << "/"
                                     << (status_of(ctx) & kFlagsAndC1));
      }
      const uint64_t e64 = host_fst64(a, fcw, host_fsw);
      ctx = FpContext::from_control_word(fcw);
      const uint64_t g64 = f80_to_f64(a, ctx);
      if (g64 != e64 ||
          (status_of(ctx) & kFlagsAndC1) != (host_fsw & kFlagsAndC1)) {
        if (failures++ < 8)
          UNSCOPED_INFO("fst64 fcw=" << fcw << " a=" << hex(a) << " host="
                                     << e64 << "/" << (host_fsw & kFlagsAndC1)
                                     << " soft=" << g64 << "/"
                                     << (status_of(ctx) & kFlagsAndC1));
      }
      const uint64_t raw = gen.bits() >> (gen.bits() % 2 ? 0 : gen.bits() % 64);
      for (int width : {32, 64}) {
        FpContext load = FpContext::from_control_word(fcw);
        Float80 expected, got;
        if (width == 32) {
          expected = host_fld32(static_cast<uint32_t>(raw), fcw, host_fsw);
          got = f80_from_f32(static_cast<uint32_t>(raw), load);
        } else {
          expected = host_fld64(raw, fcw, host_fsw);
          got = f80_from_f64(raw, load);
        }
        if (got == expected &&
            (status_of(load) & kFlagsAndC1) == (host_fsw & kFlagsAndC1))
          continue;
        if (failures++ < 8)
          UNSCOPED_INFO("fld" << width << " raw=" << raw
                              << " host=" << hex(expected) << "/" << host_fsw
                              << " soft=" << hex(got) << "/"
                              << (int)load.flags);
      }
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("float80: packed BCD loads and stores match the host x87",
          "[float80]") {
  ValueGenerator gen(16);
  unsigned failures = 0;
  for (unsigned rounding = 0; rounding < 4; rounding++) {
    const uint16_t fcw = control_word(rounding, 3);
    for (unsigned i = 0; i < 2000; i++) {
      Float80 a = gen.any();
      if (i % 2 == 0)
        a.sign_exponent = static_cast<uint16_t>((a.sign_exponent & 0x8000) |
                                                (16383 - 2 + gen.bits() % 64));
      uint16_t host_fsw = 0;
      const Bcd expected = host_fbstp(a, fcw, host_fsw);
      FpContext ctx = FpContext::from_control_word(fcw);
      Bcd got;
      f80_to_bcd(a, got.bytes, ctx);
      if (std::memcmp(got.bytes, expected.bytes, 10) != 0 ||
          (status_of(ctx) & kFlagsAndC1) != (host_fsw & kFlagsAndC1)) {
        if (failures++ < 8)
          UNSCOPED_INFO("fbstp a="
                        << hex(a) << " host fsw=" << (host_fsw & kFlagsAndC1)
                        << " soft fsw=" << (status_of(ctx) & kFlagsAndC1));
      }
      Bcd digits;
      for (int byte = 0; byte < 9; byte++) {
        const unsigned pair = gen.bits() % 100;
        digits.bytes[byte] =
            static_cast<uint8_t>(((pair / 10) << 4) | pair % 10);
      }
      digits.bytes[9] = (gen.bits() & 1) ? 0x80 : 0;
      if (i % 4 == 0)
        std::memset(digits.bytes, 0, 9);
      const Float80 loaded = host_fbld(digits, fcw, host_fsw);
      if (f80_from_bcd(digits.bytes) != loaded && failures++ < 8)
        UNSCOPED_INFO("fbld host=" << hex(loaded) << " soft="
                                   << hex(f80_from_bcd(digits.bytes)));
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("float80: special values and exact identities", "[float80]") {
  FpContext ctx;
  CHECK(f80_add(kF80One, kF80One, ctx) ==
        Float80{0x8000000000000000ull, 16384});
  CHECK(ctx.flags == 0);
  const Float80 infinity = kF80Infinity;
  CHECK(f80_sub(infinity, infinity, ctx) == kF80Indefinite);
  CHECK(ctx.flags == FP_INVALID);
  ctx = {};
  CHECK(f80_div(kF80One, kF80Zero, ctx) == infinity);
  CHECK(ctx.flags == FP_ZERO_DIVIDE);
  ctx = {};
  CHECK(f80_to_int(infinity, 4, false, ctx) == INT32_MIN);
  CHECK(ctx.flags == FP_INVALID);
  CHECK(f80_from_int(INT64_MIN) ==
        Float80{0x8000000000000000ull, 0x8000 | (16383 + 63)});
  const Float80 unnormal{0x4000000000000000ull, 16383};
  ctx = {};
  CHECK(f80_classify(unnormal) == FpClass::Unsupported);
  CHECK(f80_mul(unnormal, kF80One, ctx) == kF80Indefinite);
  CHECK(ctx.flags == FP_INVALID);
}
