#include "cpu/flags.h"

namespace sable::cpu {

namespace {

// Intel: ZF from the source, PF from the index written (0 for a zero
// source), the rest cleared.
void set_bit_scan_flags(CpuState &s, uint64_t index, bool source_zero) {
  set_arith_flags(s, (result_flags(index, 8) & PF) | flag_if(source_zero, ZF));
}

// The OF a left shift or rotate by one would produce: the sign changes.
bool first_step_left_overflow(unsigned size, uint64_t value) {
  return ((value ^ (value << 1)) & sign_bit(size)) != 0;
}

} // namespace

uint64_t lazy_arith_flags(const LazyFlags &lazy) {
  const unsigned size = lazy.size;
  const uint64_t mask = size_mask(size);
  const uint64_t sign = sign_bit(size);
  const uint64_t dst = lazy.dst & mask;
  const uint64_t src = lazy.src & mask;
  const uint64_t result = lazy.result & mask;
  const uint64_t adjust = (dst ^ src ^ result) & AF;
  const uint64_t common =
      result_flags(result, size) | flag_if(lazy_carry(lazy), CF);

  switch (lazy.op) {
  case LAZY_ADD:
  case LAZY_ADC:
    return common | adjust |
           flag_if((dst ^ result) & (src ^ result) & sign, OF);
  case LAZY_SUB:
  case LAZY_SBB:
    return common | adjust | flag_if((dst ^ src) & (dst ^ result) & sign, OF);
  case LAZY_LOGIC:
  case LAZY_SAR:
    return common;
  case LAZY_INC:
    return common | flag_if((result & 0xf) == 0, AF) |
           flag_if(result == sign, OF);
  case LAZY_DEC:
    return common | flag_if((result & 0xf) == 0xf, AF) |
           flag_if(dst == sign, OF);
  case LAZY_SHL:
    return common | flag_if(first_step_left_overflow(size, dst), OF);
  case LAZY_SHR:
    return common | flag_if(dst & sign, OF);
  case LAZY_MUL:
    return (common & ~ZF) | flag_if(lazy.src & 1, OF);
  default:
    return 0;
  }
}

uint64_t alu_rol(CpuState &s, unsigned size, uint64_t value, uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (n == 0)
    return value;
  const unsigned bits = size_bits(size);
  const uint64_t mask = size_mask(size);
  value &= mask;
  const unsigned r = n % bits;
  const uint64_t result =
      r == 0 ? value : ((value << r) | (value >> (bits - r))) & mask;
  update_arith_flags(s, CF | OF,
                     flag_if(result & 1, CF) |
                         flag_if(first_step_left_overflow(size, value), OF));
  return result;
}

uint64_t alu_ror(CpuState &s, unsigned size, uint64_t value, uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (n == 0)
    return value;
  const unsigned bits = size_bits(size);
  const uint64_t mask = size_mask(size);
  const uint64_t sign = sign_bit(size);
  value &= mask;
  const unsigned r = n % bits;
  const uint64_t result =
      r == 0 ? value : ((value >> r) | (value << (bits - r))) & mask;
  const bool overflow = ((value & 1) != 0) != ((value & sign) != 0);
  update_arith_flags(s, CF | OF,
                     flag_if(result & sign, CF) | flag_if(overflow, OF));
  return result;
}

namespace {

// RCL/RCR rotate the bits+1 wide value CF:operand; 8- and 16-bit counts
// are taken modulo 9 and 17, and a count that reduces to 0 changes no flag.
unsigned rotate_through_carry_count(unsigned size, uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (size == 1)
    return n % 9;
  if (size == 2)
    return n % 17;
  return n;
}

struct CarryRotation {
  uint64_t result;
  bool carry;
};

// Rotates the bits+1 wide value CF:value left by n (0 < n <= bits); a right
// rotation by n is a left one by bits+1-n.
CarryRotation rotate_with_carry_left(unsigned size, uint64_t value, bool carry,
                                     unsigned n) {
  using u128 = unsigned __int128;
  const unsigned bits = size_bits(size);
  const unsigned width = bits + 1;
  const u128 wide_mask = (u128{1} << width) - 1;
  const u128 wide = (u128{carry} << bits) | value;
  const u128 rotated = ((wide << n) | (wide >> (width - n))) & wide_mask;
  return {static_cast<uint64_t>(rotated) & size_mask(size),
          ((rotated >> bits) & 1) != 0};
}

} // namespace

uint64_t alu_rcl(CpuState &s, unsigned size, uint64_t value, uint64_t count,
                 bool carry) {
  const unsigned n = rotate_through_carry_count(size, count);
  if (n == 0)
    return value;
  value &= size_mask(size);
  const CarryRotation rotation = rotate_with_carry_left(size, value, carry, n);
  update_arith_flags(s, CF | OF,
                     flag_if(rotation.carry, CF) |
                         flag_if(first_step_left_overflow(size, value), OF));
  return rotation.result;
}

uint64_t alu_rcr(CpuState &s, unsigned size, uint64_t value, uint64_t count,
                 bool carry) {
  const unsigned n = rotate_through_carry_count(size, count);
  if (n == 0)
    return value;
  value &= size_mask(size);
  const CarryRotation rotation =
      rotate_with_carry_left(size, value, carry, size_bits(size) + 1 - n);
  const bool overflow = carry != ((value & sign_bit(size)) != 0);
  update_arith_flags(s, CF | OF,
                     flag_if(rotation.carry, CF) | flag_if(overflow, OF));
  return rotation.result;
}

namespace {

// The bit string a double shift works on, most significant part first:
// dst:fill for 32/64-bit operands, dst:fill:dst for 16-bit ones (so that
// counts 17..31 keep shifting in meaningful bits).
struct DoubleShiftSource {
  unsigned __int128 bits;
  unsigned width;
};

DoubleShiftSource double_shift_source(unsigned size, uint64_t high,
                                      uint64_t low) {
  const unsigned bits = size_bits(size);
  using u128 = unsigned __int128;
  if (size == 2)
    return {(u128{high} << 32) | (u128{low} << 16) | high, 48};
  return {(u128{high} << bits) | low, 2 * bits};
}

} // namespace

uint64_t alu_shld(CpuState &s, unsigned size, uint64_t dst, uint64_t fill,
                  uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (n == 0)
    return dst;
  const unsigned bits = size_bits(size);
  const uint64_t mask = size_mask(size);
  dst &= mask;
  fill &= mask;
  const DoubleShiftSource source = double_shift_source(size, dst, fill);
  const uint64_t result =
      static_cast<uint64_t>((source.bits << n) >> (source.width - bits)) & mask;
  const bool carry = (source.bits >> (source.width - n)) & 1;
  set_arith_flags(s, result_flags(result, size) | flag_if(carry, CF) |
                         flag_if(first_step_left_overflow(size, dst), OF));
  return result;
}

uint64_t alu_shrd(CpuState &s, unsigned size, uint64_t dst, uint64_t fill,
                  uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (n == 0)
    return dst;
  const uint64_t mask = size_mask(size);
  dst &= mask;
  fill &= mask;
  const DoubleShiftSource source = size == 2
                                       ? double_shift_source(size, dst, fill)
                                       : double_shift_source(size, fill, dst);
  const uint64_t result = static_cast<uint64_t>(source.bits >> n) & mask;
  const bool carry = (source.bits >> (n - 1)) & 1;
  const bool overflow = ((fill & 1) != 0) != ((dst & sign_bit(size)) != 0);
  set_arith_flags(s, result_flags(result, size) | flag_if(carry, CF) |
                         flag_if(overflow, OF));
  return result;
}

bool alu_bsf(CpuState &s, unsigned size, uint64_t source, uint64_t &index) {
  source &= size_mask(size);
  if (source != 0)
    index = static_cast<uint64_t>(__builtin_ctzll(source));
  set_bit_scan_flags(s, source != 0 ? index : 0, source == 0);
  return source != 0;
}

bool alu_bsr(CpuState &s, unsigned size, uint64_t source, uint64_t &index) {
  source &= size_mask(size);
  if (source != 0)
    index = static_cast<uint64_t>(63 - __builtin_clzll(source));
  set_bit_scan_flags(s, source != 0 ? index : 0, source == 0);
  return source != 0;
}

} // namespace sable::cpu
