// SSE4.2 string compares PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM
// Vol. 2, 4.1 "Imm8 control byte operation for PCMPESTRI / PCMPESTRM /
// PCMPISTRI / PCMPISTRM"). The memory operand needs no alignment.

#include <cstdlib>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

enum class Length { Explicit, Implicit };
enum class Output { Index, Mask };
enum Aggregation { EqualAny, Ranges, EqualEach, EqualOrdered };

struct Strings {
  int64_t a[16], b[16]; // elements as signed or unsigned values
  unsigned count = 16;  // elements per register: 16 bytes or 8 words
  unsigned la = 0, lb = 0;
};

void unpack(const Vec &v, unsigned imm, int64_t *out) {
  const bool words = imm & 1, is_signed = imm & 2;
  for (unsigned i = 0; i < (words ? 8u : 16u); i++) {
    if (words)
      out[i] = is_signed ? int64_t{v.get<int16_t>(i)} : v.get<uint16_t>(i);
    else
      out[i] = is_signed ? int64_t{v.get<int8_t>(i)} : v.get<uint8_t>(i);
  }
}

unsigned implicit_length(const int64_t *elements, unsigned count) {
  for (unsigned i = 0; i < count; i++)
    if (elements[i] == 0)
      return i;
  return count;
}

unsigned explicit_length(int64_t value, unsigned count) {
  const uint64_t magnitude =
      value < 0 ? uint64_t(0) - static_cast<uint64_t>(value) : value;
  return magnitude > count ? count : static_cast<unsigned>(magnitude);
}

// IntRes1 of the aggregation `imm[3:2]` with the SDM's overrides for
// elements past the end of either string.
uint32_t aggregate(const Strings &s, unsigned imm) {
  const unsigned n = s.count;
  auto valid_a = [&](unsigned i) { return i < s.la; };
  auto valid_b = [&](unsigned j) { return j < s.lb; };
  uint32_t result = 0;
  switch ((imm >> 2) & 3) {
  case EqualAny:
    for (unsigned j = 0; j < n; j++)
      for (unsigned i = 0; i < n && valid_b(j); i++)
        if (valid_a(i) && s.a[i] == s.b[j])
          result |= 1u << j;
    break;
  case Ranges:
    for (unsigned j = 0; j < n && valid_b(j); j++)
      for (unsigned i = 0; i + 1 < n; i += 2)
        if (valid_a(i + 1) && s.b[j] >= s.a[i] && s.b[j] <= s.a[i + 1])
          result |= 1u << j;
    break;
  case EqualEach:
    for (unsigned i = 0; i < n; i++) {
      const bool match = valid_a(i) && valid_b(i)     ? s.a[i] == s.b[i]
                         : !valid_a(i) && !valid_b(i) ? true
                                                      : false;
      if (match)
        result |= 1u << i;
    }
    break;
  case EqualOrdered:
    for (unsigned j = 0; j < n; j++) {
      bool match = true;
      for (unsigned k = 0; k < n - j && match; k++) {
        if (!valid_a(k))
          break;
        match = valid_b(j + k) && s.a[k] == s.b[j + k];
      }
      if (match)
        result |= 1u << j;
    }
    break;
  }
  return result;
}

uint32_t apply_polarity(const Strings &s, uint32_t result, unsigned imm) {
  const uint32_t all = (1u << s.count) - 1;
  switch ((imm >> 4) & 3) {
  case 1:
    return ~result & all;
  case 3:
    return (result ^ ((1u << s.lb) - 1)) & all;
  default:
    return result;
  }
}

template <Length L, Output O>
bool string_compare(Cpu &cpu, const Instruction &insn) {
  const unsigned imm = static_cast<unsigned>(insn.imm);
  Vec first, second;
  if (!read_vec(cpu, insn, 0, 16, false, first) ||
      !read_vec(cpu, insn, 1, 16, false, second))
    return false;
  Strings s;
  s.count = (imm & 1) ? 8 : 16;
  unpack(first, imm, s.a);
  unpack(second, imm, s.b);
  if (L == Length::Implicit) {
    s.la = implicit_length(s.a, s.count);
    s.lb = implicit_length(s.b, s.count);
  } else {
    const unsigned size = rex_w(insn) ? 8 : 4;
    auto sign_extend = [&](unsigned reg) {
      const uint64_t v = cpu.reg(reg, size);
      return size == 8 ? static_cast<int64_t>(v)
                       : int64_t{static_cast<int32_t>(v)};
    };
    s.la = explicit_length(sign_extend(RAX), s.count);
    s.lb = explicit_length(sign_extend(RDX), s.count);
  }
  const uint32_t result = apply_polarity(s, aggregate(s, imm), imm);

  if (O == Output::Index) {
    unsigned index = s.count;
    if (result)
      index = (imm & 0x40) ? 31 - static_cast<unsigned>(__builtin_clz(result))
                           : static_cast<unsigned>(__builtin_ctz(result));
    cpu.set_reg(RCX, 4, index);
  } else {
    Vec mask;
    if (imm & 0x40) {
      for (unsigned i = 0; i < s.count; i++)
        if ((result >> i) & 1) {
          if (s.count == 8)
            mask.set<uint16_t>(i, 0xffff);
          else
            mask.b[i] = 0xff;
        }
    } else {
      mask.set<uint32_t>(0, result);
    }
    set_xmm(cpu, 0, mask);
  }
  set_arith_flags(cpu.state, (result ? uint64_t{CF} : 0) |
                                 (s.lb < s.count ? uint64_t{ZF} : 0) |
                                 (s.la < s.count ? uint64_t{SF} : 0) |
                                 ((result & 1) ? uint64_t{OF} : 0));
  return true;
}

} // namespace

void register_strings(Registry &r) {
  r.add(M3A, 0x60, P66, string_compare<Length::Explicit, Output::Mask>);
  r.add(M3A, 0x61, P66, string_compare<Length::Explicit, Output::Index>);
  r.add(M3A, 0x62, P66, string_compare<Length::Implicit, Output::Mask>);
  r.add(M3A, 0x63, P66, string_compare<Length::Implicit, Output::Index>);
}

} // namespace sable::cpu::simd
