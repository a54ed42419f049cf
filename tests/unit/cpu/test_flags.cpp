// The host CPU is the oracle: every operation runs as the real instruction
// (GCC inline asm, flags read with pushfq) over edge and random operands,
// and the lazy-flags model must produce the same result and flags. Flags
// the SDM leaves undefined are compared too wherever the model follows
// what Intel processors do (see cpu/flags.h), but only on Intel hosts:
// elsewhere (AMD) they are checked against Intel's values instead.

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cpu/flags.h"
#include "host_vendor.h"

using namespace sable::cpu;
using sable::cpu::test::host_is_intel;

namespace {

// The asm pushes below the stack pointer; step over the red zone first.
#define HOST_PROLOGUE "lea -128(%%rsp), %%rsp\n\tpush %[in]\n\tpopfq\n\t"
#define HOST_EPILOGUE "\n\tpushfq\n\tpop %[out]\n\tlea 128(%%rsp), %%rsp"

#define HOST_BINARY(name, mnemonic)                                            \
  template <typename T> uint64_t host_##name(T &dst, T src, uint64_t in) {     \
    uint64_t out;                                                              \
    asm volatile(HOST_PROLOGUE mnemonic " %[src], %[dst]" HOST_EPILOGUE        \
                 : [dst] "+q"(dst), [out] "=&r"(out)                           \
                 : [src] "q"(src), [in] "r"(in)                                \
                 : "cc", "memory");                                            \
    return out;                                                                \
  }
HOST_BINARY(add, "add")
HOST_BINARY(adc, "adc")
HOST_BINARY(sub, "sub")
HOST_BINARY(sbb, "sbb")
HOST_BINARY(and, "and")
HOST_BINARY(or, "or")
HOST_BINARY(xor, "xor")
HOST_BINARY(cmp, "cmp")

#define HOST_UNARY(name, mnemonic)                                             \
  template <typename T> uint64_t host_##name(T &dst, T, uint64_t in) {         \
    uint64_t out;                                                              \
    asm volatile(HOST_PROLOGUE mnemonic " %[dst]" HOST_EPILOGUE                \
                 : [dst] "+q"(dst), [out] "=&r"(out)                           \
                 : [in] "r"(in)                                                \
                 : "cc", "memory");                                            \
    return out;                                                                \
  }
HOST_UNARY(inc, "inc")
HOST_UNARY(dec, "dec")
HOST_UNARY(neg, "neg")

#define HOST_SHIFT(name, mnemonic)                                             \
  template <typename T> uint64_t host_##name(T &dst, T count, uint64_t in) {   \
    uint64_t out;                                                              \
    uint8_t cl = static_cast<uint8_t>(count);                                  \
    asm volatile(HOST_PROLOGUE mnemonic " %[cnt], %[dst]" HOST_EPILOGUE        \
                 : [dst] "+q"(dst), [out] "=&r"(out)                           \
                 : [cnt] "c"(cl), [in] "r"(in)                                 \
                 : "cc", "memory");                                            \
    return out;                                                                \
  }
HOST_SHIFT(shl, "shl")
HOST_SHIFT(shr, "shr")
HOST_SHIFT(sar, "sar")
HOST_SHIFT(rol, "rol")
HOST_SHIFT(ror, "ror")
HOST_SHIFT(rcl, "rcl")
HOST_SHIFT(rcr, "rcr")

#define HOST_DOUBLE_SHIFT(name, mnemonic)                                      \
  template <typename T>                                                        \
  uint64_t host_##name(T &dst, T fill, uint8_t count, uint64_t in) {           \
    uint64_t out;                                                              \
    asm volatile(HOST_PROLOGUE mnemonic                                        \
                 " %[cnt], %[fill], %[dst]" HOST_EPILOGUE                      \
                 : [dst] "+r"(dst), [out] "=&r"(out)                           \
                 : [fill] "r"(fill), [cnt] "c"(count), [in] "r"(in)            \
                 : "cc", "memory");                                            \
    return out;                                                                \
  }
HOST_DOUBLE_SHIFT(shld, "shld")
HOST_DOUBLE_SHIFT(shrd, "shrd")

#define HOST_SCAN(name, mnemonic)                                              \
  template <typename T> uint64_t host_##name(T &dst, T src, uint64_t in) {     \
    uint64_t out;                                                              \
    asm volatile(HOST_PROLOGUE mnemonic " %[src], %[dst]" HOST_EPILOGUE        \
                 : [dst] "+r"(dst), [out] "=&r"(out)                           \
                 : [src] "r"(src), [in] "r"(in)                                \
                 : "cc", "memory");                                            \
    return out;                                                                \
  }
HOST_SCAN(bsf, "bsf")
HOST_SCAN(bsr, "bsr")
HOST_SCAN(imul2, "imul")

// One-operand MUL/IMUL: rDX:rAX = rAX * src (AX = AL * src for bytes).
#define HOST_WIDE_MUL(name, mnemonic)                                          \
  template <typename T>                                                        \
  uint64_t host_##name(T a, T b, uint64_t &low, uint64_t &high, uint64_t in) { \
    uint64_t out;                                                              \
    if constexpr (sizeof(T) == 1) {                                            \
      uint16_t ax = a;                                                         \
      asm volatile(HOST_PROLOGUE mnemonic " %[src]" HOST_EPILOGUE              \
                   : "+a"(ax), [out] "=&r"(out)                                \
                   : [src] "q"(b), [in] "r"(in)                                \
                   : "cc", "memory");                                          \
      low = ax & 0xff;                                                         \
      high = ax >> 8;                                                          \
    } else {                                                                   \
      T lo = a, hi = 0;                                                        \
      asm volatile(HOST_PROLOGUE mnemonic " %[src]" HOST_EPILOGUE              \
                   : "+a"(lo), "=d"(hi), [out] "=&r"(out)                      \
                   : [src] "r"(b), [in] "r"(in)                                \
                   : "cc", "memory");                                          \
      low = lo;                                                                \
      high = hi;                                                               \
    }                                                                          \
    return out;                                                                \
  }
HOST_WIDE_MUL(mul, "mul")
HOST_WIDE_MUL(imul1, "imul")

template <typename T> std::vector<T> operands(std::mt19937_64 &rng) {
  const T max = static_cast<T>(~T{0});
  const T sign = static_cast<T>(T{1} << (sizeof(T) * 8 - 1));
  std::vector<T> values = {0,
                           1,
                           2,
                           0x0f,
                           0x10,
                           0x7f,
                           0x80,
                           max,
                           static_cast<T>(max - 1),
                           sign,
                           static_cast<T>(sign - 1),
                           static_cast<T>(sign + 1)};
  for (int i = 0; i < 40; i++)
    values.push_back(static_cast<T>(rng()));
  return values;
}

// rflags values to start from: all arithmetic flags clear, CF alone, all
// of them set.
const uint64_t kInitialFlags[] = {0x2, 0x3, 0x2 | kArithFlags};

CpuState state_with_flags(uint64_t rflags) {
  CpuState state;
  state.rflags = rflags;
  state.lazy.op = LAZY_NONE;
  return state;
}

struct Mismatches {
  unsigned count = 0;
  std::string first;
  void note(const char *op, unsigned size, uint64_t a, uint64_t b,
            uint64_t flags_in, uint64_t want_result, uint64_t got_result,
            uint64_t want_flags, uint64_t got_flags) {
    if (count++ == 0) {
      char text[256];
      std::snprintf(text, sizeof text,
                    "%s size %u a=%#" PRIx64 " b=%#" PRIx64
                    " flags_in=%#" PRIx64 ": result %#" PRIx64 " want %#" PRIx64
                    ", flags %#" PRIx64 " want %#" PRIx64,
                    op, size, a, b, flags_in, got_result, want_result,
                    got_flags, want_flags);
      first = text;
    }
  }
};

// Flags the SDM leaves undefined for one operation, and the values Intel
// processors give them (which the model reproduces).
struct Undefined {
  uint64_t mask = 0;
  uint64_t intel = 0;
};

// The flags the model must produce: the host's, except on non-Intel hosts
// where the undefined ones take Intel's values.
uint64_t expected_flags(uint64_t host_flags, Undefined undefined) {
  host_flags &= kArithFlags;
  if (host_is_intel())
    return host_flags;
  return (host_flags & ~undefined.mask) | undefined.intel;
}

bool msb(unsigned size, uint64_t value) {
  return value & sign_bit(size);
}
bool msb_1(unsigned size, uint64_t value) {
  return value & (sign_bit(size) >> 1);
}

// The undefined flags of an operation on (a, b) starting from flags_in.
using UndefinedRule = Undefined (*)(unsigned size, uint64_t a, uint64_t b,
                                    uint64_t flags_in);

Undefined logic_undefined(unsigned, uint64_t, uint64_t, uint64_t) {
  return {AF, 0};
}

unsigned masked(unsigned size, uint64_t count) {
  return static_cast<unsigned>(count & (size == 8 ? 63 : 31));
}

// OF as Intel sets it for a shift or rotate of `a` by more than 1: as the
// first 1-bit step would (see cpu/flags.h).
using FirstStepOverflow = bool (*)(unsigned size, uint64_t a,
                                   uint64_t flags_in);
bool left_overflow(unsigned size, uint64_t a, uint64_t) {
  return msb(size, a) != msb_1(size, a);
}
bool shr_overflow(unsigned size, uint64_t a, uint64_t) {
  return msb(size, a);
}
bool sar_overflow(unsigned, uint64_t, uint64_t) {
  return false;
}
bool ror_overflow(unsigned size, uint64_t a, uint64_t) {
  return (a & 1) != msb(size, a);
}
bool rcr_overflow(unsigned size, uint64_t a, uint64_t flags_in) {
  return ((flags_in & CF) != 0) != msb(size, a);
}

enum class Shift { Left, Right, Arithmetic };

// SHL SHR SAR: AF for any count, OF for counts above 1, CF of SHL and SHR
// for counts of at least the operand width. Intel clears AF, and CF once
// every bit has gone (it is still the last bit out at exactly the width).
template <FirstStepOverflow Overflow, Shift Kind>
Undefined shift_undefined(unsigned size, uint64_t a, uint64_t count,
                          uint64_t flags_in) {
  const unsigned n = masked(size, count);
  if (n == 0)
    return {};
  Undefined u{AF, 0};
  if (n > 1) {
    u.mask |= OF;
    u.intel |= flag_if(Overflow(size, a, flags_in), OF);
  }
  const unsigned bits = size_bits(size);
  if (Kind != Shift::Arithmetic && n >= bits) {
    u.mask |= CF;
    if (n == bits)
      u.intel |= flag_if(Kind == Shift::Left ? (a & 1) : msb(size, a), CF);
  }
  return u;
}

// Rotates change only CF and OF; OF is undefined unless the masked count
// is 1. RCL/RCR of bytes and words rotate by the count modulo 9 or 17, and
// when that is 0 Intel changes no flag.
template <FirstStepOverflow Overflow, bool ThroughCarry>
Undefined rotate_undefined(unsigned size, uint64_t a, uint64_t count,
                           uint64_t flags_in) {
  const unsigned n = masked(size, count);
  if (n <= 1)
    return {};
  if (ThroughCarry && size < 4 && n % (size_bits(size) + 1) == 0)
    return {OF, flags_in & OF};
  return {OF, flag_if(Overflow(size, a, flags_in), OF)};
}

using ModelBinary = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t);

// Runs `host` and `model` over all operand pairs; `counts` replaces the
// second operand list (for shifts).
template <typename T, typename Host>
void compare_binary(const char *name, Host host, ModelBinary model,
                    UndefinedRule undefined, bool keeps_result,
                    const std::vector<T> *counts, Mismatches &out) {
  std::mt19937_64 rng(sizeof(T) * 7919);
  const std::vector<T> values = operands<T>(rng);
  const std::vector<T> &seconds = counts ? *counts : values;
  for (uint64_t flags_in : kInitialFlags) {
    for (T a : values) {
      for (T b : seconds) {
        T host_result = a;
        const uint64_t host_flags = host(host_result, b, flags_in);
        const uint64_t want_flags = expected_flags(
            host_flags,
            undefined ? undefined(sizeof(T), a, b, flags_in) : Undefined{});
        CpuState state = state_with_flags(flags_in);
        uint64_t result = model(state, sizeof(T), a, b);
        if (keeps_result)
          result = a;
        const uint64_t flags = arith_flags(state);
        if (static_cast<T>(result) != host_result || flags != want_flags)
          out.note(name, sizeof(T), a, b, flags_in, host_result,
                   static_cast<T>(result), want_flags, flags);
      }
    }
  }
}

// Adapts the helpers that take CF before the instruction explicitly.
template <uint64_t (*Compute)(CpuState &, unsigned, uint64_t, uint64_t, bool)>
uint64_t with_carry(CpuState &s, unsigned size, uint64_t a, uint64_t b) {
  return Compute(s, size, a, b, carry_flag(s));
}

template <typename T> std::vector<T> shift_counts() {
  std::vector<T> counts;
  for (unsigned c = 0; c < 70; c++)
    counts.push_back(static_cast<T>(c));
  counts.push_back(static_cast<T>(0xff));
  counts.push_back(static_cast<T>(0xe1));
  return counts;
}

template <typename T> void arithmetic_for_size(Mismatches &m) {
  compare_binary<T>("add", host_add<T>, alu_add, nullptr, false, nullptr, m);
  compare_binary<T>("adc", host_adc<T>, with_carry<alu_adc>, nullptr, false,
                    nullptr, m);
  compare_binary<T>("sub", host_sub<T>, alu_sub, nullptr, false, nullptr, m);
  compare_binary<T>("sbb", host_sbb<T>, with_carry<alu_sbb>, nullptr, false,
                    nullptr, m);
  compare_binary<T>("cmp", host_cmp<T>, alu_sub, nullptr, true, nullptr, m);
  compare_binary<T>("and", host_and<T>, alu_and, logic_undefined, false,
                    nullptr, m);
  compare_binary<T>("or", host_or<T>, alu_or, logic_undefined, false, nullptr,
                    m);
  compare_binary<T>("xor", host_xor<T>, alu_xor, logic_undefined, false,
                    nullptr, m);
  compare_binary<T>(
      "inc", host_inc<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_inc(s, size, a, carry_flag(s));
      },
      nullptr, false, nullptr, m);
  compare_binary<T>(
      "dec", host_dec<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_dec(s, size, a, carry_flag(s));
      },
      nullptr, false, nullptr, m);
  compare_binary<T>(
      "neg", host_neg<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_neg(s, size, a);
      },
      nullptr, false, nullptr, m);
}

template <typename T> void shifts_for_size(Mismatches &m) {
  const std::vector<T> counts = shift_counts<T>();
  compare_binary<T>("shl", host_shl<T>, alu_shl,
                    shift_undefined<left_overflow, Shift::Left>, false, &counts,
                    m);
  compare_binary<T>("shr", host_shr<T>, alu_shr,
                    shift_undefined<shr_overflow, Shift::Right>, false, &counts,
                    m);
  compare_binary<T>("sar", host_sar<T>, alu_sar,
                    shift_undefined<sar_overflow, Shift::Arithmetic>, false,
                    &counts, m);
  compare_binary<T>("rol", host_rol<T>, alu_rol,
                    rotate_undefined<left_overflow, false>, false, &counts, m);
  compare_binary<T>("ror", host_ror<T>, alu_ror,
                    rotate_undefined<ror_overflow, false>, false, &counts, m);
  compare_binary<T>("rcl", host_rcl<T>, with_carry<alu_rcl>,
                    rotate_undefined<left_overflow, true>, false, &counts, m);
  compare_binary<T>("rcr", host_rcr<T>, with_carry<alu_rcr>,
                    rotate_undefined<rcr_overflow, true>, false, &counts, m);
}

// SHLD/SHRD: AF for any count, OF for counts above 1. For 16-bit
// operands a count above 16 leaves the result and every flag undefined;
// Intel shifts on through dst:fill:dst (cpu/flags.h), which gives the
// result and CF SF ZF PF of the same shift with the operands swapped and
// the count 16 lower: a defined case, which non-Intel hosts run instead.
template <typename T, bool Left>
void compare_double_shift(T a, T b, unsigned count, uint64_t flags_in,
                          Mismatches &m) {
  constexpr unsigned size = sizeof(T);
  const unsigned n = masked(size, count);
  T want = a;
  const bool beyond = size == 2 && n > 16 && !host_is_intel();
  if (beyond)
    want = b;
  const T host_fill = beyond ? a : b;
  const uint8_t host_count = static_cast<uint8_t>(beyond ? n - 16 : count);
  const uint64_t host_flags =
      Left ? host_shld<T>(want, host_fill, host_count, flags_in)
           : host_shrd<T>(want, host_fill, host_count, flags_in);
  Undefined undefined;
  if (n > 0)
    undefined.mask = AF;
  if (n > 1) {
    undefined.mask |= OF;
    undefined.intel |= flag_if(Left ? left_overflow(size, a, flags_in)
                                    : ((b & 1) != 0) != msb(size, a),
                               OF);
  }
  CpuState state = state_with_flags(flags_in);
  const uint64_t got = Left ? alu_shld(state, size, a, b, count)
                            : alu_shrd(state, size, a, b, count);
  const uint64_t want_flags = expected_flags(host_flags, undefined);
  if (static_cast<T>(got) != want || arith_flags(state) != want_flags)
    m.note(Left ? "shld" : "shrd", size, a, (uint64_t{b} << 8) | count,
           flags_in, want, got, want_flags, arith_flags(state));
}

template <typename T> void double_shifts_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 104729);
  const std::vector<T> values = operands<T>(rng);
  for (uint64_t flags_in : kInitialFlags)
    for (T a : values)
      for (T b : {T{0}, static_cast<T>(~T{0}), values[20], values[30]})
        for (unsigned count = 0; count < 64; count++) {
          compare_double_shift<T, true>(a, b, count, flags_in, m);
          compare_double_shift<T, false>(a, b, count, flags_in, m);
        }
}

// MUL/IMUL define only CF and OF. Intel sets SF and PF from the low half
// of the result and clears ZF and AF.
Undefined multiply_undefined(unsigned size, uint64_t low) {
  return {SF | ZF | AF | PF, result_flags(low, size) & (SF | PF)};
}

template <typename T> void multiply_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 31337);
  const std::vector<T> values = operands<T>(rng);
  for (uint64_t flags_in : kInitialFlags) {
    for (T a : values) {
      for (T b : values) {
        uint64_t want_low, want_high, got_high;
        uint64_t want_flags = host_mul<T>(a, b, want_low, want_high, flags_in);
        want_flags =
            expected_flags(want_flags, multiply_undefined(sizeof(T), want_low));
        CpuState state = state_with_flags(flags_in);
        uint64_t got_low = alu_mul(state, sizeof(T), a, b, got_high);
        if (got_low != want_low || got_high != want_high ||
            arith_flags(state) != want_flags)
          m.note("mul", sizeof(T), a, b, flags_in, want_low, got_low,
                 want_flags, arith_flags(state));

        want_flags = host_imul1<T>(a, b, want_low, want_high, flags_in);
        want_flags =
            expected_flags(want_flags, multiply_undefined(sizeof(T), want_low));
        state = state_with_flags(flags_in);
        got_low = alu_imul(state, sizeof(T), a, b, got_high);
        if (got_low != want_low || got_high != want_high ||
            arith_flags(state) != want_flags)
          m.note("imul", sizeof(T), a, b, flags_in, want_low, got_low,
                 want_flags, arith_flags(state));

        if constexpr (sizeof(T) > 1) {
          T product = a;
          want_flags = host_imul2<T>(product, b, flags_in);
          want_flags = expected_flags(want_flags,
                                      multiply_undefined(sizeof(T), product));
          state = state_with_flags(flags_in);
          got_low = alu_imul(state, sizeof(T), a, b, got_high);
          if (got_low != product || arith_flags(state) != want_flags)
            m.note("imul2", sizeof(T), a, b, flags_in, product, got_low,
                   want_flags, arith_flags(state));
        }
      }
    }
  }
}

// BSF/BSR define only ZF. Intel sets PF from the index written (from 0
// for a zero source, which writes nothing) and clears CF OF SF AF.
Undefined bit_scan_undefined(uint64_t source, uint64_t index) {
  return {CF | OF | SF | AF | PF, result_flags(source ? index : 0, 1) & PF};
}

template <typename T> void bit_scan_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 65537);
  std::vector<T> values = operands<T>(rng);
  for (unsigned bit = 0; bit < sizeof(T) * 8; bit++)
    values.push_back(static_cast<T>(T{1} << bit));
  const T previous = static_cast<T>(0x5a5a5a5a5a5a5a5aull);
  for (uint64_t flags_in : kInitialFlags) {
    for (T source : values) {
      T want = previous;
      uint64_t want_flags = host_bsf<T>(want, source, flags_in);
      want_flags = expected_flags(want_flags, bit_scan_undefined(source, want));
      CpuState state = state_with_flags(flags_in);
      uint64_t got = previous;
      alu_bsf(state, sizeof(T), source, got);
      if (static_cast<T>(got) != want || arith_flags(state) != want_flags)
        m.note("bsf", sizeof(T), source, 0, flags_in, want, got, want_flags,
               arith_flags(state));

      want = previous;
      want_flags = host_bsr<T>(want, source, flags_in);
      want_flags = expected_flags(want_flags, bit_scan_undefined(source, want));
      state = state_with_flags(flags_in);
      got = previous;
      alu_bsr(state, sizeof(T), source, got);
      if (static_cast<T>(got) != want || arith_flags(state) != want_flags)
        m.note("bsr", sizeof(T), source, 0, flags_in, want, got, want_flags,
               arith_flags(state));
    }
  }
}

} // namespace

TEST_CASE("lazy flags of ADD ADC SUB SBB CMP AND OR XOR INC DEC NEG match "
          "the host") {
  Mismatches m;
  arithmetic_for_size<uint8_t>(m);
  arithmetic_for_size<uint16_t>(m);
  arithmetic_for_size<uint32_t>(m);
  arithmetic_for_size<uint64_t>(m);
  INFO(m.first);
  CHECK(m.count == 0);
}

TEST_CASE("shifts and rotates match the host for counts 0, 1, n and masked") {
  Mismatches m;
  shifts_for_size<uint8_t>(m);
  shifts_for_size<uint16_t>(m);
  shifts_for_size<uint32_t>(m);
  shifts_for_size<uint64_t>(m);
  INFO(m.first);
  CHECK(m.count == 0);
}

TEST_CASE("SHLD and SHRD match the host") {
  Mismatches m;
  double_shifts_for_size<uint16_t>(m);
  double_shifts_for_size<uint32_t>(m);
  double_shifts_for_size<uint64_t>(m);
  INFO(m.first);
  CHECK(m.count == 0);
}

TEST_CASE("MUL and IMUL results and flags match the host") {
  Mismatches m;
  multiply_for_size<uint8_t>(m);
  multiply_for_size<uint16_t>(m);
  multiply_for_size<uint32_t>(m);
  multiply_for_size<uint64_t>(m);
  INFO(m.first);
  CHECK(m.count == 0);
}

TEST_CASE("BSF and BSR match the host, destination kept on a zero source") {
  Mismatches m;
  bit_scan_for_size<uint16_t>(m);
  bit_scan_for_size<uint32_t>(m);
  bit_scan_for_size<uint64_t>(m);
  INFO(m.first);
  CHECK(m.count == 0);
}

TEST_CASE("a shift by zero keeps every flag, INC keeps CF") {
  CpuState state = state_with_flags(0x2);
  alu_sub(state, 4, 1, 2); // CF SF AF PF set
  const uint64_t before = arith_flags(state);
  REQUIRE((before & CF) != 0);
  CHECK(alu_shl(state, 4, 0x1234, 32) == 0x1234);
  CHECK(arith_flags(state) == before);
  CHECK(alu_rcl(state, 1, 0x12, 9, true) == 0x12); // 9 mod 9 = 0
  CHECK(arith_flags(state) == before);
  CHECK(alu_inc(state, 4, 0xffffffff, carry_flag(state)) == 0);
  CHECK(arith_flags(state) == (CF | ZF | PF | AF));
}

TEST_CASE("materialized flags survive and partial updates keep the rest") {
  CpuState state = state_with_flags(0x2 | IF);
  alu_add(state, 1, 0x7f, 1); // OF SF AF
  update_arith_flags(state, CF, CF);
  CHECK(state.lazy.op == LAZY_NONE);
  CHECK((state.rflags & kArithFlags) == (OF | SF | AF | CF));
  CHECK((state.rflags & IF) != 0);
  set_arith_flags(state, ZF);
  CHECK(arith_flags(state) == ZF);
  CHECK(lazy_arith_flags(state.lazy) == 0);
}

TEST_CASE("conditions read from lazy records equal the ones read from the "
          "derived flags") {
  std::mt19937_64 random(7);
  const uint64_t edges[] = {0,          1,          0x7f,       0x80,
                            0xff,       0x7fff,     0x8000,     0xffff,
                            0x7fffffff, 0x80000000, 0xffffffff, ~0ull >> 1,
                            1ull << 63, ~0ull};
  unsigned checked = 0;
  for (unsigned size : {1u, 2u, 4u, 8u}) {
    for (int round = 0; round < 2000; ++round) {
      const uint64_t dst = round < 196 ? edges[round % 14] : random();
      const uint64_t src = round < 196 ? edges[round / 14] : random();
      const uint64_t a = dst & size_mask(size), b = src & size_mask(size);
      CpuState subtract, logic, add, inc, dec, shift, multiply;
      uint64_t high;
      alu_sub(subtract, size, a, b);
      alu_and(logic, size, dst, src);
      alu_add(add, size, a, b);
      alu_inc(inc, size, a, src & 1);
      alu_dec(dec, size, a, dst & 1);
      alu_sar(shift, size, a, b | 1);
      alu_imul(multiply, size, a, b, high);
      for (const CpuState *state :
           {&subtract, &logic, &add, &inc, &dec, &shift, &multiply})
        for (unsigned cond = 0; cond < 16; ++cond) {
          INFO("size " << size << " dst " << dst << " src " << src << " cond "
                       << cond);
          REQUIRE(condition_holds(*state, cond) ==
                  condition_on_flags(lazy_arith_flags(state->lazy), cond));
          ++checked;
        }
    }
  }
  CHECK(checked == 4 * 2000 * 7 * 16);
}
