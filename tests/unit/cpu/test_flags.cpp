// The host CPU is the oracle: every operation runs as the real instruction
// (GCC inline asm, flags read with pushfq) over edge and random operands,
// and the lazy-flags model must produce the same result and flags. Flags
// the SDM leaves undefined are compared too wherever the model follows
// what Intel processors do (see cpu/flags.h); the host is an Intel CPU.

#include <catch2/catch.hpp>

#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cpu/flags.h"

using namespace sable::cpu;

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

using ModelBinary = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t);

// Runs `host` and `model` over all operand pairs; `counts` replaces the
// second operand list (for shifts).
template <typename T, typename Host>
void compare_binary(const char *name, Host host, ModelBinary model,
                    uint64_t undefined, bool keeps_result,
                    const std::vector<T> *counts, Mismatches &out) {
  std::mt19937_64 rng(sizeof(T) * 7919);
  const std::vector<T> values = operands<T>(rng);
  const std::vector<T> &seconds = counts ? *counts : values;
  const uint64_t compared = kArithFlags & ~undefined;
  for (uint64_t flags_in : kInitialFlags) {
    for (T a : values) {
      for (T b : seconds) {
        T host_result = a;
        uint64_t host_flags = host(host_result, b, flags_in);
        CpuState state = state_with_flags(flags_in);
        uint64_t result = model(state, sizeof(T), a, b);
        if (keeps_result)
          result = a;
        uint64_t flags = arith_flags(state);
        if (static_cast<T>(result) != host_result ||
            (flags & compared) != (host_flags & compared))
          out.note(name, sizeof(T), a, b, flags_in, host_result,
                   static_cast<T>(result), host_flags & compared,
                   flags & compared);
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
  compare_binary<T>("add", host_add<T>, alu_add, 0, false, nullptr, m);
  compare_binary<T>("adc", host_adc<T>, with_carry<alu_adc>, 0, false, nullptr,
                    m);
  compare_binary<T>("sub", host_sub<T>, alu_sub, 0, false, nullptr, m);
  compare_binary<T>("sbb", host_sbb<T>, with_carry<alu_sbb>, 0, false, nullptr,
                    m);
  compare_binary<T>("cmp", host_cmp<T>, alu_sub, 0, true, nullptr, m);
  // AF is undefined after logic operations; Intel clears it, as we do.
  compare_binary<T>("and", host_and<T>, alu_and, 0, false, nullptr, m);
  compare_binary<T>("or", host_or<T>, alu_or, 0, false, nullptr, m);
  compare_binary<T>("xor", host_xor<T>, alu_xor, 0, false, nullptr, m);
  compare_binary<T>(
      "inc", host_inc<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_inc(s, size, a, carry_flag(s));
      },
      0, false, nullptr, m);
  compare_binary<T>(
      "dec", host_dec<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_dec(s, size, a, carry_flag(s));
      },
      0, false, nullptr, m);
  compare_binary<T>(
      "neg", host_neg<T>,
      [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
        return alu_neg(s, size, a);
      },
      0, false, nullptr, m);
}

template <typename T> void shifts_for_size(Mismatches &m) {
  const std::vector<T> counts = shift_counts<T>();
  compare_binary<T>("shl", host_shl<T>, alu_shl, 0, false, &counts, m);
  compare_binary<T>("shr", host_shr<T>, alu_shr, 0, false, &counts, m);
  compare_binary<T>("sar", host_sar<T>, alu_sar, 0, false, &counts, m);
  compare_binary<T>("rol", host_rol<T>, alu_rol, 0, false, &counts, m);
  compare_binary<T>("ror", host_ror<T>, alu_ror, 0, false, &counts, m);
  compare_binary<T>("rcl", host_rcl<T>, with_carry<alu_rcl>, 0, false, &counts,
                    m);
  compare_binary<T>("rcr", host_rcr<T>, with_carry<alu_rcr>, 0, false, &counts,
                    m);
}

template <typename T> void double_shifts_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 104729);
  const std::vector<T> values = operands<T>(rng);
  for (uint64_t flags_in : kInitialFlags) {
    for (T a : values) {
      for (T b : {T{0}, static_cast<T>(~T{0}), values[20], values[30]}) {
        for (unsigned count = 0; count < 64; count++) {
          T want = a;
          uint64_t want_flags = host_shld<T>(want, b, count, flags_in);
          CpuState state = state_with_flags(flags_in);
          uint64_t got = alu_shld(state, sizeof(T), a, b, count);
          if (static_cast<T>(got) != want ||
              arith_flags(state) != (want_flags & kArithFlags))
            m.note("shld", sizeof(T), a, (uint64_t{b} << 8) | count, flags_in,
                   want, got, want_flags & kArithFlags, arith_flags(state));
          want = a;
          want_flags = host_shrd<T>(want, b, count, flags_in);
          state = state_with_flags(flags_in);
          got = alu_shrd(state, sizeof(T), a, b, count);
          if (static_cast<T>(got) != want ||
              arith_flags(state) != (want_flags & kArithFlags))
            m.note("shrd", sizeof(T), a, (uint64_t{b} << 8) | count, flags_in,
                   want, got, want_flags & kArithFlags, arith_flags(state));
        }
      }
    }
  }
}

template <typename T> void multiply_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 31337);
  const std::vector<T> values = operands<T>(rng);
  for (uint64_t flags_in : kInitialFlags) {
    for (T a : values) {
      for (T b : values) {
        uint64_t want_low, want_high, got_high;
        uint64_t want_flags =
            host_mul<T>(a, b, want_low, want_high, flags_in) & kArithFlags;
        CpuState state = state_with_flags(flags_in);
        uint64_t got_low = alu_mul(state, sizeof(T), a, b, got_high);
        if (got_low != want_low || got_high != want_high ||
            arith_flags(state) != want_flags)
          m.note("mul", sizeof(T), a, b, flags_in, want_low, got_low,
                 want_flags, arith_flags(state));

        want_flags =
            host_imul1<T>(a, b, want_low, want_high, flags_in) & kArithFlags;
        state = state_with_flags(flags_in);
        got_low = alu_imul(state, sizeof(T), a, b, got_high);
        if (got_low != want_low || got_high != want_high ||
            arith_flags(state) != want_flags)
          m.note("imul", sizeof(T), a, b, flags_in, want_low, got_low,
                 want_flags, arith_flags(state));

        if constexpr (sizeof(T) > 1) {
          T product = a;
          want_flags = host_imul2<T>(product, b, flags_in) & kArithFlags;
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

template <typename T> void bit_scan_for_size(Mismatches &m) {
  std::mt19937_64 rng(sizeof(T) * 65537);
  std::vector<T> values = operands<T>(rng);
  for (unsigned bit = 0; bit < sizeof(T) * 8; bit++)
    values.push_back(static_cast<T>(T{1} << bit));
  const T previous = static_cast<T>(0x5a5a5a5a5a5a5a5aull);
  for (uint64_t flags_in : kInitialFlags) {
    for (T source : values) {
      T want = previous;
      uint64_t want_flags = host_bsf<T>(want, source, flags_in) & kArithFlags;
      CpuState state = state_with_flags(flags_in);
      uint64_t got = previous;
      alu_bsf(state, sizeof(T), source, got);
      if (static_cast<T>(got) != want || arith_flags(state) != want_flags)
        m.note("bsf", sizeof(T), source, 0, flags_in, want, got, want_flags,
               arith_flags(state));

      want = previous;
      want_flags = host_bsr<T>(want, source, flags_in) & kArithFlags;
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
